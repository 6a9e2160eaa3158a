// On every snapshot swap: mutex_edge_config_change_moved_ratio{group}, /status lastChange and the
// groups warned about above --warn-moved-share.
#include "serving/change_impact.hpp"

#include <memory>
#include <sstream>
#include <string>

#include "serving/service.hpp"

#include <catch2/catch.hpp>
#include <simdjson.h>

#include "config/parser.hpp"
#include "tests/support/groups.hpp"

using namespace mutex_edge;

namespace {

config::ListPage page_of(const std::vector<config::GroupConfig>& groups) {
  auto page = config::parse_list_page(testing::list_json(groups));
  REQUIRE(page.has_value());
  return std::move(*page);
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("a swap sets the moved-ratio gauge, /status lastChange and a warning",
          "[proxy][service][change]") {
  serving::ServiceOptions settings;
  settings.warn_moved_share = 0.05;
  serving::EdgeMetrics metrics{1};
  serving::Service service{settings, metrics};
  auto groups = testing::many_groups(4);  // g1..g4, 50/50
  service.apply(page_of(groups), cache::SourceKind::kFile, "file:x");
  simdjson::dom::parser parser;
  CHECK(parser.parse(service.status_json())["lastChange"].is_null());
  CHECK_THAT(metrics.render(),
             !Catch::Contains("mutex_edge_config_change_moved_ratio{"));  // no change yet

  groups[0].slots[0].percentage = 40;  // g1: 10% move
  groups[0].slots[1].percentage = 60;
  groups[1].slots[0].percentage = 48;  // g2: 2% move, under the threshold
  groups[1].slots[1].percentage = 52;
  groups[2].slots[0].experiments = {99};  // g3: nobody moves
  groups.pop_back();                      // g4 removed
  service.apply(page_of(groups), cache::SourceKind::kFile, "file:x");

  const std::string text = metrics.render();
  CHECK_THAT(text, Catch::Contains("mutex_edge_config_change_moved_ratio{group=\"g1\"} 0.0999"));
  CHECK_THAT(text, Catch::Contains("mutex_edge_config_change_moved_ratio{group=\"g2\"} 0.0199"));
  CHECK_THAT(text, Catch::Contains("mutex_edge_config_change_moved_ratio{group=\"g3\"} 0"));
  CHECK_THAT(text, !Catch::Contains("mutex_edge_config_change_moved_ratio{group=\"g4\""));

  simdjson::dom::element change = parser.parse(service.status_json())["lastChange"];
  CHECK(change["fromVersion"].get_uint64().value() == 1);
  CHECK(change["toVersion"].get_uint64().value() == 2);
  CHECK(change["groupsChanged"].get_uint64().value() == 3);
  CHECK(change["groupsRemoved"].get_uint64().value() == 1);
  CHECK(change["groupsMovingUsers"].get_uint64().value() == 2);
  simdjson::dom::array largest = change["largestMoves"].get_array();
  REQUIRE(largest.size() == 3);
  CHECK(largest.at(0)["mutex"].get_string().value() == "g1");
  CHECK(largest.at(0)["movedShare"].get_double().value() == Approx(0.1).margin(1e-7));
  CHECK(largest.at(1)["mutex"].get_string().value() == "g2");

  // The next swap removes g1: its series goes; g2 and g3 keep their last change's share.
  groups.erase(groups.begin());
  service.apply(page_of(groups), cache::SourceKind::kFile, "file:x");
  const std::string after = metrics.render();
  CHECK_THAT(after, !Catch::Contains("mutex_edge_config_change_moved_ratio{group=\"g1\""));
  CHECK_THAT(after, Catch::Contains("mutex_edge_config_change_moved_ratio{group=\"g2\"}"));
  CHECK(parser.parse(service.status_json())["lastChange"]["groupsChanged"].get_uint64().value() ==
        0);
}

TEST_CASE("the groups warned about are those above --warn-moved-share", "[proxy][change]") {
  auto groups = testing::many_groups(3);
  std::vector<config::ConfigError> rejected;
  const auto before = cache::Snapshot::build(groups, 1, {"t"}, rejected);
  groups[0].slots[0].percentage = 40;  // 10%
  groups[0].slots[1].percentage = 60;
  groups[1].slots[0].percentage = 49;  // 1%
  groups[1].slots[1].percentage = 51;
  groups[2].bucketing_salt = "new";  // rerandomized: 50%
  const auto after = cache::Snapshot::build(groups, 2, {"t"}, rejected);
  const integrity::ConfigChange change = integrity::compare_snapshots(*before, *after);
  auto keys = [&](double threshold) {
    std::vector<std::string> out;
    for (const integrity::GroupChange* g : serving::above_warning(change, threshold)) {
      out.push_back(g->key);
    }
    return out;
  };
  // g2 by hand: d in [U(49), U(50)) = [21045340, 21474837), 429497 values of 100 hashes: a share
  // of 42949700 / 2^32 = 0.0100000006, just above 1% (the bounds round up).
  CHECK(keys(0.01) == std::vector<std::string>{"g1", "g2", "g3"});
  CHECK(keys(0.0100001) == std::vector<std::string>{"g1", "g3"});
  CHECK(keys(0.2) == std::vector<std::string>{"g3"});
  CHECK(keys(1).empty());
}

TEST_CASE("the moved-ratio series are bounded", "[proxy][service][change]") {
  serving::ServiceOptions settings;
  serving::EdgeMetrics metrics{1};
  serving::Service service{settings, metrics};
  const int groups = static_cast<int>(serving::kMaxMovedRatioSeries) + 200;
  service.apply(page_of(testing::many_groups(groups, 50)), cache::SourceKind::kFile, "file:x");
  service.apply(page_of(testing::many_groups(groups, 40)), cache::SourceKind::kFile, "file:x");
  CHECK(count(metrics.render(), "mutex_edge_config_change_moved_ratio{") ==
        serving::kMaxMovedRatioSeries);
}
