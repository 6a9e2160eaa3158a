// What a configuration change does to assignments, group by group (cache/change.hpp).
#include "integrity/change.hpp"

#include <catch2/catch.hpp>

#include "eval/impact.hpp"
#include "tests/support/groups.hpp"

using namespace mutex_edge;
using cache::Snapshot;
using integrity::ChangeKind;

namespace {

config::GroupConfig group(std::int64_t id, std::string key, int first_percentage = 50) {
  return testing::make_group(id, std::move(key), first_percentage, "salt");
}

std::unique_ptr<const Snapshot> build(std::vector<config::GroupConfig> groups,
                                      std::uint64_t version, const Snapshot* previous = nullptr) {
  std::vector<config::ConfigError> rejected;
  auto snapshot = Snapshot::build(std::move(groups), version, {"test"}, rejected, previous);
  REQUIRE(rejected.empty());
  return snapshot;
}

const integrity::GroupChange& only(const integrity::ConfigChange& change) {
  REQUIRE(change.groups.size() == 1);
  return change.groups.front();
}

}  // namespace

TEST_CASE("a percentage change moves the exact share between the slots", "[cache][change]") {
  const auto before = build({group(1, "a", 40), group(2, "b")}, 1);
  const auto after = build({group(1, "a", 50), group(2, "b")}, 2, before.get());
  const integrity::ConfigChange change = integrity::compare_snapshots(*before, *after);
  CHECK(change.from_version == 1);
  CHECK(change.to_version == 2);
  CHECK(change.unchanged == 1);
  CHECK(change.changed == 1);
  const integrity::GroupChange& a = only(change);
  CHECK(a.key == "a");
  CHECK(a.kind == ChangeKind::kChanged);
  CHECK_FALSE(a.rerandomized);
  const std::uint64_t expected =
      eval::hashes_between(eval::slot_end(40), eval::slot_end(50));  // d in [U(40), U(50))
  CHECK(a.moved_hashes == expected);
  CHECK(a.moved == Approx(0.1).margin(1e-7));
  CHECK(a.between == a.moved);
  CHECK(a.fields == std::vector<std::string_view>{"slots"});
  CHECK(change.moves_users());
}

TEST_CASE("an edit of experiments alone moves nobody", "[cache][change]") {
  auto edited = group(1, "a");
  edited.slots[0].experiments = {42, 43};
  edited.name = "renamed";
  const auto before = build({group(1, "a")}, 1);
  const auto after = build({edited}, 2, before.get());
  const integrity::ConfigChange change = integrity::compare_snapshots(*before, *after);
  const integrity::GroupChange& a = only(change);
  CHECK(a.moved == 0);
  CHECK(a.fields == std::vector<std::string_view>{"name", "experiments"});
  CHECK_FALSE(a.moves_users());
  CHECK_FALSE(change.moves_users());
}

TEST_CASE("a new salt or another bucketing key re-randomises; gp:plan is plan", "[cache][change]") {
  auto salted = group(1, "a");
  salted.bucketing_salt = "other";
  const auto before = build({group(1, "a")}, 1);
  const auto after = build({salted}, 2);
  const integrity::ConfigChange salted_change = integrity::compare_snapshots(*before, *after);
  const integrity::GroupChange& a = only(salted_change);
  CHECK(a.rerandomized);
  CHECK(a.moved == Approx(0.5).margin(1e-8));  // 1 - (0.5 * 0.5 + 0.5 * 0.5)

  auto plan = group(1, "a");
  plan.bucketing_key = "plan";
  auto gp_plan = plan;
  gp_plan.bucketing_key = "gp:plan";
  const auto on_plan = build({plan}, 3);
  const auto on_gp_plan = build({gp_plan}, 4);
  const integrity::ConfigChange same_key_change =
      integrity::compare_snapshots(*on_plan, *on_gp_plan);
  const integrity::GroupChange& same = only(same_key_change);
  CHECK_FALSE(same.rerandomized);
  CHECK(same.moved == 0);
  CHECK(same.fields == std::vector<std::string_view>{"bucketingKey"});
  const integrity::ConfigChange key_change = integrity::compare_snapshots(*before, *on_plan);
  const integrity::GroupChange& other = only(key_change);
  CHECK(other.rerandomized);
}

TEST_CASE("individuals and cohorts added, removed and moved to another slot", "[cache][change]") {
  auto old_group = group(1, "a");
  old_group.slots[0].individuals = {"u1", "u2", "u3"};
  old_group.slots[1].individuals = {"u2", "u4"};  // u2 counts in slot 1, where it is first
  old_group.slots[0].cohorts = {"c1"};
  auto new_group = old_group;
  new_group.slots[0].individuals = {"u1", "u5"};   // u2 now first in slot 2: moved; u3 removed
  new_group.slots[1].individuals = {"u2", "u3x"};  // u4 removed, u3x added
  new_group.slots[0].cohorts = {};
  new_group.slots[1].cohorts = {"c1", "c2"};  // c1 moved, c2 added
  const auto before = build({old_group}, 1);
  const auto after = build({new_group}, 2);
  const integrity::ConfigChange inclusion_change = integrity::compare_snapshots(*before, *after);
  const integrity::GroupChange& a = only(inclusion_change);
  CHECK(a.individuals.added == 2);    // u5, u3x
  CHECK(a.individuals.removed == 2);  // u3, u4
  CHECK(a.individuals.moved == 1);    // u2
  CHECK(a.cohorts.added == 1);
  CHECK(a.cohorts.removed == 0);
  CHECK(a.cohorts.moved == 1);
  CHECK(a.moved == 0);
  CHECK(a.moves_users());
}

TEST_CASE("groups added and removed; a single 100% slot moves users without a value",
          "[cache][change]") {
  const auto before = build({group(1, "a"), group(2, "b"), group(3, "c", 100)}, 1);
  const auto after = build({group(2, "b"), group(3, "c"), group(4, "d")}, 2, before.get());
  const integrity::ConfigChange change = integrity::compare_snapshots(*before, *after);
  CHECK(change.added == 1);
  CHECK(change.removed == 1);
  CHECK(change.changed == 1);
  CHECK(change.unchanged == 1);
  REQUIRE(change.groups.size() == 3);
  CHECK(change.groups[0].key == "c");
  CHECK(change.groups[0].unbucketed_moved);  // 100% -> 50/50: no slot without a value
  CHECK(change.groups[0].moved == Approx(0.5).margin(1e-7));
  CHECK(change.groups[1].key == "d");
  CHECK(change.groups[1].kind == ChangeKind::kAdded);
  CHECK(change.groups[2].key == "a");
  CHECK(change.groups[2].kind == ChangeKind::kRemoved);
  const std::unordered_set<std::string> archived = {"a"};
  CHECK(integrity::compare_snapshots(*before, *after, &archived).groups[2].kind ==
        ChangeKind::kArchived);
}

TEST_CASE("of 10,000 groups one changed: the change names that one", "[cache][change]") {
  auto groups = testing::many_groups(10000);
  const auto before = build(groups, 1);
  groups[4321].slots[0].percentage = 45;
  groups[4321].slots[1].percentage = 55;
  const auto after = build(groups, 2, before.get());
  const integrity::ConfigChange change = integrity::compare_snapshots(*before, *after);
  CHECK(change.unchanged == 9999);
  const integrity::GroupChange& g = only(change);
  CHECK(g.key == "g4322");
  CHECK(g.moved == Approx(0.05).margin(1e-7));
  const auto largest = change.largest_moves(5);
  REQUIRE(largest.size() == 1);
  CHECK(largest[0]->key == "g4322");
}
