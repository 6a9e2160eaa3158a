// Cohort membership as the assignment path holds it: 64-bit hashes of user ids.
#include "sources/cohort_download.hpp"

#include <random>
#include <string>

#include <catch2/catch.hpp>

using mutex_edge::cache::CohortMembers;
using mutex_edge::sources::parse_cohort_download;

TEST_CASE("a cohort download parses into members found by their user id", "[sources][cohort]") {
  auto parsed = parse_cohort_download(
      R"({"cohortId":"c1","groupType":"User","groupTypeId":0,"lastComputed":1700000000000,)"
      R"("lastModified":1700000000123,"size":4,"memberIds":["alice","bob",12345,"alice"]})",
      100);
  REQUIRE(parsed.has_value());
  CHECK(parsed->id == "c1");
  CHECK(parsed->group_type == "User");
  CHECK(parsed->last_modified == 1700000000123);
  CHECK(parsed->size == 4);
  CHECK(parsed->members.size() == 3);  // "alice" twice
  CHECK(parsed->members.contains(CohortMembers::key("alice")));
  CHECK(parsed->members.contains(CohortMembers::key("12345")));  // a number is its decimal text
  CHECK_FALSE(parsed->members.contains(CohortMembers::key("Alice")));
  CHECK_FALSE(parsed->members.contains(CohortMembers::key("")));
}

TEST_CASE("a cohort download that is malformed or too large is refused with a reason",
          "[sources][cohort]") {
  const auto problem = [](std::string_view body, std::size_t max = 10) {
    auto parsed = parse_cohort_download(body, max);
    REQUIRE_FALSE(parsed.has_value());
    return parsed.error();
  };
  CHECK_THAT(problem("{"), Catch::Contains("not valid JSON"));
  CHECK_THAT(problem("[]"), Catch::Contains("object"));
  CHECK_THAT(problem(R"({"memberIds":[]})"), Catch::Contains("cohortId"));
  CHECK_THAT(problem(R"({"cohortId":"c","memberIds":{}})"), Catch::Contains("memberIds"));
  CHECK_THAT(problem(R"({"cohortId":"c","memberIds":[true]})"), Catch::Contains("strings"));
  CHECK_THAT(problem(R"({"cohortId":"c","lastModified":"x","memberIds":[]})"),
             Catch::Contains("lastModified"));
  CHECK_THAT(problem(R"({"cohortId":"c","memberIds":["a","b","c"]})", 2),
             Catch::Contains("over the limit of 2"));
}

TEST_CASE("a million members give no false match among a million other ids", "[sources][cohort]") {
  // Expected false matches: 1e6 * 1e6 / 2^64, about 5e-8: any match here is a broken hash.
  std::mt19937_64 rng{42};
  CohortMembers members;
  members.reserve(1000000);
  for (int i = 0; i < 1000000; ++i) {
    members.add("member-" + std::to_string(rng()));
  }
  REQUIRE(members.size() == 1000000);
  std::size_t false_matches = 0;
  for (int i = 0; i < 1000000; ++i) {
    if (members.contains(CohortMembers::key("other-" + std::to_string(rng())))) {
      ++false_matches;
    }
  }
  CHECK(false_matches == 0);
  // About 9 to 18 bytes a member: 8-byte slots plus metadata, the table between 44% and 88% full.
  CHECK(members.memory_bytes() >= 9 * members.size());
  CHECK(members.memory_bytes() <= 20 * members.size());
}
