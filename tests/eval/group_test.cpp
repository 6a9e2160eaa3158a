#include "eval/group.hpp"

#include <array>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "eval/murmur3.hpp"

using namespace mutex_edge::eval;

namespace {

struct TestSlot {
  int index;
  int percentage;
  std::vector<std::string> individuals = {};
  std::vector<std::string> cohorts = {};
};

CompiledGroup make_group(std::string_view bucketing_key, std::string_view salt,
                         const std::vector<TestSlot>& slots) {
  std::vector<SlotDef> defs;
  for (const TestSlot& s : slots) {
    defs.push_back({s.index, s.percentage, s.individuals, s.cohorts});
  }
  return CompiledGroup::compile({bucketing_key, salt, defs});
}

User device(std::string_view id) {
  User user;
  user.device_id = id;
  return user;
}

}  // namespace

TEST_CASE("the published 40/60 split over device ids 1..100000", "[eval][group]") {
  const CompiledGroup group = make_group("device_id", "aB3dE5gH", {{1, 40}, {2, 60}});
  std::array<int, 2> counts{};
  for (int i = 1; i <= 100000; ++i) {
    const std::string id = std::to_string(i);
    const Assignment a = group.assign(device(id));
    REQUIRE(a.reason == Reason::kBucket);
    REQUIRE(a.slot >= 0);
    ++counts[static_cast<std::size_t>(a.slot)];
  }
  CHECK(counts[0] == 40330);
  CHECK(counts[1] == 59670);
}

TEST_CASE("bucketing hashes salt/value and compares d = hash/100 with the slot bounds",
          "[eval][group]") {
  const CompiledGroup group = make_group("user_id", "Q4aLkdUc", {{1, 10}, {2, 30}, {3, 60}});
  // Bounds are (C * 42949673 + 99) / 100 for the cumulative percentages 10, 40, 100.
  CHECK(group.upper_bound(0) == (10ULL * 42949673 + 99) / 100);
  CHECK(group.upper_bound(1) == (40ULL * 42949673 + 99) / 100);
  CHECK(group.upper_bound(2) == kDistributionEnd);
  CHECK(group.lower_bound(0) == 0);
  CHECK(group.lower_bound(1) == group.upper_bound(0));

  for (int i = 0; i < 2000; ++i) {
    const std::string id = "user-" + std::to_string(i);
    User user;
    user.user_id = id;
    const Assignment a = group.assign(user);
    const std::uint32_t hash = murmur3_x86_32("Q4aLkdUc/" + id);
    REQUIRE(a.hashed);
    REQUIRE(a.hash == hash);
    REQUIRE(a.d == hash / 100);
    REQUIRE(a.reason == Reason::kBucket);
    const auto pos = static_cast<std::size_t>(a.slot);
    REQUIRE(a.d < group.upper_bound(pos));
    REQUIRE(a.d >= group.lower_bound(pos));
  }
}

TEST_CASE("percentages under 100 leave users unallocated", "[eval][group]") {
  const CompiledGroup group = make_group("device_id", "s4lt", {{1, 10}, {2, 15}});
  int unallocated = 0, bucketed = 0;
  for (int i = 0; i < 4000; ++i) {
    const std::string id = std::to_string(i);
    const Assignment a = group.assign(device(id));
    if (a.reason == Reason::kUnallocated) {
      ++unallocated;
      CHECK(a.slot == kNoSlot);
      CHECK(a.d >= group.upper_bound(1));
    } else {
      ++bucketed;
      CHECK(a.reason == Reason::kBucket);
    }
  }
  CHECK(unallocated > 2700);  // about 75% of 4000
  CHECK(bucketed > 800);
}

TEST_CASE("a user without a bucketing value gets no slot", "[eval][group]") {
  const CompiledGroup group = make_group("device_id", "s", {{1, 50}, {2, 50}});
  User missing;
  CHECK(group.assign(missing).reason == Reason::kNoBucketingValue);
  CHECK(group.assign(missing).slot == kNoSlot);
  CHECK_FALSE(group.assign(missing).hashed);
  CHECK(group.assign(device("")).reason == Reason::kNoBucketingValue);
}

