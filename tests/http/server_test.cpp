// The HTTP server on its own, in-process, with a trivial handler: keep-alive and pipelining,
// every limit and timeout, the connection cap, deferred answers and draining. Both binaries
// use this server; their own tests cover only their routes.
#include "http/server.hpp"

#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/json.hpp"
#include "tests/support/timing.hpp"

namespace net = boost::asio;
using mutex_edge::common::ServerFlags;
using mutex_edge::http::Exchange;
using mutex_edge::http::is_json;
using mutex_edge::http::Outcome;
using mutex_edge::http::Request;
using mutex_edge::http::Response;
using mutex_edge::testing::error_code;
using mutex_edge::testing::HttpClient;
using mutex_edge::testing::HttpResponse;

namespace {

/// Requests the handler holds until the test ends them.
struct Held {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::pair<net::any_io_executor, std::function<void(Outcome)>>> requests;

  /// Waits (bounded) until `count` requests are held.
  bool wait_for(std::size_t count) {
    std::unique_lock lock{mutex};
    return changed.wait_for(lock, std::chrono::seconds{10},
                            [&] { return requests.size() >= count; });
  }
  /// Ends the i-th held request on its worker's thread (its session is then released there).
  void end(std::size_t i, Outcome outcome) {
    std::lock_guard lock{mutex};
    auto& [executor, finish] = requests.at(i);
    net::post(executor, [finish = std::exchange(finish, nullptr), outcome] { finish(outcome); });
  }
};

/// /echo answers the body; /hold waits for the test; /drop closes without an answer.
class TestHandler : public mutex_edge::http::Handler {
 public:
  explicit TestHandler(Held& held) : held_{held} {}

  void handle(const Request& request, Response& response, Exchange& exchange) override {
    if (request.target == "/hold") {
      auto finish = exchange.defer();
      response.body = "held";
      std::lock_guard lock{held_.mutex};
      held_.requests.emplace_back(exchange.executor(), std::move(finish));
      held_.changed.notify_all();
      return;
    }
    if (request.target == "/drop") {
      auto finish = exchange.defer();
      net::post(exchange.executor(), [finish] { finish(Outcome::kClose); });
      return;
    }
    if (request.target == "/error") {
      mutex_edge::http::error(response, 418, "teapot", "a \"quote\", a tab\t and a \x01");
      return;
    }
    if (request.target.starts_with("/big/")) {  // /big/N: N bytes, more than a socket takes
      response.content_type = "text/plain";
      response.body.assign(std::stoul(std::string{request.target.substr(5)}), 'b');
      return;
    }
    if (request.target == "/head") {  // the fields a handler reads, as the server kept them
      response.content_type = "text/plain";
      response.body = std::string{request.content_type} + "|" + std::string{request.host} + "|" +
                      std::string{request.authorization} + "|" +
                      std::string{request.if_none_match} + "|" + std::string{request.body};
      return;
    }
    response.content_type = "text/plain";
    response.body = std::string{request.target} + ":" + std::string{request.body};
  }
  void finished(const Response&, std::chrono::steady_clock::duration, bool) override {}

 private:
  Held& held_;
};

/// A server on an ephemeral port, its control thread running.
struct Fixture {
  explicit Fixture(ServerFlags flags = small()) {
    mutex_edge::http::Options options;
    options.server = flags;
    options.server_name = "test-server";
    server = std::make_unique<mutex_edge::http::Server>(
        options, [this](std::size_t) { return std::make_unique<TestHandler>(held); }, control);
    server->start();
    thread = std::thread{[this] {
      auto guard = net::make_work_guard(control);
      control.run();
    }};
  }
  ~Fixture() {
    control.stop();
    thread.join();
    server->stop();
    held.requests.clear();  // sessions still held go while their worker's context exists
    server.reset();
  }

  static ServerFlags small() {
    ServerFlags flags;
    flags.listen_port = 0;
    flags.threads = 2;
    flags.max_header_bytes = 1024;
    flags.max_body_bytes = 4096;
    return flags;
  }

