#include "cache/http_target.hpp"

#include <type_traits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace mutex_edge::cache::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;

namespace {
constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);
}  // namespace

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

struct Connection::Streams {
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;

  beast::tcp_stream& lowest() { return plain ? *plain : beast::get_lowest_layer(*secure); }
};

Connection::Connection(net::any_io_executor executor, const HttpTarget& target, ssl::context* tls)
    : executor_{std::move(executor)},
      target_{target},
      tls_{tls},
      streams_{std::make_unique<Streams>()} {}

Connection::~Connection() = default;

net::awaitable<beast::error_code> Connection::open(std::chrono::milliseconds timeout,
                                                   Step& failed) {
  close();
  streams_->plain.reset();
  streams_->secure.reset();
  if (!target_.tls) {
    streams_->plain.emplace(executor_);
  } else {
    auto& stream = streams_->secure.emplace(executor_, *tls_);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), target_.host.c_str())) {
      failed = Step::kServerName;
      co_return beast::error_code{static_cast<int>(::ERR_get_error()),
                                  net::error::get_ssl_category()};
    }
    stream.set_verify_callback(ssl::host_name_verification(target_.host));
  }
  if (auto ec = co_await connect(executor_, streams_->lowest(), target_, timeout)) {
    failed = Step::kConnect;
    co_return ec;
  }
  if (streams_->secure) {
    streams_->lowest().expires_after(timeout);
    auto [ec] = co_await streams_->secure->async_handshake(ssl::stream_base::client, kNoThrow);
    if (ec) {
      failed = Step::kHandshake;
      co_return ec;
    }
  }
  co_return beast::error_code{};
}

void Connection::expires_after(std::chrono::steady_clock::duration timeout) {
  streams_->lowest().expires_after(timeout);
}

net::awaitable<beast::error_code> Connection::write(
    const http::request<http::empty_body>& request) {
  // Each branch its own co_await (GCC 12 mishandles a co_await inside ?:).
  if (!streams_->plain && !streams_->secure) {
    co_return beast::error_code{net::error::not_connected};
  }
  if (streams_->plain) {
    auto [ec, n] = co_await http::async_write(*streams_->plain, request, kNoThrow);
    co_return ec;
  }
  auto [ec, n] = co_await http::async_write(*streams_->secure, request, kNoThrow);
  co_return ec;
}

net::awaitable<beast::error_code> Connection::read(
    beast::flat_buffer& buffer, http::response_parser<http::string_body>& parser) {
  if (!streams_->plain && !streams_->secure) {
    co_return beast::error_code{net::error::not_connected};
  }
  if (streams_->plain) {
    auto [ec, n] = co_await http::async_read(*streams_->plain, buffer, parser, kNoThrow);
    co_return ec;
  }
  auto [ec, n] = co_await http::async_read(*streams_->secure, buffer, parser, kNoThrow);
  co_return ec;
}

void Connection::close() noexcept {
  if (streams_->plain || streams_->secure) {
    streams_->lowest().close();
  }
}

}  // namespace mutex_edge::cache::detail
