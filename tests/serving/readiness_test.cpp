// Readiness and the staleness limit as gauges: what the alert rules of deploy/prometheus/ read,
// so that they follow each instance's --max-staleness instead of a number of their own.
#include <chrono>
#include <string>

#include "serving/edge_metrics.hpp"
#include "serving/service.hpp"

#include <catch2/catch.hpp>

#include "config/parser.hpp"
#include "tests/support/groups.hpp"

using namespace mutex_edge;

namespace {

/// The line of `name` in the text exposition (without labels), or "".
std::string sample(const std::string& text, const std::string& name) {
  const std::size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) {
    return "";
  }
  return text.substr(at + 1, text.find('\n', at + 1) - at - 1);
}

}  // namespace

TEST_CASE("mutex_edge_ready follows readiness and the staleness limit is exported",
          "[serving][metrics]") {
  serving::ServiceOptions options;
  options.max_staleness = std::chrono::seconds{90};
  serving::EdgeMetrics metrics{1};
  serving::Service service{options, metrics};

  std::string text = metrics.render();
  CHECK(sample(text, "mutex_edge_ready") == "mutex_edge_ready 0");  // no configuration yet
  CHECK(sample(text, "mutex_edge_config_max_staleness_seconds") ==
        "mutex_edge_config_max_staleness_seconds 90");

  auto page = config::parse_list_page(testing::many_groups_json(2, 50));
  REQUIRE(page.has_value());
  service.apply(std::move(*page), cache::SourceKind::kFile, "test");
  REQUIRE(service.ready());
  CHECK(sample(metrics.render(), "mutex_edge_ready") == "mutex_edge_ready 1");

  service.begin_drain();
  CHECK(sample(metrics.render(), "mutex_edge_ready") == "mutex_edge_ready 0");
}

TEST_CASE("a configuration that never goes stale exports a staleness limit of 0",
          "[serving][metrics]") {
  serving::EdgeMetrics metrics{1};
  const serving::Service service{serving::ServiceOptions{}, metrics};
  CHECK(sample(metrics.render(), "mutex_edge_config_max_staleness_seconds") ==
        "mutex_edge_config_max_staleness_seconds 0");
}