TEST_CASE("a single 100% slot takes everyone, with or without a bucketing value", "[eval][group]") {
  const CompiledGroup group = make_group("device_id", "s", {{1, 100}});
  for (const User& user : {User{}, device(""), device("abc")}) {
    const Assignment a = group.assign(user);
    CHECK(a.slot == 0);
    CHECK(a.reason == Reason::kAll);
  }
  // A single slot under 100% still buckets.
  const CompiledGroup partial = make_group("device_id", "s", {{1, 99}});
  CHECK(partial.assign(User{}).reason == Reason::kNoBucketingValue);
  CHECK(partial.assign(device("abc")).reason != Reason::kAll);
}

TEST_CASE("the bucketing key picks the user field", "[eval][group]") {
  const std::array<Field, 2> fields = {Field{"amplitude_id", "987"}, Field{"country", "NZ"}};
  const std::array<Field, 2> properties = {Field{"plan", "pro"}, Field{"country", "prop-NZ"}};
  User user;
  user.user_id = "u1";
  user.device_id = "d1";
  user.fields = fields;
  user.properties = properties;

  auto hash_of = [&](std::string_view key) {
    return make_group(key, "salty", {{1, 50}, {2, 50}}).assign(user).hash;
  };
  CHECK(hash_of("user_id") == murmur3_x86_32("salty/u1"));
  CHECK(hash_of("device_id") == murmur3_x86_32("salty/d1"));
  CHECK(hash_of("amplitude_id") == murmur3_x86_32("salty/987"));
  CHECK(hash_of("country") == murmur3_x86_32("salty/NZ"));   // a top-level field
  CHECK(hash_of("plan") == murmur3_x86_32("salty/pro"));     // a user property
  CHECK(hash_of("gp:plan") == murmur3_x86_32("salty/pro"));  // gp: means user_properties
  CHECK(hash_of("gp:country") == murmur3_x86_32("salty/prop-NZ"));
  CHECK(make_group("tier", "salty", {{1, 50}, {2, 50}}).assign(user).reason ==
        Reason::kNoBucketingValue);

  const std::array<Field, 1> null_field = {Field{"amplitude_id", std::nullopt}};
  User with_null;
  with_null.fields = null_field;
  CHECK(make_group("amplitude_id", "s",
                   {
                       {1, 100},
                   })
            .assign(with_null)
            .reason == Reason::kAll);
  CHECK(make_group("amplitude_id", "s", {{1, 60}, {2, 40}}).assign(with_null).reason ==
        Reason::kNoBucketingValue);
}

TEST_CASE("individuals and cohorts come first, in slot index order", "[eval][group]") {
  const CompiledGroup group = make_group("device_id", "s",
                                         {{1, 30, {"vip"}, {"c-early"}},
                                          {2, 30, {"alice", "dev-7"}, {"c-late"}},
                                          {3, 40, {"alice", "vip2"}, {"c-early"}}});

  SECTION("user_id listed in two slots: the first slot wins") {
    User user;
    user.user_id = "alice";
    const Assignment a = group.assign(user);
    CHECK(a.slot == 1);
    CHECK(a.reason == Reason::kIndividual);
    CHECK_FALSE(a.hashed);
  }
  SECTION("device_id matches individuals too") {
    const Assignment a = group.assign(device("dev-7"));
    CHECK(a.slot == 1);
    CHECK(a.reason == Reason::kIndividual);
  }
  SECTION("matching is exact and case-sensitive") {
    User user;
    user.user_id = "Alice";
    CHECK(group.assign(user).reason != Reason::kIndividual);
  }
  SECTION("a cohort in an earlier slot beats an individual in a later slot") {
    const std::array<std::string_view, 1> cohorts = {"c-early"};
    User user;
    user.user_id = "alice";
    user.has_cohort_ids = true;
    user.cohort_ids = cohorts;
    const Assignment a = group.assign(user);
    CHECK(a.slot == 0);
    CHECK(a.reason == Reason::kCohort);
  }
  SECTION("an individual in the same slot as a cohort reports individual") {
    const std::array<std::string_view, 1> cohorts = {"c-late"};
    User user;
    user.user_id = "alice";
    user.has_cohort_ids = true;
    user.cohort_ids = cohorts;
    const Assignment a = group.assign(user);
    CHECK(a.slot == 1);
    CHECK(a.reason == Reason::kIndividual);
  }
  SECTION("of several cohorts the earliest slot wins") {
    const std::array<std::string_view, 3> cohorts = {"nope", "c-late", "c-early"};
    User user;
    user.has_cohort_ids = true;
    user.cohort_ids = cohorts;
    CHECK(group.assign(user).slot == 0);
  }
}

