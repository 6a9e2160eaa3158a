#pragma once
// What the two HTTP clients of cache/ share (the upstream poller and the cohort source): the
// target URL, the TLS context and connecting with a timeout. Private to cache/'s .cpp files.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>

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

}  // namespace mutex_edge::cache::detail
