// The Management API's write requests decode with the same field readers as the served
// configuration, but stop at the first problem.
#include "config/requests.hpp"

#include <string>

#include <catch2/catch.hpp>

#include "config/cohorts.hpp"

using namespace mutex_edge::config;

TEST_CASE("create bodies decode with slot defaults and ids as numbers or strings",
          "[config][requests]") {
  const ConfigLimits limits;
  auto decoded = decode_create(
      R"({"projectId":"5","name":"n","id":77,"slots":[{"percentage":30,"index":9,"name":"x","experiments":["7",8]},{"percentage":70,"cohorts":["c"]}],"other":1})",
      limits);
  REQUIRE(decoded.has_value());
  const GroupConfig& group = *decoded;
  CHECK(group.id == 0);  // a created group's id is the server's to choose
  CHECK(group.project_id == 5);
  CHECK(group.key.empty());
  CHECK(group.bucketing_salt.empty());
  REQUIRE(group.slots.size() == 2);
  CHECK(group.slots[0].index == 1);  // its place, not the index given
  CHECK(group.slots[0].name == "SLOT 1");
  CHECK(group.slots[0].variant_key == "slot-1");
  CHECK(group.slots[0].experiments == std::vector<std::int64_t>{7, 8});
  CHECK(group.slots[1].index == 2);
  CHECK(group.slots[1].cohorts == std::vector<std::string>{"c"});
}

TEST_CASE("a create body stops at its first problem, which names the field", "[config][requests]") {
  ConfigLimits small;
  small.max_list_items = 2;
  small.max_string_bytes = 4;
  auto too_many = decode_create(
      R"({"projectId":1,"name":"n","slots":[{"percentage":100,"holdouts":[1,2,3]}]})", small);
  REQUIRE_FALSE(too_many.has_value());
  CHECK(too_many.error().problem == Problem::kTooManyItems);
  CHECK(too_many.error().field == "slots[0].holdouts");
  // name comes first in the document: its problem is the one reported
  auto too_long = decode_create(R"({"projectId":1,"name":"abcde","slots":[]})", small);
  REQUIRE_FALSE(too_long.has_value());
  CHECK(too_long.error().problem == Problem::kTooLong);
  CHECK(too_long.error().field_message() == "name: is 5 bytes long, at most 4 are allowed");

  const ConfigLimits limits;
  auto missing = decode_create(R"({"name":"n","slots":[{"percentage":100}]})", limits);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().problem == Problem::kMissing);
  CHECK(missing.error().field == "projectId");
  auto empty_mode =
      decode_create(R"({"projectId":1,"name":"n","evaluationMode":"","slots":[]})", limits);
  CHECK(empty_mode.error().problem == Problem::kEvaluationMode);
  CHECK(decode_create("", limits).error().problem == Problem::kNotJson);
  CHECK(decode_create("[1]", limits).error().problem == Problem::kWrongType);
  CHECK(decode_create(R"({"projectId":1,"name":"n","slots":[]})", limits).error().problem ==
        Problem::kNoSlots);
}

TEST_CASE("edits decode what they change and nothing else", "[config][requests]") {
  const ConfigLimits limits;
  auto archive = decode_group_edit(R"({"archive":true,"name":5})", limits);
  REQUIRE(archive.has_value());
  CHECK(archive->archive == true);
  CHECK_FALSE(archive->name.has_value());

  auto rename = decode_group_edit(R"({"name":"new","description":null})", limits);
  REQUIRE(rename.has_value());
  CHECK(rename->name == "new");
  REQUIRE(rename->description.has_value());  // given: null clears it to none
  CHECK_FALSE(rename->description->has_value());
  auto described = decode_group_edit(R"({"description":""})", limits);
  REQUIRE(described.has_value());
  CHECK(described->description == std::optional<std::string>{""});
  CHECK_FALSE(decode_group_edit(R"({"name":"n"})", limits)->description.has_value());
  CHECK(decode_group_edit(R"({"name":""})", limits).error().problem == Problem::kBadValue);
  CHECK(decode_group_edit(R"({"archive":"yes"})", limits).error().problem == Problem::kWrongType);

  auto slot = decode_slot_edit(R"({"experiments":null,"individuals":["a"]})", limits);
  REQUIRE(slot.has_value());
  CHECK(slot->experiments == std::vector<std::int64_t>{});
  CHECK(slot->individuals == std::vector<std::string>{"a"});
  CHECK_FALSE(slot->holdouts.has_value());
  auto bad = decode_slot_edit(R"({"individuals":["a",true]})", limits);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().field == "individuals[1]");
  CHECK(bad.error().message == "must be a string or an integer, got a boolean");
}

TEST_CASE("individuals are strings or integers kept as decimal strings", "[config][requests]") {
  const ConfigLimits limits;
  auto slot = decode_slot_edit(R"({"individuals":["a",12345,-7,9007199254740991,"12"]})", limits);
  REQUIRE(slot.has_value());
  CHECK(slot->individuals ==
        std::vector<std::string>{"a", "12345", "-7", "9007199254740991", "12"});
  auto created = decode_create(
      R"({"projectId":1,"name":"n","slots":[{"percentage":100,"individuals":[42,"x"]}]})", limits);
  REQUIRE(created.has_value());
  CHECK(created->slots[0].individuals == std::vector<std::string>{"42", "x"});
  CHECK_FALSE(created->description.has_value());  // none given: null, as the API answers it

  for (const char* refused :
       {R"([1.5])", R"([1e3])", R"([9007199254740992])", R"([-9007199254740992])",
        R"([18446744073709551615])", R"([null])", R"([{}])", R"([false])"}) {
    INFO(refused);
    auto r = decode_slot_edit(std::string{R"({"individuals":)"} + refused + "}", limits);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().field == "individuals[0]");
  }
  CHECK_THAT(decode_slot_edit(R"({"individuals":[9007199254740992]})", limits).error().message,
             Catch::Contains("send it as a string"));
  // cohorts stay strings
  CHECK(decode_slot_edit(R"({"cohorts":[1]})", limits).error().problem == Problem::kWrongType);
}

TEST_CASE("a cohort id is URL-safe as it is and never a dot segment", "[config][cohort]") {
  CHECK(valid_cohort_id("abc123"));
  CHECK(valid_cohort_id("a.b_c~d-e"));
  CHECK(valid_cohort_id(std::string(256, 'x')));
  CHECK_FALSE(valid_cohort_id(""));
  CHECK_FALSE(valid_cohort_id(std::string(257, 'x')));
  CHECK_FALSE(valid_cohort_id("a/b"));
  CHECK_FALSE(valid_cohort_id("a b"));
  CHECK_FALSE(valid_cohort_id("."));
  CHECK_FALSE(valid_cohort_id(".."));
  CHECK(valid_cohort_id("..."));
}
