#include "cache/snapshot.hpp"

#include <catch2/catch.hpp>

#include "config/parser.hpp"
#include "tests/support/groups.hpp"

using namespace mutex_edge::cache;
using mutex_edge::config::ConfigError;

namespace {

mutex_edge::config::GroupConfig group(std::int64_t id, std::string key, int first_percentage = 50) {
  return mutex_edge::testing::make_group(id, std::move(key), first_percentage, "salt");
}

}  // namespace

TEST_CASE("a snapshot finds groups by key and id", "[cache][snapshot]") {
  std::vector<ConfigError> rejected;
  auto snapshot = Snapshot::build({group(1, "a"), group(2, "b")}, 7, {"test"}, rejected);
  CHECK(rejected.empty());
  CHECK(snapshot->version() == 7);
  CHECK(snapshot->origin().source == "test");
  REQUIRE(snapshot->size() == 2);
  CHECK(snapshot->find_key("b") == 1u);
  CHECK(snapshot->find_id(1) == 0u);
  CHECK_FALSE(snapshot->find_key("c"));
  CHECK_FALSE(snapshot->find_id(3));
  CHECK(snapshot->compiled(0).slot_count() == 2);
}

TEST_CASE("a large snapshot finds every key it holds, and only those", "[cache][snapshot]") {
  std::vector<ConfigError> rejected;
  auto snapshot = Snapshot::build(mutex_edge::testing::many_groups(5000), 1, {"test"}, rejected);
  REQUIRE(rejected.empty());
  REQUIRE(snapshot->size() == 5000);
  for (std::size_t i = 0; i < 5000; ++i) {
    REQUIRE(snapshot->find_key("g" + std::to_string(i + 1)) == i);
  }
  CHECK_FALSE(snapshot->find_key("g5001"));
  CHECK_FALSE(snapshot->find_key(""));
  CHECK_FALSE(snapshot->find_key("g1 "));
  CHECK_FALSE(snapshot->find_key(std::string(1024, 'k')));
  CHECK(snapshot->memory_bytes() > 0);
}

TEST_CASE("repeated keys and ids keep the first group and report the others", "[cache][snapshot]") {
  std::vector<ConfigError> rejected;
  auto snapshot = Snapshot::build({group(1, "a"), group(2, "a"), group(1, "c"), group(3, "d")}, 1,
                                  {"test"}, rejected);
  REQUIRE(snapshot->size() == 2);
  CHECK(snapshot->group(0).key() == "a");
  CHECK(snapshot->group(1).key() == "d");
  REQUIRE(rejected.size() == 2);
  CHECK_THAT(rejected[0].to_string(), Catch::StartsWith("group (id 2, key \"a\")") &&
                                          Catch::Contains("field key") &&
                                          Catch::Contains("already used by group id 1"));
  CHECK_THAT(rejected[1].to_string(),
             Catch::StartsWith("group (id 1, key \"c\")") && Catch::Contains("field id"));
}

TEST_CASE("the content hash follows the content, not the version", "[cache][snapshot]") {
  std::vector<ConfigError> rejected;
  auto a = Snapshot::build({group(1, "a")}, 1, {"x"}, rejected);
  auto same = Snapshot::build({group(1, "a")}, 2, {"y"}, rejected);
  auto changed = Snapshot::build({group(1, "a", 51)}, 1, {"x"}, rejected);
  CHECK(a->content_hash() == same->content_hash());
  CHECK(a->content_hash() != changed->content_hash());
}

TEST_CASE("groups are selected by key in the order asked, unknown keys listed",
          "[cache][snapshot]") {
  std::vector<ConfigError> rejected;
  auto snapshot =
      Snapshot::build({group(1, "a"), group(2, "b"), group(3, "c")}, 1, {"t"}, rejected);
  std::vector<std::size_t> groups;
  std::vector<std::string_view> unknown;
  snapshot->select(std::nullopt, groups, unknown);
  CHECK(groups == std::vector<std::size_t>{0, 1, 2});
  const std::vector<std::string_view> keys = {"c", "zz", "a"};
  snapshot->select(keys, groups, unknown);
  CHECK(groups == std::vector<std::size_t>{2, 0});
  CHECK(unknown == std::vector<std::string_view>{"zz"});
}

TEST_CASE("a group whose content did not change is not compiled again", "[cache][snapshot]") {
  std::vector<ConfigError> rejected;
  std::vector<mutex_edge::config::GroupConfig> groups;
  for (int i = 1; i <= 50; ++i) {
    groups.push_back(group(i, "g" + std::to_string(i)));
  }
  BuildStats first;
  auto one = Snapshot::build(groups, 1, {"t"}, rejected, nullptr, &first);
  CHECK(first.compiled == 50);
  CHECK(first.reused == 0);

  auto edited = groups;
  edited[7].slots[0].individuals.push_back("vip");  // one group changes
  edited.push_back(group(51, "g51"));               // one is added
  edited.erase(edited.begin());                     // one goes
  BuildStats second;
  auto two = Snapshot::build(edited, 2, {"t"}, rejected, one.get(), &second);
  CHECK(second.compiled == 2);
  CHECK(second.reused == 48);
  // The same entries, not copies: nothing of an unchanged group is built twice.
  CHECK(&two->group(two->find_key("g2").value()) == &one->group(one->find_key("g2").value()));
  CHECK(&two->group(two->find_key("g8").value()) != &one->group(one->find_key("g8").value()));
  CHECK(two->group(two->find_key("g8").value()).compiled().individuals().find("vip") == 0);
  CHECK(rejected.empty());

  BuildStats third;
  auto three = Snapshot::build(edited, 3, {"t"}, rejected, two.get(), &third);
  CHECK(third.compiled == 0);
  CHECK(three->content_hash() == two->content_hash());
}

