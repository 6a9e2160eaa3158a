#include "http/probe.hpp"

#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

namespace mutex_edge::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr std::uint64_t kMaxAnswerBytes = 64 * 1024;

}  // namespace

ProbeResult probe(std::string_view url, std::chrono::milliseconds timeout) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed || parsed->scheme() != "http" || parsed->host().empty()) {
    return {0, "expected an http://host[:port]/path URL, got '" + std::string{url} + "'"};
  }
  const std::string host{parsed->host_address()};
  const std::string port = parsed->has_port() ? std::string{parsed->port()} : "80";
  std::string target{parsed->encoded_target()};
  if (target.empty()) {
    target = "/";
  }

  net::io_context ioc{1};
  tcp::resolver resolver{ioc};
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bhttp::request<bhttp::empty_body> request{bhttp::verb::get, target, 11};
  request.set(bhttp::field::host, parsed->encoded_host_and_port());
  request.set(bhttp::field::user_agent, "mutex-edge-probe");
  request.set(bhttp::field::connection, "close");
  bhttp::response_parser<bhttp::string_body> response;
  response.body_limit(kMaxAnswerBytes);
  ProbeResult result;
  auto fail = [&](std::string_view during, beast::error_code ec) {
    result.error = std::string{during} + ": " + ec.message();
  };

  stream.expires_after(timeout);
  resolver.async_resolve(host, port, [&](beast::error_code ec, tcp::resolver::results_type found) {
    if (ec) {
      return fail("resolving " + host, ec);
    }
    stream.async_connect(found, [&](beast::error_code connect_ec, const tcp::endpoint&) {
      if (connect_ec) {
        return fail("connecting to " + host + ":" + port, connect_ec);
      }
      bhttp::async_write(stream, request, [&](beast::error_code write_ec, std::size_t) {
        if (write_ec) {
          return fail("sending the request", write_ec);
        }
        bhttp::async_read(stream, buffer, response, [&](beast::error_code read_ec, std::size_t) {
          if (read_ec) {
            return fail("reading the answer", read_ec);
          }
          result.status = static_cast<int>(response.get().result_int());
        });
      });
    });
  });
  // The resolver has no timeout of its own: the run is bounded as a whole.
  if (ioc.run_for(timeout + std::chrono::milliseconds{100}) == 0 || !ioc.stopped()) {
    if (result.status == 0 && result.error.empty()) {
      result.error = "no answer within " + std::to_string(timeout.count()) + " ms";
    }
  }
  return result;
}

}  // namespace mutex_edge::http
