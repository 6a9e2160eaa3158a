#include "http/probe.hpp"

#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include "http/client.hpp"

namespace mutex_edge::http {
namespace {

namespace net = boost::asio;

constexpr std::size_t kMaxAnswerBytes = 64 * 1024;

net::awaitable<void> get_once(Connection& connection, const Target& target, std::string path,
                              std::chrono::milliseconds timeout, ProbeResult& result) {
  Connection::Step failed = Connection::Step::kConnect;
  if (auto ec = co_await connection.open(timeout, failed)) {
    result.error = describe(ec, failed == Connection::Step::kConnect
                                    ? "connecting to " + target.host + ":" + target.port
                                    : "in the TLS handshake with " + target.host);
    co_return;
  }
  connection.expires_after(timeout);
  Get request{std::move(path), {}};
  request.headers.emplace_back("Connection", std::string{"close"});
  if (auto ec = co_await connection.write(request)) {
    result.error = describe(ec, "sending the request");
    co_return;
  }
  Answer answer;
  if (auto ec = co_await connection.read(kMaxAnswerBytes, answer)) {
    result.error = describe(ec, "reading the answer");
    co_return;
  }
  result.status = static_cast<int>(answer.status);
}

}  // namespace

ProbeResult probe(std::string_view url, std::chrono::milliseconds timeout) {
  // The path of the URL is the request's; the rest is a target as the other clients take it.
  const std::size_t authority = url.find("://");
  const std::size_t slash =
      authority == std::string_view::npos ? std::string_view::npos : url.find('/', authority + 3);
  const std::string base{url.substr(0, slash)};
  std::string path = slash == std::string_view::npos ? "/" : std::string{url.substr(slash)};
  auto target = parse_target(base, "the URL", "");
  if (!target) {
    return {0, "expected an http(s)://host[:port]/path URL, got '" + std::string{url} + "'"};
  }
  std::optional<net::ssl::context> tls;
  if (target->tls) {
    if (auto made = make_tls(tls, ""); !made) {
      return {0, made.error().message};
    }
  }

  ProbeResult result;
  net::io_context ioc{1};
  Connection connection{ioc.get_executor(), *target, tls ? &*tls : nullptr, "mutex-edge-probe"};
  net::co_spawn(ioc, get_once(connection, *target, std::move(path), timeout, result),
                net::detached);
  // Each step has its own timeout, and the run as a whole is bounded by the same.
  if (ioc.run_for(timeout + std::chrono::milliseconds{100}) == 0 || !ioc.stopped()) {
    if (result.status == 0 && result.error.empty()) {
      result.error = "no answer within " + std::to_string(timeout.count()) + " ms";
    }
  }
  return result;
}

}  // namespace mutex_edge::http
