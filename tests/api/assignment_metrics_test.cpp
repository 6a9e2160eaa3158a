// The cardinality guard of mutex_edge_assignments_total: by slot while every group fits under
// --assignment-metrics-max-series, else by group, then the shared "(other)" series.
#include <string>

#include "api/router.hpp"
#include "serving/service.hpp"

#include <catch2/catch.hpp>
#include <simdjson.h>

#include "config/parser.hpp"
#include "tests/support/groups.hpp"

using namespace mutex_edge;

namespace {

struct Edge {
  serving::ServiceOptions settings;
  api::ApiOptions api;
  std::unique_ptr<serving::EdgeMetrics> metrics;
  std::unique_ptr<serving::Service> service;
  std::unique_ptr<api::Router> router;

  Edge(serving::AssignmentMetrics mode, std::size_t max_series) {
    settings.assignment_metrics = mode;
    settings.assignment_metrics_max_series = max_series;
    metrics = std::make_unique<serving::EdgeMetrics>(1, max_series);
    service = std::make_unique<serving::Service>(settings, *metrics);
    router = std::make_unique<api::Router>(*service, *metrics, api, 0);
  }
  void serve(int groups) {
    auto page = config::parse_list_page(testing::many_groups_json(groups));
    REQUIRE(page.has_value());
    service->apply(std::move(*page), cache::SourceKind::kFile, "test");
  }
  std::string get(std::string_view target) {
    http::Response response;
    http::Request request;
    request.target = target;
    request.method = http::Method::kGet;
    router->handle(request, response);
    return response.body;
  }
  std::uint64_t status_groups(const char* level) {
    simdjson::dom::parser parser;
    return parser.parse(get("/status"))["assignmentMetrics"]["groups"][level].get_uint64().value();
  }
};

}  // namespace

TEST_CASE("assignments are counted by slot while every group fits", "[proxy][metrics]") {
  Edge edge{serving::AssignmentMetrics::kSlot, 100};
  edge.serve(3);  // 3 groups of 2 slots: 3 x (2 + "none") + "(other)" = 10 series
  REQUIRE_THAT(edge.get("/assign?device_id=x"), Catch::Contains("\"g3\""));
  const std::string text = edge.get("/metrics");
  CHECK_THAT(text, Catch::Contains(R"(mutex_edge_assignments_total{group="g1",slot="slot-1"})"));
  CHECK_THAT(text, Catch::Contains(R"(mutex_edge_assignments_total{group="g3",slot="none"} 0)"));
  CHECK(edge.status_groups("slot") == 3);
  CHECK(edge.metrics->assignments().size() == 10);
}

TEST_CASE("beyond the cap groups are counted by group, then together", "[proxy][metrics]") {
  Edge edge{serving::AssignmentMetrics::kSlot, 8};
  edge.serve(10);  // by slot would take 31 series: by group, 7 groups fit beside "(other)"
  for (int i = 0; i < 4; ++i) {
    REQUIRE_THAT(edge.get("/assign?device_id=" + std::to_string(i)), Catch::Contains("\"g10\""));
  }
  const std::string text = edge.get("/metrics");
  CHECK_THAT(text, Catch::Contains(R"m(mutex_edge_assignments_total{group="g1",slot="(any)"} 4)m"));
  CHECK_THAT(text, Catch::Contains(R"m(mutex_edge_assignments_total{group="g7",slot="(any)"} 4)m"));
  // g8, g9 and g10 share one series: 3 groups x 4 answers.
  CHECK_THAT(text,
             Catch::Contains(R"m(mutex_edge_assignments_total{group="(other)",slot="(any)"} 12)m"));
  CHECK(text.find(R"(group="g8")") == std::string::npos);
  CHECK(edge.status_groups("group") == 7);
  CHECK(edge.status_groups("other") == 3);
  CHECK_THAT(text, Catch::Contains("mutex_edge_assignment_metric_series 8"));
  CHECK_THAT(text, Catch::Contains(R"(mutex_edge_assignment_metric_groups{level="other"} 3)"));
  CHECK(edge.metrics->assignments().size() == 8);

  edge.serve(12);  // more groups: still no more series than the cap
  CHECK(edge.metrics->assignments().size() == 8);
  CHECK(edge.status_groups("other") == 5);
}

TEST_CASE("group mode counts by group and off counts nothing", "[proxy][metrics]") {
  Edge by_group{serving::AssignmentMetrics::kGroup, 100};
  by_group.serve(2);
  (void)by_group.get("/assign?device_id=x");
  CHECK_THAT(by_group.get("/metrics"),
             Catch::Contains(R"m(mutex_edge_assignments_total{group="g2",slot="(any)"} 1)m"));
  CHECK(by_group.status_groups("group") == 2);

  Edge off{serving::AssignmentMetrics::kOff, 100};
  off.serve(2);
  (void)off.get("/assign?device_id=x");
  const std::string text = off.get("/metrics");
  CHECK(text.find(R"(group="g1")") == std::string::npos);
  CHECK_THAT(text,
             Catch::Contains(R"m(mutex_edge_assignments_total{group="(other)",slot="(any)"} 0)m"));
  CHECK(off.status_groups("off") == 2);
}
