#include "cache/http_target.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace mutex_edge::cache::detail {

namespace net = boost::asio;
namespace beast = boost::beast;

common::Result<HttpTarget> parse_target(const std::string& url, std::string_view flag,
                                        std::string_view keys) {
  using common::Error;
  const std::string name{flag};
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) {
    return Error{name + ": not an absolute URL: '" + url + "'"};
  }
  HttpTarget target;
  target.scheme = std::string{parsed->scheme()};
  if (target.scheme == "https") {
    target.tls = true;
  } else if (target.scheme != "http") {
    return Error{name + ": the scheme must be http or https, got '" + target.scheme + "'"};
  }
  target.host = std::string{parsed->host_address()};
  if (target.host.empty()) {
    return Error{name + ": no host in '" + url + "'"};
  }
  if (parsed->has_userinfo() || parsed->has_query() || parsed->has_fragment()) {
    return Error{name +
                 ": give scheme://host[:port][/path] only (no credentials, query or fragment); " +
                 std::string{keys}};
  }
  target.port = parsed->has_port() ? std::string{parsed->port()} : (target.tls ? "443" : "80");
  target.host_header = parsed->has_port() ? target.host + ":" + target.port : target.host;
  target.base_path = std::string{parsed->encoded_path()};
  while (!target.base_path.empty() && target.base_path.back() == '/') {
    target.base_path.pop_back();
  }
  return target;
}

common::Result<void> make_tls(std::optional<net::ssl::context>& tls, const std::string& ca_file) {
  tls.emplace(net::ssl::context::tls_client);
  beast::error_code ec;
  tls->set_verify_mode(net::ssl::verify_peer, ec);
  if (ca_file.empty()) {
    tls->set_default_verify_paths(ec);
  } else {
    tls->load_verify_file(ca_file, ec);
  }
  if (ec) {
    return common::Error{"--ca-file " + ca_file + ": cannot load: " + ec.message()};
  }
  return {};
}

net::awaitable<beast::error_code> connect(net::any_io_executor executor, beast::tcp_stream& stream,
                                          const HttpTarget& target,
                                          std::chrono::milliseconds timeout) {
  constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);
  net::ip::tcp::resolver resolver{executor};
  net::steady_timer guard{executor};
  guard.expires_after(timeout);
  guard.async_wait([&resolver](beast::error_code ec) {
    if (!ec) {
      resolver.cancel();
    }
  });
  auto [resolve_ec, endpoints] =
      co_await resolver.async_resolve(target.host, target.port, kNoThrow);
  guard.cancel();
  if (resolve_ec) {
    co_return resolve_ec == net::error::operation_aborted ? beast::error::timeout : resolve_ec;
  }
  stream.expires_after(timeout);
  auto [connect_ec, endpoint] = co_await stream.async_connect(endpoints, kNoThrow);
  co_return connect_ec;
}

}  // namespace mutex_edge::cache::detail
