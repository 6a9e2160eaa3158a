// The router with a real Service and snapshot store, no sockets: readiness, staleness, and
// snapshots swapped thousands of times while requests run (run under ThreadSanitizer in CI).
#include "api/router.hpp"

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "serving/service.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <simdjson.h>

#include "config/parser.hpp"
#include "tests/support/checks.hpp"
#include "tests/support/groups.hpp"
#include "tests/support/timing.hpp"

using namespace mutex_edge;
using http::Method;
using http::Request;
using http::Response;

namespace {

config::ListPage page_with(int first_percentage) {
  auto page = config::parse_list_page(
      testing::list_json({testing::make_group(1, "g", first_percentage, "s")}));
  REQUIRE(page.has_value());
  return std::move(*page);
}

struct Fixture {
  serving::ServiceOptions options;
  api::ApiOptions api;
  std::unique_ptr<serving::EdgeMetrics> metrics;
  std::unique_ptr<serving::Service> service;

  explicit Fixture(std::size_t workers = 1, common::Duration staleness = common::Duration::zero()) {
    options.max_staleness = staleness;
    metrics = std::make_unique<serving::EdgeMetrics>(workers);
    service = std::make_unique<serving::Service>(options, *metrics);
  }
  void apply(int first_percentage) {
    service->apply(page_with(first_percentage), cache::SourceKind::kFile, "test");
  }
};

/// The version of an /assign answer (0 if it has none).
std::uint64_t json_version(const std::string& body) {
  simdjson::dom::parser parser;
  std::uint64_t version = 0;
  return parser.parse(body)["version"].get_uint64().get(version) == simdjson::SUCCESS ? version : 0;
}

Response handle(api::Router& router, std::string_view target, std::string_view if_none_match = {}) {
  Response response;
  Request request;
  request.target = target;
  request.method = Method::kGet;
  request.if_none_match = if_none_match;
  router.handle(request, response);
  return response;
}

/// The value of a response's header `name` ("" when it has none).
std::string header(const Response& response, std::string_view name) {
  const std::string line = std::string{name} + ": ";
  const std::size_t at = response.headers.find(line);
  if (at == std::string::npos) {
    return {};
  }
  const std::size_t from = at + line.size();
  return response.headers.substr(from, response.headers.find("\r\n", from) - from);
}

/// An exchange whose answer is deferred and recorded, for watch requests.
class RecordingExchange final : public http::Exchange {
 public:
  explicit RecordingExchange(boost::asio::io_context& context) : context_{context} {}
  [[nodiscard]] boost::asio::any_io_executor executor() const override {
    return context_.get_executor();
  }
  [[nodiscard]] std::function<void(http::Outcome)> defer() override {
    deferred = true;
    return [this](http::Outcome) { ++ended; };
  }
  bool deferred = false;
  int ended = 0;

 private:
  boost::asio::io_context& context_;
};

}  // namespace

TEST_CASE("before the first snapshot /assign and /readyz answer 503 not_ready", "[proxy][router]") {
  Fixture f;
  api::Router router{*f.service, *f.metrics, f.api, 0};
  Response assign = handle(router, "/assign?device_id=x");
  CHECK(assign.status == 503);
  CHECK_THAT(assign.body, Catch::Contains(R"("code":"not_ready")"));
  CHECK(handle(router, "/readyz").status == 503);
  CHECK(handle(router, "/healthz").status == 200);
  CHECK(handle(router, "/api/1/mutexes").status == 503);

  f.apply(50);
  CHECK(handle(router, "/assign?device_id=x").status == 200);
  CHECK(handle(router, "/readyz").status == 200);
}

TEST_CASE("a stale config turns /readyz to 503 while serving goes on", "[proxy][router]") {
  // Stale after this; the checks of a fresh config run well within it, on a slow build too.
  Fixture f{1, testing::scaled(std::chrono::milliseconds{200})};
  api::Router router{*f.service, *f.metrics, f.api, 0};
  f.apply(50);
  CHECK(handle(router, "/readyz").status == 200);
  Response ready;
  CHECK(testing::eventually([&] {
    ready = handle(router, "/readyz");
    return ready.status == 503;
  }));
  CHECK_THAT(ready.body, Catch::Contains("--max-staleness"));
  CHECK(handle(router, "/assign?device_id=x").status == 200);
  f.service->record_unchanged();  // the source confirmed the config again
  CHECK(handle(router, "/readyz").status == 200);
}