TEST_CASE("inclusion matching follows the reference engine's quirks", "[eval][group]") {
  SECTION("\"(none)\" matches a missing user_id, device_id or cohort list") {
    const CompiledGroup group = make_group("device_id", "s", {{1, 50}, {2, 50, {"(none)"}, {}}});
    CHECK(group.assign(device("x")).slot == 1);  // user_id is missing
    User both;
    both.user_id = "u";
    both.device_id = "d";
    CHECK(group.assign(both).reason == Reason::kBucket);

    const CompiledGroup cohorts = make_group("device_id", "s", {{1, 50}, {2, 50, {}, {"(none)"}}});
    CHECK(cohorts.assign(device("x")).slot == 1);
    CHECK(cohorts.assign(device("x")).reason == Reason::kCohort);
    User with_list = device("x");
    with_list.has_cohort_ids = true;
    CHECK(cohorts.assign(with_list).reason == Reason::kBucket);
  }
  SECTION("\"true\" and \"false\" match regardless of case") {
    const CompiledGroup group = make_group("device_id", "s", {{1, 50}, {2, 50, {"TRUE"}, {}}});
    User user;
    user.user_id = "true";
    CHECK(group.assign(user).slot == 1);
    user.user_id = "tRuE";
    CHECK(group.assign(user).slot == 1);
    user.user_id = "false";
    CHECK(group.assign(user).reason != Reason::kIndividual);
  }
}

TEST_CASE("compile refuses input that validation must have rejected", "[eval][group]") {
  CHECK_THROWS_AS(make_group("device_id", "s", {}), std::invalid_argument);
  CHECK_THROWS_AS(make_group("device_id", "s", {{1, 60}, {2, 41}}), std::invalid_argument);
  CHECK_THROWS_AS(make_group("device_id", "s", {{2, 50}, {1, 50}}), std::invalid_argument);
  CHECK_THROWS_AS(make_group("device_id", "s", {{1, 0}}), std::invalid_argument);
}

TEST_CASE("reasons have stable names", "[eval][group]") {
  CHECK(to_string(Reason::kIndividual) == "individual");
  CHECK(to_string(Reason::kCohort) == "cohort");
  CHECK(to_string(Reason::kAll) == "all");
  CHECK(to_string(Reason::kBucket) == "bucket");
  CHECK(to_string(Reason::kNoBucketingValue) == "no_bucketing_value");
  CHECK(to_string(Reason::kUnallocated) == "unallocated");
}

TEST_CASE("inclusion sets find the first slot of any of many keys and keep the lists as given",
          "[eval][group][inclusions]") {
  // 20 slots of 2,000 individuals each: enough for the index to be probed past collisions.
  std::vector<TestSlot> slots;
  for (int s = 1; s <= 20; ++s) {
    TestSlot slot{s, 5};
    for (int i = 0; i < 2000; ++i) {
      slot.individuals.push_back("user-" + std::to_string(s) + "-" + std::to_string(i));
    }
    slot.individuals.push_back("shared");  // in every slot: the first one wins
    slots.push_back(std::move(slot));
  }
  const CompiledGroup group = make_group("device_id", "s", slots);
  const InclusionSet& set = group.individuals();
  for (int s = 1; s <= 20; ++s) {
    for (int i = 0; i < 2000; i += 97) {
      INFO(s << "/" << i);
      REQUIRE(set.find("user-" + std::to_string(s) + "-" + std::to_string(i)) == s - 1);
    }
  }
  CHECK(set.find("shared") == 0);
  CHECK(set.find("user-1-2000") == kNoSlot);
  CHECK(set.find("") == kNoSlot);
  CHECK(set.none_slot() == kNoSlot);
  // The lists come back in their order, duplicates included.
  REQUIRE(set.count(19) == 2001);
  CHECK(set.at(19, 0) == "user-20-0");
  CHECK(set.at(19, 2000) == "shared");
  CHECK(group.cohorts().empty());
  CHECK(group.cohorts().count(3) == 0);
  CHECK(group.memory_bytes() > 20 * 2001 * 8);  // it holds the keys
}
