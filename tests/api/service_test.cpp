// The served configuration's bookkeeping, read by other threads while it changes: /status and
// /metrics scraped while loads and failed polls are applied (run under ThreadSanitizer in CI).
#include "serving/service.hpp"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "api/router.hpp"

#include <catch2/catch.hpp>
#include <simdjson.h>

#include "config/parser.hpp"
#include "tests/support/groups.hpp"

using namespace mutex_edge;

namespace {

config::ListPage page_of(int first_percentage) {
  auto page = config::parse_list_page(testing::many_groups_json(3, first_percentage));
  REQUIRE(page.has_value());
  return std::move(*page);
}

http::Response get(api::Router& router, std::string_view target) {
  http::Response response;
  http::Request request;
  request.target = target;
  request.method = http::Method::kGet;
  router.handle(request, response);
  return response;
}

}  // namespace

TEST_CASE("status counts failures in a row and clears them on a load", "[proxy][service]") {
  serving::ServiceOptions settings;
  serving::EdgeMetrics metrics{1};
  serving::Service service{settings, metrics};
  service.apply(page_of(50), cache::SourceKind::kUpstream, "upstream:x");
  service.record_failure(cache::SourceKind::kUpstream, "upstream:x", "boom", "http_error");
  service.record_failure(cache::SourceKind::kUpstream, "upstream:x", "boom", "http_error");
  simdjson::dom::parser parser;
  auto status = parser.parse(service.status_json());
  CHECK(status["lastAttempt"]["consecutiveFailures"].get_uint64().value() == 2);
  CHECK(status["lastAttempt"]["result"].get_string().value() == "http_error");
  service.apply(page_of(50), cache::SourceKind::kUpstream, "upstream:x");
  status = parser.parse(service.status_json());
  CHECK(status["lastAttempt"]["consecutiveFailures"].get_uint64().value() == 0);
  CHECK(status["lastAttempt"]["result"].get_string().value() == "unchanged");
  CHECK(status["version"].get_uint64().value() == 1);
}

TEST_CASE("status and metrics scraped while loads and failed polls are applied",
          "[proxy][service][concurrency]") {
  serving::ServiceOptions settings;
  const api::ApiOptions api_options;
  serving::EdgeMetrics metrics{2};
  serving::Service service{settings, metrics};
  service.apply(page_of(50), cache::SourceKind::kUpstream, "upstream:x");
  std::atomic<bool> done{false};
  std::atomic<int> running{0};
  struct Seen {
    long scrapes = 0;
    std::string problem;
  };
  std::vector<Seen> seen(2);
  std::vector<std::thread> scrapers;
  for (std::size_t w = 0; w < 2; ++w) {
    scrapers.emplace_back([&, w] {
      api::Router router{service, metrics, api_options, w};
      simdjson::dom::parser parser;
      Seen& mine = seen[w];
      ++running;
      while (!done.load(std::memory_order_relaxed) || mine.scrapes == 0) {
        const http::Response status = get(router, "/status");
        simdjson::dom::element json;
        std::string_view result;
        std::uint64_t failures = 0;
        if (parser.parse(status.body).get(json) != simdjson::SUCCESS ||
            json["lastAttempt"]["result"].get_string().get(result) != simdjson::SUCCESS ||
            json["lastAttempt"]["consecutiveFailures"].get_uint64().get(failures) !=
                simdjson::SUCCESS) {
          mine.problem = "unreadable /status: " + status.body;
          return;
        }
        // One attempt's result and count agree: a failure counts, a load clears the count.
        const bool failed = result == "http_error";
        if (failed != (failures > 0)) {
          mine.problem = "result " + std::string{result} + " with consecutiveFailures " +
                         std::to_string(failures);
          return;
        }
        if (get(router, "/metrics").body.find("mutex_edge_config_loads_total") ==
            std::string::npos) {
          mine.problem = "no config loads in /metrics";
          return;
        }
        ++mine.scrapes;
      }
    });
  }
  while (running.load() < 2) {
    std::this_thread::yield();
  }
  for (int i = 0; i < 2000; ++i) {
    if (i % 3 == 2) {
      service.apply(page_of(1 + i % 99), cache::SourceKind::kUpstream, "upstream:x");
    } else {
      service.record_failure(cache::SourceKind::kUpstream, "upstream:x", "answered 500",
                             "http_error");
    }
  }
  done = true;
  for (auto& t : scrapers) {
    t.join();
  }
  for (const Seen& s : seen) {
    INFO(s.problem);
    CHECK(s.problem.empty());
    CHECK(s.scrapes >= 1);
  }
  CHECK_THAT(
      metrics.render(),
      Catch::Contains(R"(mutex_edge_config_loads_total{result="failure",source="upstream"} )"));
}

TEST_CASE("the propagation histogram counts a swap from the origin's fetch time",
          "[proxy][service][chain]") {
  serving::ServiceOptions settings;
  serving::EdgeMetrics metrics{1};
  serving::Service service{settings, metrics};
  const auto origin = std::chrono::system_clock::now() - std::chrono::seconds{2};
  service.apply(page_of(50), cache::SourceKind::kUpstream, "upstream:x",
                std::chrono::system_clock::now(), {}, cache::ChainOrigin{origin, 3});
  // The same content again swaps nothing and counts nothing.
  service.apply(page_of(50), cache::SourceKind::kUpstream, "upstream:x",
                std::chrono::system_clock::now(), {}, cache::ChainOrigin{origin, 3});
  const std::string text = metrics.render();
  CHECK_THAT(text, Catch::Contains("mutex_edge_config_propagation_seconds_count 1\n"));
  CHECK_THAT(text, Catch::Contains("mutex_edge_config_propagation_seconds_bucket{le=\"1\"} 0\n"));
  CHECK_THAT(text, Catch::Contains("mutex_edge_config_propagation_seconds_bucket{le=\"5\"} 1\n"));
  simdjson::dom::parser parser;
  auto status = parser.parse(service.status_json());
  CHECK(status["chain"]["depth"].get_uint64().value() == 3);
  CHECK(status["chain"]["lastPropagationSeconds"].get_double().value() >= 2.0);
  CHECK(status["chain"]["originAgeSeconds"].get_double().value() >= 2.0);
  // A persisted copy served at start is no propagation.
  serving::EdgeMetrics restarted_metrics{1};
  serving::Service restarted{settings, restarted_metrics};
  restarted.apply(page_of(50), cache::SourceKind::kPersisted, "persisted:upstream:x", origin, {},
                  cache::ChainOrigin{origin, 3});
  CHECK_THAT(restarted_metrics.render(),
             Catch::Contains("mutex_edge_config_propagation_seconds_count 0\n"));
}