TEST_CASE("draining turns /readyz to 503", "[proxy][router]") {
  Fixture f;
  api::Router router{*f.service, *f.metrics, f.api, 0};
  f.apply(50);
  f.service->begin_drain();
  CHECK(handle(router, "/readyz").status == 503);
  CHECK(handle(router, "/assign?device_id=x").status == 200);
}

TEST_CASE("answers escape keys that need it and match the writer's own output", "[proxy][router]") {
  Fixture f;
  api::Router router{*f.service, *f.metrics, f.api, 0};
  config::GroupConfig quoted = testing::make_group(1, "say \"hi\"\\now", 100, "s");
  quoted.slots[0].variant_key = "tab\there";
  quoted.slots[0].experiments = {0, 7, 9007199254740993};
  quoted.slots[0].holdouts = {42};
  config::GroupConfig plain = testing::make_group(2, "plain", 100, "s");
  auto page = config::parse_list_page(testing::list_json({quoted, plain}));
  REQUIRE(page.has_value());
  for (const auto& problem : page->rejected) {
    FAIL_CHECK(problem.to_string());
  }
  f.service->apply(std::move(*page), cache::SourceKind::kFile, "test");

  const std::string body = handle(router, "/assign?device_id=x").body;
  CHECK(body ==
        "{\"version\":1,\"assignments\":{"
        R"("say \"hi\"\\now":{"slot":"tab\there","reason":"all","index":1,)"
        R"("experiments":[0,7,9007199254740993],"holdouts":[42]},)"
        R"("plain":{"slot":"slot-1","reason":"all","index":1,"experiments":[2],)"
        R"("holdouts":[]}}})");
  // explain goes through the writer, member by member: the same members, one more field each.
  const std::string explained = handle(router, "/assign?device_id=x&explain=true").body;
  CHECK_THAT(explained, Catch::StartsWith("{\"version\":1,\"assignments\":{"
                                          R"("say \"hi\"\\now":{"slot":"tab\there",)"));
  CHECK_THAT(explained, Catch::Contains(R"("holdouts":[42],"explain":{"bucketingKey")"));
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  REQUIRE(parser.parse(explained).get(root) == simdjson::SUCCESS);
}

TEST_CASE("an answer counts its assignment under the group's served slot", "[proxy][router]") {
  Fixture f;
  api::Router router{*f.service, *f.metrics, f.api, 0};
  f.apply(100);  // one slot of 100%: everyone is in slot-1
  for (int i = 0; i < 5; ++i) {
    REQUIRE(handle(router, "/assign?device_id=" + std::to_string(i)).status == 200);
  }
  CHECK_THAT(handle(router, "/metrics").body,
             Catch::Contains(R"(mutex_edge_assignments_total{group="g",slot="slot-1"} 5)"));
}

TEST_CASE("If-None-Match lists, weak tags and * get a 304 wherever an ETag is served",
          "[proxy][router]") {
  Fixture f;
  api::Router router{*f.service, *f.metrics, f.api, 0};
  f.apply(50);
  for (const std::string_view target : {"/api/1/mutexes", "/api/1/mutexes/1", "/sdk/v2/flags"}) {
    INFO(target);
    const Response served = handle(router, target);
    REQUIRE(served.status == 200);
    const std::string etag = header(served, "ETag");
    REQUIRE(etag.size() > 2);
    CHECK(handle(router, target, etag).status == 304);
    CHECK(handle(router, target, "\"other\", " + etag).status == 304);
    CHECK(handle(router, target, "\"a\",\"b\" ,\t" + etag + " , \"c\"").status == 304);
    CHECK(handle(router, target, "W/" + etag).status == 304);
    CHECK(handle(router, target, "*").status == 304);
    CHECK(handle(router, target, "\"other\", \"more\"").status == 200);
    // A malformed value is no precondition at all: the full answer.
    CHECK(handle(router, target, etag.substr(0, etag.size() - 1)).status == 200);
    CHECK(handle(router, target, "\"other\" " + etag).status == 200);
  }
}

TEST_CASE("a watch held on a list of tags waits while the served tag is in it", "[proxy][router]") {
  boost::asio::io_context context;
  Fixture f;
  api::Router router{*f.service, *f.metrics, f.api, 0};
  f.apply(50);
  const std::string etag = header(handle(router, "/api/1/mutexes"), "ETag");
  REQUIRE(!etag.empty());

  const std::vector<std::string> captured{"", "", "wait=60"};
  Request request;
  request.method = Method::kGet;
  request.target = "/api/1/mutexes";
  const std::string list = "\"older\", " + etag;
  request.if_none_match = list;
  request.captured = captured;
  RecordingExchange exchange{context};
  Response response;
  router.handle(request, response, &exchange);
  REQUIRE(exchange.deferred);
  CHECK(exchange.ended == 0);

  // The same tag served again: still held.
  router.refresh();
  CHECK(exchange.ended == 0);

  // Another configuration: answered with it.
  f.apply(60);
  router.refresh();
  CHECK(exchange.ended == 1);
  CHECK(response.status == 200);
  CHECK(header(response, "ETag") != etag);
}

TEST_CASE("snapshots swapped thousands of times while requests run",
          "[proxy][router][concurrency]") {
  constexpr std::size_t kWorkers = 3;
  constexpr int kSwaps = 3000;
  Fixture f{kWorkers};
  f.apply(1);
  std::atomic<bool> done{false};
  std::atomic<std::size_t> running{0};
  // What each thread saw; the main thread asserts (Catch2 v2 is not thread-safe).
  struct Seen {
    long answers = 0;
    std::uint64_t first_version = 0;
    std::uint64_t last_version = 0;
    std::string problem;
  };
  std::vector<Seen> seen(kWorkers);
  std::vector<std::thread> workers;
  for (std::size_t w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      api::Router router{*f.service, *f.metrics, f.api, w};
      Seen& mine = seen[w];
      simdjson::dom::parser parser;
      ++running;
      for (int i = 0; !done.load(std::memory_order_relaxed) || mine.answers == 0; ++i) {
        const Response response = handle(router, "/assign?device_id=" + std::to_string(i));
        simdjson::dom::element json;
        std::uint64_t version = 0;
        if (response.status != 200 || parser.parse(response.body).get(json) != simdjson::SUCCESS ||
            json["version"].get_uint64().get(version) != simdjson::SUCCESS) {
          mine.problem = "bad answer " + std::to_string(response.status) + ": " + response.body;
          return;
        }
        if (version < mine.last_version ||
            response.headers.find("X-Config-Version: " + std::to_string(version) + "\r\n") ==
                std::string::npos) {
          mine.problem = "version went from " + std::to_string(mine.last_version) + " to " +
                         std::to_string(version);
          return;
        }
        mine.first_version = mine.first_version == 0 ? version : mine.first_version;
        mine.last_version = version;
        ++mine.answers;
      }
      mine.last_version = json_version(handle(router, "/assign?device_id=final").body);
    });
  }
  std::atomic<long> scrapes{0};
  std::atomic<bool> empty_scrape{false};
  std::thread scraper{[&] {
    while (!done.load(std::memory_order_relaxed) || scrapes.load() == 0) {
      empty_scrape = empty_scrape || f.metrics->render().empty();
      ++scrapes;
    }
  }};
  while (running.load() < kWorkers) {  // swap only while every worker answers
    std::this_thread::yield();
  }
  for (int i = 0; i < kSwaps; ++i) {
    f.apply(1 + (i + 1) % 99);  // consecutive configs always differ
  }
  done = true;
  for (auto& t : workers) {
    t.join();
  }
  scraper.join();
  CHECK(f.service->store().version() == kSwaps + 1);
  CHECK_FALSE(empty_scrape.load());
  CHECK(scrapes.load() >= 1);
  for (const Seen& s : seen) {
    INFO(s.problem);
    CHECK(s.problem.empty());
    CHECK(s.answers >= 1);
    CHECK(s.last_version == kSwaps + 1);  // every worker moves on to the last snapshot
  }
}