TEST_CASE("an entry gives back the group exactly as configured", "[cache][snapshot]") {
  mutex_edge::config::GroupConfig g = group(9, "full", 30);
  g.name = "Name \u00e9";
  g.description = "about it";
  g.slots[0].individuals = {"a", "TRUE", "(none)", "a"};
  g.slots[1].cohorts = {"c1", "c2"};
  g.slots[1].holdouts = {5, 6};
  const GroupEntry entry{g, content_hash(g)};
  CHECK(entry.to_config() == g);
  CHECK(entry.same_content(g));
  auto other = g;
  other.slots[1].holdouts.pop_back();
  CHECK_FALSE(entry.same_content(other));
  CHECK(content_hash(other) != content_hash(g));
  CHECK(entry.slot(1).holdouts == "[5,6]");  // kept as the JSON answers write
  // Every id comes back, the largest included; an empty list is "[]".
  auto ids = g;
  ids.slots[0].experiments = {0, 9223372036854775807, 42};
  ids.slots[1].holdouts.clear();
  const GroupEntry with_ids{ids, content_hash(ids)};
  CHECK(with_ids.slot(0).experiments == "[0,9223372036854775807,42]");
  CHECK(with_ids.slot(1).holdouts == "[]");
  CHECK(with_ids.to_config() == ids);
  CHECK(with_ids.same_content(ids));
  CHECK_FALSE(with_ids.same_content(g));
  CHECK(entry.memory_bytes() > 0);
}

TEST_CASE("a group without a description keeps it null, with a hash of its own",
          "[cache][snapshot]") {
  mutex_edge::config::GroupConfig none = group(9, "pinned", 30);
  none.description.reset();
  const GroupEntry entry{none, content_hash(none)};
  CHECK_FALSE(entry.description().has_value());
  CHECK(entry.to_config() == none);
  CHECK(entry.same_content(none));
  auto empty = none;
  empty.description = "";
  CHECK_FALSE(entry.same_content(empty));
  CHECK(content_hash(empty) != content_hash(none));
  const GroupEntry empty_entry{empty, content_hash(empty)};
  CHECK(empty_entry.description() == std::optional<std::string_view>{""});
  CHECK(empty_entry.to_config() == empty);
  CHECK_FALSE(empty_entry.same_content(none));
  // A group with a description hashes as it did before null existed (ETags stay as they were).
  CHECK(content_hash(empty) == 0xcbd5ff91162caf4bULL);
  empty.description = "about it";
  CHECK(content_hash(empty) == 0x89fb198d49205c24ULL);
}

TEST_CASE("a served group in other JSON is decoded but not compiled, then known by that JSON",
          "[cache][snapshot]") {
  using mutex_edge::config::parse_list_page;
  const std::string json =
      mutex_edge::testing::list_json({group(1, "a"), group(2, "b"), group(3, "c")});
  // The same three groups, the second with a field the model ignores: other JSON, equal content.
  std::string reformatted = json;
  const auto at = reformatted.find("{\"id\":2,");
  REQUIRE(at != std::string::npos);
  reformatted.insert(at + 1, "\"createdAt\":\"2026-12-01\",");
  std::vector<ConfigError> rejected;
  const Snapshot* served = nullptr;
  mutex_edge::config::ParseOptions options;
  options.known = [&](const mutex_edge::common::Digest& d) { return served && served->knows(d); };

  auto page = parse_list_page(json, options);
  REQUIRE(page.has_value());
  auto one = Snapshot::build(*page, 1, {"t"}, rejected);
  served = one.get();

  page = parse_list_page(reformatted, options);
  REQUIRE(page.has_value());
  CHECK(page->known.size() == 2);
  CHECK(page->groups.size() == 1);
  BuildStats second;
  auto two = Snapshot::build(*page, 2, {"t"}, rejected, one.get(), &second);
  CHECK(second.compiled == 0);
  CHECK(second.reused == 3);
  CHECK(&two->group(1) == &one->group(1));
  served = two.get();

  page = parse_list_page(reformatted, options);
  REQUIRE(page.has_value());
  CHECK(page->known.size() == 3);
  BuildStats third;
  auto three = Snapshot::build(*page, 3, {"t"}, rejected, two.get(), &third);
  CHECK(third.known == 3);
  CHECK(three->content_hash() == one->content_hash());
  CHECK(rejected.empty());
}
