#include "tests/support/http_client.hpp"

#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "tests/support/timing.hpp"

namespace mutex_edge::testing {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// Every connect, write and read; a 32 MiB answer or a million-member cohort under a sanitizer
// takes a few seconds.
const auto kTimeout = scaled(std::chrono::seconds{10});

}  // namespace

struct HttpClient::Impl {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
};

HttpClient::HttpClient(std::uint16_t port) : impl_{new Impl} {
  impl_->stream.expires_after(kTimeout);
  impl_->stream.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port});
}

HttpClient::~HttpClient() {
  beast::error_code ec;
  impl_->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  delete impl_;
}

HttpResponse HttpClient::get(const std::string& target,
                             const std::vector<std::pair<std::string, std::string>>& headers) {
  return request("GET", target, "", headers);
}

HttpResponse HttpClient::post(const std::string& target, const std::string& body,
                              const std::string& content_type) {
  return request("POST", target, body, {{"Content-Type", content_type}});
}

HttpResponse HttpClient::request(const std::string& method, const std::string& target,
                                 const std::string& body,
                                 const std::vector<std::pair<std::string, std::string>>& headers) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers) {
    req.set(name, value);
  }
  if (!body.empty() || method == "POST") {
    req.body() = body;
    req.prepare_payload();
  }
  impl_->stream.expires_after(kTimeout);
  http::write(impl_->stream, req);
  return read_response(method == "HEAD");
}

void HttpClient::send_raw(const std::string& bytes) {
  impl_->stream.expires_after(kTimeout);
  net::write(impl_->stream, net::buffer(bytes));
}

HttpResponse HttpClient::read_response(bool head) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  parser.skip(head);  // the answer to HEAD has a Content-Length but no body
  impl_->stream.expires_after(kTimeout);
  http::read(impl_->stream, impl_->buffer, parser);
  const auto& res = parser.get();
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    std::string name{field.name_string()};
    for (char& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    out.headers[name] = std::string{field.value()};
  }
  out.body = res.body();
  return out;
}

bool HttpClient::closed_by_peer() {
  impl_->stream.expires_after(kTimeout);
  char byte = 0;
  beast::error_code ec;
  impl_->stream.read_some(net::buffer(&byte, 1), ec);
  return ec == net::error::eof || ec == net::error::connection_reset;
}

}  // namespace mutex_edge::testing
