#pragma once
// What the two HTTP clients of cache/ share (the upstream poller and the cohort source): the
// target URL, the TLS context, and the connection they send requests on. Private to cache/'s
// .cpp files.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "common/error.hpp"

namespace mutex_edge::cache::detail {

struct HttpTarget {
  bool tls = false;
  std::string scheme;  // "http" or "https"
  std::string host;
  std::string port;
  std::string base_path;    // without a trailing slash
  std::string host_header;  // host[:port]
};

/// Parses `scheme://host[:port][/base]` (no credentials, query or fragment). Errors start with
/// `flag` (e.g. "--upstream") and end with `keys`, where the credentials come from instead.
[[nodiscard]] common::Result<HttpTarget> parse_target(const std::string& url, std::string_view flag,
                                                      std::string_view keys);

/// A TLS client context that verifies peers against `ca_file`, or the system's CAs.
[[nodiscard]] common::Result<void> make_tls(std::optional<boost::asio::ssl::context>& tls,
                                            const std::string& ca_file);

/// Resolves and connects within `timeout` (the resolver has none of its own: a timer cancels
/// it, and a cancelled resolve reads as a timeout).
boost::asio::awaitable<boost::beast::error_code> connect(boost::asio::any_io_executor executor,
                                                         boost::beast::tcp_stream& stream,
                                                         const HttpTarget& target,
                                                         std::chrono::milliseconds timeout);

/// The most bytes of headers either client reads in an answer.
inline constexpr std::uint32_t kMaxAnswerHeaderBytes = 64 * 1024;

/// One connection to a target, plain or TLS: the part of a request on the wire that both clients
/// share (and the one place Beast's client operations are compiled, for both kinds of stream).
/// Lives in a coroutine of its executor; close() may be called there at any point.
class Connection {
 public:
  /// The step of open() that failed.
  enum class Step { kServerName, kConnect, kHandshake };

  /// `tls` (for an https target) must outlive the connection.
  Connection(boost::asio::any_io_executor executor, const HttpTarget& target,
             boost::asio::ssl::context* tls);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// A new connection (the last one, if any, closed): resolves and connects within `timeout`,
  /// and for https sets the server name, verifies the certificate's host name and handshakes
  /// within `timeout` again. On an error, `failed` says at which step.
  boost::asio::awaitable<boost::beast::error_code> open(std::chrono::milliseconds timeout,
                                                        Step& failed);
  /// The deadline of the writes and reads that follow: past it, they end in a timeout.
  void expires_after(std::chrono::steady_clock::duration timeout);
  boost::asio::awaitable<boost::beast::error_code> write(
      const boost::beast::http::request<boost::beast::http::empty_body>& request);
  /// Reads one answer into `parser` (its limits set by the caller).
  boost::asio::awaitable<boost::beast::error_code> read(
      boost::beast::flat_buffer& buffer,
      boost::beast::http::response_parser<boost::beast::http::string_body>& parser);
  /// Closes the socket: what is in flight ends with an error. Nothing when none is open.
  void close() noexcept;

 private:
  struct Streams;
  boost::asio::any_io_executor executor_;
  const HttpTarget& target_;
  boost::asio::ssl::context* tls_;
  std::unique_ptr<Streams> streams_;
};

}  // namespace mutex_edge::cache::detail
