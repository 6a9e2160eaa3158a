#include "cache/snapshot.hpp"

#include <catch2/catch.hpp>

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
  REQUIRE(snapshot->groups().size() == 2);
  CHECK(snapshot->find_key("b") == 1u);
  CHECK(snapshot->find_id(1) == 0u);
  CHECK_FALSE(snapshot->find_key("c"));
  CHECK_FALSE(snapshot->find_id(3));
  CHECK(snapshot->compiled(0).slot_count() == 2);
}

TEST_CASE("repeated keys and ids keep the first group and report the others", "[cache][snapshot]") {
  std::vector<ConfigError> rejected;
  auto snapshot = Snapshot::build({group(1, "a"), group(2, "a"), group(1, "c"), group(3, "d")}, 1,
                                  {"test"}, rejected);
  REQUIRE(snapshot->groups().size() == 2);
  CHECK(snapshot->groups()[0].key == "a");
  CHECK(snapshot->groups()[1].key == "d");
  REQUIRE(rejected.size() == 2);
  CHECK_THAT(rejected[0].to_string(), Catch::Contains("mutexes[1]") &&
                                          Catch::Contains("field key") &&
                                          Catch::Contains("already used by group id 1"));
  CHECK_THAT(rejected[1].to_string(), Catch::Contains("mutexes[2]") && Catch::Contains("field id"));
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

TEST_CASE("fnv1a64 matches its published test vectors", "[cache][snapshot]") {
  CHECK(fnv1a64("") == 0xcbf29ce484222325ULL);
  CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(fnv1a64("foobar") == 0x85944171f73967e8ULL);
}