  /// Drains on the control thread; the future is set when the server reports it drained.
  std::future<void> drain() {
    auto done = std::make_shared<std::promise<void>>();
    auto future = done->get_future();
    net::post(control, [this, done] { server->drain([done] { done->set_value(); }); });
    return future;
  }

  Held held;
  net::io_context control{1};
  std::unique_ptr<mutex_edge::http::Server> server;
  std::thread thread;
};

}  // namespace

TEST_CASE("a connection is kept alive and pipelined requests are answered in order",
          "[http][server]") {
  Fixture f;
  HttpClient client{f.server->port()};
  const HttpResponse first = client.post("/echo", "one", "text/plain");
  CHECK(first.status == 200);
  CHECK(first.body == "/echo:one");
  CHECK(first.header("server") == "test-server");
  CHECK_FALSE(first.header("date").empty());
  CHECK(first.header("content-length") == "9");

  std::string burst;
  for (const char* target : {"/a", "/b", "/c"}) {
    burst += std::string{"GET "} + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
  }
  client.send_raw(burst);
  CHECK(client.read_response().body == "/a:");
  CHECK(client.read_response().body == "/b:");
  CHECK(client.read_response().body == "/c:");
  CHECK(client.get("/d").body == "/d:");  // still open
}

TEST_CASE("the head's fields, chunked bodies and Expect: 100-continue reach the handler",
          "[http][server]") {
  Fixture f;
  HttpClient client{f.server->port()};
  // The first of a repeated field counts; field names in any case.
  client.send_raw(
      "POST /head HTTP/1.1\r\nhOST: h1\r\nHost: h2\r\nContent-Type: text/x\r\n"
      "Authorization: Bearer k\r\nIf-None-Match: \"e\"\r\nX-Other: o\r\n"
      "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  CHECK(client.read_response().body == "text/x|h1|Bearer k|\"e\"|abcde");
  // The next request on the connection starts with none of those.
  client.send_raw("GET /head HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(client.read_response().body == "|x|||");

  HttpClient waiting{f.server->port()};
  waiting.send_raw(
      "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  CHECK(waiting.read_response().status == 100);
  waiting.send_raw("hi");
  CHECK(waiting.read_response().body == "/echo:hi");

  HttpClient chunky{f.server->port()};
  std::string chunks = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) {
    chunks += "3e8\r\n" + std::string(1000, 'c') + "\r\n";  // 5,000 bytes: over the 4,096
  }
  chunky.send_raw(chunks + "0\r\n\r\n");
  CHECK(chunky.read_response().status == 413);
}

TEST_CASE("an answer larger than the socket takes at once is written whole", "[http][server]") {
  Fixture f;
  HttpClient client{f.server->port()};
  for (const std::size_t size : {std::size_t{32} << 20, std::size_t{10}, std::size_t{9} << 20}) {
    const HttpResponse response = client.get("/big/" + std::to_string(size));
    REQUIRE(response.status == 200);
    CHECK(response.body.size() == size);
    CHECK(response.body.find_first_not_of('b') == std::string::npos);
  }
}

TEST_CASE("oversized bodies and heads and garbage are refused and the connection closed",
          "[http][server][limits]") {
  Fixture f;
  HttpClient client{f.server->port()};
  SECTION("a body over max_body_bytes is 413") {
    const HttpResponse response = client.post("/echo", std::string(5000, 'x'), "text/plain");
    CHECK(response.status == 413);
    CHECK(error_code(response) == "payload_too_large");
    CHECK(response.header("connection") == "close");
    CHECK(client.closed_by_peer());
  }
  SECTION("a head over max_header_bytes is 431") {
    const HttpResponse response =
        client.request("GET", "/echo", "", {{"X-Padding", std::string(2000, 'p')}});
    CHECK(response.status == 431);
    CHECK(error_code(response) == "headers_too_large");
    CHECK(client.closed_by_peer());
  }
  SECTION("garbage is 400") {
    client.send_raw("NOT HTTP AT ALL\r\n\r\n");
    const HttpResponse response = client.read_response();
    CHECK(response.status == 400);
    CHECK(error_code(response) == "bad_request");
    CHECK(client.closed_by_peer());
  }
  HttpClient other{f.server->port()};
  CHECK(other.get("/still-there").status == 200);
}

TEST_CASE("idle connections and slow bodies are closed after their timeouts",
          "[http][server][limits]") {
  ServerFlags flags = Fixture::small();
  // Long enough for the client to send its request between connecting and the timeout.
  flags.idle_timeout = mutex_edge::testing::scaled(std::chrono::milliseconds{250});
  flags.read_timeout = mutex_edge::testing::scaled(std::chrono::milliseconds{250});
  Fixture f{flags};
  HttpClient idle{f.server->port()};
  REQUIRE(idle.get("/once").status == 200);
  CHECK(idle.closed_by_peer());  // waits for the server to close it

  HttpClient slow{f.server->port()};
  slow.send_raw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
  CHECK(slow.closed_by_peer());
}

TEST_CASE("connections beyond max_connections get 503 and are closed", "[http][server][limits]") {
  ServerFlags flags = Fixture::small();
  flags.max_connections = 2;
  flags.threads = 1;
  Fixture f{flags};
  HttpClient a{f.server->port()};
  HttpClient b{f.server->port()};
  REQUIRE(a.get("/a").status == 200);
  REQUIRE(b.get("/b").status == 200);
  HttpClient c{f.server->port()};
  const HttpResponse refused = c.read_response();
  CHECK(refused.status == 503);
  CHECK(error_code(refused) == "too_many_connections");
  CHECK(c.closed_by_peer());
  CHECK(a.get("/a").status == 200);
}

TEST_CASE("a deferred request is answered when its handler ends it, or closed unanswered",
          "[http][server][defer]") {
  Fixture f;
  HttpClient held{f.server->port()};
  held.send_raw("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(f.held.wait_for(1));
  HttpClient other{f.server->port()};
  CHECK(other.get("/meanwhile").status == 200);  // the worker is not blocked
  f.held.end(0, Outcome::kRespond);
  const HttpResponse response = held.read_response();
  CHECK(response.status == 200);
  CHECK(response.body == "held");

  HttpClient dropped{f.server->port()};
  dropped.send_raw("GET /drop HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(dropped.closed_by_peer());
}

TEST_CASE("draining closes idle connections, lets an in-flight request finish, then is done",
          "[http][server][drain]") {
  Fixture f;
  HttpClient idle{f.server->port()};
  REQUIRE(idle.get("/idle").status == 200);
  HttpClient busy{f.server->port()};
  busy.send_raw("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(f.held.wait_for(1));

  std::future<void> drained = f.drain();
  CHECK(idle.closed_by_peer());
  CHECK(drained.wait_for(std::chrono::milliseconds{0}) == std::future_status::timeout);
  f.held.end(0, Outcome::kRespond);
  const HttpResponse response = busy.read_response();
  CHECK(response.status == 200);
  CHECK(response.header("connection") == "close");
  CHECK(drained.wait_for(std::chrono::seconds{10}) == std::future_status::ready);
  CHECK(f.server->draining());
}

TEST_CASE("error bodies are JSON with every character escaped", "[http][server]") {
  Fixture f;
  HttpClient client{f.server->port()};
  const HttpResponse response = client.get("/error");
  CHECK(response.status == 418);
  CHECK(response.header("content-type") == "application/json");
  CHECK(response.body ==
        R"({"error":{"code":"teapot","message":"a \"quote\", a tab\t and a \u0001"}})");
}

TEST_CASE("a JSON content type is application/json or a +json type, parameters aside",
          "[http][server]") {
  CHECK(is_json("application/json"));
  CHECK(is_json("Application/JSON; charset=utf-8"));
  CHECK(is_json(" application/json ;charset=utf-8"));
  CHECK(is_json("application/vnd.api+json"));
  CHECK_FALSE(is_json("application/jsonp"));
  CHECK_FALSE(is_json("application/json-seq"));
  CHECK_FALSE(is_json("text/plain"));
  CHECK_FALSE(is_json("+json"));
  CHECK_FALSE(is_json(""));
}
