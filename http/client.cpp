#include "http/client.hpp"

#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "common/text.hpp"

namespace mutex_edge::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = net::ssl;

namespace {
constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);
}  // namespace

namespace {

/// `url` with whatever stands between "://" and an '@' of the authority replaced by "***": a URL
/// given with credentials never reaches a message as it was.
std::string without_userinfo(std::string_view url) {
  const std::size_t scheme = url.find("://");
  const std::size_t from = scheme == std::string_view::npos ? 0 : scheme + 3;
  const std::size_t authority_end = url.find_first_of("/?#", from);
  const std::size_t at = url.substr(0, authority_end).rfind('@');
  if (at == std::string_view::npos || at < from) {
    return std::string{url};
  }
  return std::string{url.substr(0, from)} + "***" + std::string{url.substr(at)};
}

}  // namespace

common::Result<Target> parse_target(const std::string& url, std::string_view flag,
                                    std::string_view keys) {
  using common::Error;
  const std::string name{flag};
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) {
    return Error{name + ": not an absolute URL: " + common::excerpt(without_userinfo(url))};
  }
  Target target;
  target.scheme = std::string{parsed->scheme()};
  if (target.scheme == "https") {
    target.tls = true;
  } else if (target.scheme != "http") {
    return Error{name + ": the scheme must be http or https, got '" + target.scheme + "'"};
  }
  target.host = std::string{parsed->host_address()};
  if (target.host.empty()) {
    return Error{name + ": no host in " + common::excerpt(without_userinfo(url))};
  }
  if (parsed->has_userinfo() || parsed->has_query() || parsed->has_fragment()) {
    return Error{name +
                 ": give scheme://host[:port][/path] only (no credentials, query or fragment); " +
                 std::string{keys}};
  }
  target.port = parsed->has_port() ? std::string{parsed->port()} : (target.tls ? "443" : "80");
  target.host_header = std::string{parsed->encoded_host_and_port()};  // [v6] keeps its brackets
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

namespace {

/// Resolves and connects within `timeout` (the resolver has none of its own: a timer cancels
/// it, and a cancelled resolve reads as a timeout).
net::awaitable<ErrorCode> connect(net::any_io_executor executor, beast::tcp_stream& stream,
                                  const Target& target, std::chrono::milliseconds timeout) {
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

}  // namespace

std::string_view Answer::header(std::string_view name) const noexcept {
  for (const auto& [key, value] : headers) {
    if (beast::iequals(key, name)) {
      return value;
    }
  }
  return {};
}

bool is_timeout(const ErrorCode& ec) noexcept {
  return ec == beast::error::timeout;
}

bool is_too_large(const ErrorCode& ec) noexcept {
  return ec == bhttp::error::body_limit;
}

bool is_tls_error(const ErrorCode& ec) noexcept {
  return ec.category() == net::error::get_ssl_category() ||
         ec.category() == ssl::error::get_stream_category();
}

std::string describe(const ErrorCode& ec, std::string_view during) {
  if (is_timeout(ec)) {
    return "timed out " + std::string{during};
  }
  return std::string{during} + ": " + ec.message();
}

struct Connection::Streams {
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;

  beast::flat_buffer buffer;
  bool open = false;

  beast::tcp_stream& lowest() { return plain ? *plain : beast::get_lowest_layer(*secure); }
};

Connection::Connection(net::any_io_executor executor, const Target& target, ssl::context* tls,
                       std::string user_agent)
    : executor_{std::move(executor)},
      target_{target},
      tls_{tls},
      user_agent_{std::move(user_agent)},
      streams_{std::make_unique<Streams>()} {}

Connection::~Connection() = default;

net::awaitable<ErrorCode> Connection::open(std::chrono::milliseconds timeout, Step& failed) {
  close();
  streams_->plain.reset();
  streams_->secure.reset();
  streams_->buffer.clear();
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
    close();
    co_return ec;
  }
  if (streams_->secure) {
    streams_->lowest().expires_after(timeout);
    auto [ec] = co_await streams_->secure->async_handshake(ssl::stream_base::client, kNoThrow);
    if (ec) {
      failed = Step::kHandshake;
      close();
      co_return ec;
    }
  }
  streams_->open = true;
  co_return ErrorCode{};
}

bool Connection::is_open() const noexcept {
  return streams_->open;
}

void Connection::expires_after(std::chrono::steady_clock::duration timeout) {
  streams_->lowest().expires_after(timeout);
}

net::awaitable<ErrorCode> Connection::write(const Get& get) {
  if (!streams_->open) {
    co_return ErrorCode{net::error::not_connected};
  }
  bhttp::request<bhttp::empty_body> request{bhttp::verb::get, get.target, 11};
  request.set(bhttp::field::host, target_.host_header);
  request.set(bhttp::field::user_agent, user_agent_);
  request.set(bhttp::field::accept, "application/json");
  request.set(bhttp::field::accept_encoding, "identity");
  for (const auto& [name, value] : get.headers) {
    request.set(name, value);
  }
  // Each branch its own co_await (GCC 12 mishandles a co_await inside ?:).
  if (streams_->plain) {
    auto [ec, n] = co_await bhttp::async_write(*streams_->plain, request, kNoThrow);
    co_return ec;
  }
  auto [ec, n] = co_await bhttp::async_write(*streams_->secure, request, kNoThrow);
  co_return ec;
}

net::awaitable<ErrorCode> Connection::read(std::size_t max_body_bytes, Answer& answer) {
  if (!streams_->open) {
    co_return ErrorCode{net::error::not_connected};
  }
  bhttp::response_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(kMaxAnswerHeaderBytes));
  parser.body_limit(max_body_bytes);
  ErrorCode read_ec;
  if (streams_->plain) {
    auto [ec, n] = co_await bhttp::async_read(*streams_->plain, streams_->buffer, parser, kNoThrow);
    read_ec = ec;
  } else {
    auto [ec, n] =
        co_await bhttp::async_read(*streams_->secure, streams_->buffer, parser, kNoThrow);
    read_ec = ec;
  }
  if (read_ec) {
    streams_->open = false;
    co_return read_ec;
  }
  auto& response = parser.get();
  answer.status = response.result_int();
  answer.reason = std::string{response.reason()};
  answer.keep_alive = parser.keep_alive();  // false for a body that ended with the connection
  answer.headers.clear();
  for (const auto& field : response) {
    answer.headers.emplace_back(std::string{field.name_string()}, std::string{field.value()});
  }
  answer.body = std::move(response.body());
  if (!answer.keep_alive) {
    close();
  }
  co_return ErrorCode{};
}

void Connection::close() noexcept {
  streams_->open = false;
  if (streams_->plain || streams_->secure) {
    streams_->lowest().close();
  }
}

}  // namespace mutex_edge::http
