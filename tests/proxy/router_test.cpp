// The router with a real Service and snapshot store, no sockets: readiness, staleness, and
// snapshots swapped thousands of times while requests run (run under ThreadSanitizer in CI).
#include <atomic>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <prometheus/registry.h>
#include <simdjson.h>

#include "cache/config_parser.hpp"
#include "proxy/router.hpp"
#include "proxy/service.hpp"

using namespace mutex_edge;
using proxy::Method;
using proxy::Request;
using proxy::Response;

namespace {

cache::ListPage page_with(int first_percentage) {
  auto page = cache::parse_list_page(
      R"({"mutexes":[{"id":1,"key":"g","bucketingKey":"device_id","bucketingSalt":"s",)"
      R"("slots":[{"index":1,"percentage":)" + std::to_string(first_percentage) +
      R"(},{"index":2,"percentage":)" + std::to_string(100 - first_percentage) + "}]}]}");
  REQUIRE(page.has_value());
  return std::move(*page);
}

struct Fixture {
  proxy::Settings settings;
  prometheus::Registry registry;
  std::unique_ptr<metrics::ProxyMetrics> metrics;
  std::unique_ptr<proxy::Service> service;

  explicit Fixture(std::size_t workers = 1, proxy::Duration staleness = proxy::Duration::zero()) {
    settings.max_staleness = staleness;
    settings.threads = workers;
    metrics = std::make_unique<metrics::ProxyMetrics>(registry, workers);
    service = std::make_unique<proxy::Service>(settings, *metrics);
  }
};

Response handle(proxy::Router& router, std::string_view target) {
  Response response;
  router.handle(Request{Method::kGet, target, {}, {}, {}, {}, {}}, response);
  return response;
}

}  // namespace

TEST_CASE("before the first snapshot /assign and /readyz answer 503 not_ready",
          "[proxy][router]") {
  Fixture f;
  proxy::Router router{*f.service, *f.metrics, f.settings, 0};
  Response assign = handle(router, "/assign?device_id=x");
  CHECK(assign.status == 503);
  CHECK_THAT(assign.body, Catch::Contains(R"("code":"not_ready")"));
  CHECK(handle(router, "/readyz").status == 503);
  CHECK(handle(router, "/healthz").status == 200);
  CHECK(handle(router, "/api/1/mutexes").status == 503);

  f.service->apply(page_with(50), "file", "test");
  CHECK(handle(router, "/assign?device_id=x").status == 200);
  CHECK(handle(router, "/readyz").status == 200);
}

TEST_CASE("a stale config turns /readyz to 503 while serving goes on", "[proxy][router]") {
  Fixture f{1, std::chrono::milliseconds{30}};
  proxy::Router router{*f.service, *f.metrics, f.settings, 0};
  f.service->apply(page_with(50), "file", "test");
  CHECK(handle(router, "/readyz").status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds{60});
  const Response ready = handle(router, "/readyz");
  CHECK(ready.status == 503);
  CHECK_THAT(ready.body, Catch::Contains("--max-staleness"));
  CHECK(handle(router, "/assign?device_id=x").status == 200);
  f.service->record_unchanged("file");  // the source confirmed the config again
  CHECK(handle(router, "/readyz").status == 200);
}

TEST_CASE("draining turns /readyz to 503", "[proxy][router]") {
  Fixture f;
  proxy::Router router{*f.service, *f.metrics, f.settings, 0};
  f.service->apply(page_with(50), "file", "test");
  f.service->begin_drain();
  CHECK(handle(router, "/readyz").status == 503);
  CHECK(handle(router, "/assign?device_id=x").status == 200);
}

TEST_CASE("snapshots swapped thousands of times while requests run",
          "[proxy][router][concurrency]") {
  constexpr std::size_t kWorkers = 3;
  Fixture f{kWorkers};
  f.service->apply(page_with(1), "file", "test");
  std::atomic<bool> done{false};
  std::atomic<long> answered{0};
  std::atomic<std::size_t> running{0};
  std::vector<std::thread> workers;
  for (std::size_t w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      proxy::Router router{*f.service, *f.metrics, f.settings, w};
      ++running;
      simdjson::dom::parser parser;
      std::uint64_t last_version = 0;
      long local = 0;
      for (int i = 0; !done.load(std::memory_order_relaxed); ++i) {
        const std::string target = "/assign?device_id=" + std::to_string(i);
        const Response response = handle(router, target);
        simdjson::dom::element json;
        if (response.status != 200 || parser.parse(response.body).get(json) != simdjson::SUCCESS) {
          FAIL("bad answer " << response.status << ": " << response.body);
        }
        const std::uint64_t version = json["version"].get_uint64().value();
        if (version < last_version ||
            response.headers.find("X-Config-Version: " + std::to_string(version) + "\r\n") ==
                std::string::npos) {
          FAIL("version went from " << last_version << " to " << version);
        }
        last_version = version;
        ++local;
      }
      answered += local;
    });
  }
  std::thread scraper{[&] {
    while (!done.load(std::memory_order_relaxed)) {
      CHECK_FALSE(f.metrics->render().empty());
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
  }};
  while (running.load() < kWorkers) {  // swap only while every worker answers
    std::this_thread::yield();
  }
  constexpr int kSwaps = 3000;
  for (int i = 0; i < kSwaps; ++i) {
    f.service->apply(page_with(1 + i % 99), "file", "test");
  }
  done = true;
  for (auto& t : workers) {
    t.join();
  }
  scraper.join();
  CHECK(answered.load() > 0);
  CHECK(f.service->store().version() > 2000);  // consecutive equal configs swap nothing
}
