#pragma once
// The one HTTP client of both binaries' outbound requests (the upstream poller, the cohort
// client, `mutex-edge probe`): a target URL, its TLS context, and a connection that opens
// (resolve, connect, TLS handshake, each within a timeout), sends GETs and reads their answers
// within limits. Beast stays in client.cpp.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include "common/error.hpp"

namespace mutex_edge::http {

using ErrorCode = boost::system::error_code;

/// Where requests go: `scheme://host[:port][/base]`.
struct Target {
  bool tls = false;
  std::string scheme;  // "http" or "https"
  std::string host;
  std::string port;
  std::string base_path;    // without a trailing slash
  std::string host_header;  // host[:port]
};

/// Parses `scheme://host[:port][/base]` (no credentials, query or fragment). Errors start with
/// `flag` (e.g. "--upstream") and end with `keys`, where the credentials come from instead.
[[nodiscard]] common::Result<Target> parse_target(const std::string& url, std::string_view flag,
                                                  std::string_view keys);

/// A TLS client context that verifies peers against `ca_file`, or the system's CAs.
[[nodiscard]] common::Result<void> make_tls(std::optional<boost::asio::ssl::context>& tls,
                                            const std::string& ca_file);

/// The most bytes of headers the client reads in an answer.
inline constexpr std::size_t kMaxAnswerHeaderBytes = 64 * 1024;

/// A GET: the request target (path and query) and the headers beyond those every request
/// carries (Host, User-Agent, `Accept: application/json`, `Accept-Encoding: identity`).
struct Get {
  std::string target;
  std::vector<std::pair<std::string_view, std::string>> headers;
};

/// One answer.
struct Answer {
  unsigned status = 0;
  std::string reason;
  bool keep_alive = true;  // the connection may carry the next request
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  /// The first value of header `name` (any case), or "".
  [[nodiscard]] std::string_view header(std::string_view name) const noexcept;
};

/// What an error of the client means.
[[nodiscard]] bool is_timeout(const ErrorCode& ec) noexcept;
[[nodiscard]] bool is_too_large(const ErrorCode& ec) noexcept;  // the body passed its limit
[[nodiscard]] bool is_tls_error(const ErrorCode& ec) noexcept;
/// "timed out <during>" or "<during>: <what>".
[[nodiscard]] std::string describe(const ErrorCode& ec, std::string_view during);

/// One connection to a target at a time, plain or TLS. Lives in a coroutine of its executor;
/// close() may be called there at any point.
class Connection {
 public:
  /// The step of open() that failed.
  enum class Step { kServerName, kConnect, kHandshake };

  /// `tls` (for an https target) and `target` must outlive the connection.
  Connection(boost::asio::any_io_executor executor, const Target& target,
             boost::asio::ssl::context* tls, std::string user_agent = "mutex-edge");
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// A new connection (the last one, if any, closed): resolves and connects within `timeout`,
  /// and for https sets the server name, verifies the certificate's host name and handshakes
  /// within `timeout` again. On an error, `failed` says at which step.
  boost::asio::awaitable<ErrorCode> open(std::chrono::milliseconds timeout, Step& failed);
  /// open() succeeded, and neither close() nor an answer without keep-alive came since.
  [[nodiscard]] bool is_open() const noexcept;
  /// The deadline of the writes and reads that follow: past it, they end in a timeout.
  void expires_after(std::chrono::steady_clock::duration timeout);
  boost::asio::awaitable<ErrorCode> write(const Get& get);
  /// Reads one answer into `answer`, its body at most `max_body_bytes`.
  boost::asio::awaitable<ErrorCode> read(std::size_t max_body_bytes, Answer& answer);
  /// Closes the socket: what is in flight ends with an error. Nothing when none is open.
  void close() noexcept;

 private:
  struct Streams;
  boost::asio::any_io_executor executor_;
  const Target& target_;
  boost::asio::ssl::context* tls_;
  std::string user_agent_;
  std::unique_ptr<Streams> streams_;
};

}  // namespace mutex_edge::http
