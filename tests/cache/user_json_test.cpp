#include <string>

#include <catch2/catch.hpp>

#include "cache/user_json.hpp"

using namespace mutex_edge;
using cache::UserDecoder;

namespace {

std::optional<std::string_view> field(std::span<const eval::Field> fields, std::string_view name) {
  for (const eval::Field& f : fields) {
    if (f.name == name) {
      return f.value;
    }
  }
  FAIL("no field " << name);
  return std::nullopt;
}

}  // namespace

TEST_CASE("a user decodes with values coerced as the reference engine does", "[cache][user]") {
  UserDecoder decoder;
  auto user = decoder.decode(
      R"({"user_id":"u-1","device_id":12345,"amplitude_id":1234567890,"country":null,)"
      R"("paying":true,"version":1.50,"library":{"a":[1, 2]},)"
      R"("user_properties":{"plan":"pro","seats":0.5,"flag":false,"big":1e21},)"
      R"("cohort_ids":["c1","",null,7]})");
  REQUIRE(user.has_value());
  CHECK(user->user_id == "u-1");
  CHECK(user->device_id == "12345");
  CHECK(field(user->fields, "amplitude_id") == "1234567890");
  CHECK(field(user->fields, "country") == std::nullopt);
  CHECK(field(user->fields, "paying") == "true");
  CHECK(field(user->fields, "version") == "1.5");
  CHECK(field(user->fields, "library") == R"({"a":[1,2]})");
  CHECK(field(user->properties, "plan") == "pro");
  CHECK(field(user->properties, "seats") == "0.5");
  CHECK(field(user->properties, "flag") == "false");
  CHECK(field(user->properties, "big") == "1e+21");
  CHECK(user->has_cohort_ids);
  REQUIRE(user->cohort_ids.size() == 2);  // empty and null entries are dropped
  CHECK(user->cohort_ids[0] == "c1");
  CHECK(user->cohort_ids[1] == "7");
}

TEST_CASE("missing and null are no value, empty stays empty", "[cache][user]") {
  UserDecoder decoder;
  auto user = decoder.decode(R"({"user_id":null,"device_id":"","cohort_ids":null})");
  REQUIRE(user.has_value());
  CHECK_FALSE(user->user_id);
  CHECK(user->device_id == "");
  CHECK_FALSE(user->has_cohort_ids);
  auto empty = decoder.decode("{}");
  REQUIRE(empty.has_value());
  CHECK_FALSE(empty->user_id);
  CHECK_FALSE(empty->device_id);
  CHECK(empty->fields.empty());
}

TEST_CASE("a decoder is reusable and every view stays valid until the next decode",
          "[cache][user]") {
  UserDecoder decoder;
  std::string json = R"({"amplitude_id":1,"a":2,"b":3,"c":4,"d":5,"e":6,"f":7,"g":8,"h":9})";
  for (int round = 0; round < 3; ++round) {
    auto user = decoder.decode(json);
    REQUIRE(user.has_value());
    REQUIRE(user->fields.size() == 9);
    for (std::size_t i = 0; i < user->fields.size(); ++i) {
      CHECK(user->fields[i].value == std::to_string(i + 1));
    }
  }
}

TEST_CASE("bad users are refused with a message saying what to fix", "[cache][user]") {
  UserDecoder decoder;
  CHECK_THAT(decoder.decode(R"({"user_id":"a",)").error().message, Catch::Contains("not valid JSON"));
  CHECK_THAT(decoder.decode(R"({"user_id":"a","x":tru})").error().message,
             Catch::Contains("not valid JSON"));
  CHECK_THAT(decoder.decode("[1]").error().message, Catch::Contains("must be a JSON object"));
  CHECK_THAT(decoder.decode(R"({"user_properties":"pro"})").error().message,
             Catch::Contains("user_properties must be an object"));
  CHECK_THAT(decoder.decode(R"({"cohort_ids":"c1"})").error().message,
             Catch::Contains("cohort_ids must be an array"));
  CHECK_THAT(decoder.decode(R"({"cohort_ids":[["c1"]]})").error().message,
             Catch::Contains("cohort_ids must be an array of strings"));

  UserDecoder small{{.max_document_bytes = 64, .max_fields = 2, .max_properties = 1, .max_cohorts = 1}};
  CHECK_THAT(small.decode(R"({"a":1,"b":2,"c":3})").error().message, Catch::Contains("more than 2 fields"));
  CHECK_THAT(small.decode(R"({"user_properties":{"a":1,"b":2}})").error().message,
             Catch::Contains("more than 1 entries"));
  CHECK_THAT(small.decode(R"({"cohort_ids":["a","b"]})").error().message,
             Catch::Contains("more than 1 entries"));
  CHECK_THAT(small.decode(std::string(100, ' ')).error().message, Catch::Contains("the limit is 64"));
}
