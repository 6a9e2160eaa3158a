#include "wire/request_decoder.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

using namespace mutex_edge;
using wire::ErrorCode;
using wire::RequestDecoder;

namespace {

/// A document holding one user, decoded as `mutex-edge assign` decodes a line.
boost::system::result<eval::User, wire::ApiError> decode(RequestDecoder& decoder,
                                                         std::string_view json) {
  auto parsed = decoder.parse_user(json);
  if (!parsed) {
    return parsed.error();
  }
  return decoder.user(0);
}

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

TEST_CASE("a user decodes with values coerced as the reference engine does", "[proxy][decoder]") {
  RequestDecoder decoder;
  auto user = decode(
      decoder, R"({"user_id":"u-1","device_id":12345,"amplitude_id":1234567890,"country":null,)"
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

TEST_CASE("missing and null are no value, empty stays empty", "[proxy][decoder]") {
  RequestDecoder decoder;
  auto user = decode(decoder, R"({"user_id":null,"device_id":"","cohort_ids":null})");
  REQUIRE(user.has_value());
  CHECK_FALSE(user->user_id);
  CHECK(user->device_id == "");
  CHECK_FALSE(user->has_cohort_ids);
  auto empty = decode(decoder, "{}");
  REQUIRE(empty.has_value());
  CHECK_FALSE(empty->user_id);
  CHECK_FALSE(empty->device_id);
  CHECK(empty->fields.empty());
}

TEST_CASE("a decoder is reusable and every view stays valid until the next decode",
          "[proxy][decoder]") {
  RequestDecoder decoder;
  std::string json = R"({"amplitude_id":1,"a":2,"b":3,"c":4,"d":5,"e":6,"f":7,"g":8,"h":9})";
  for (int round = 0; round < 3; ++round) {
    auto user = decode(decoder, json);
    REQUIRE(user.has_value());
    REQUIRE(user->fields.size() == 9);
    for (std::size_t i = 0; i < user->fields.size(); ++i) {
      CHECK(user->fields[i].value == std::to_string(i + 1));
    }
  }
}

TEST_CASE("bad users are refused with a message saying what to fix", "[proxy][decoder]") {
  RequestDecoder decoder;
  CHECK_THAT(decode(decoder, R"({"user_id":"a",)").error().message,
             Catch::Contains("not valid JSON"));
  CHECK_THAT(decode(decoder, R"({"user_id":"a","x":tru})").error().message,
             Catch::Contains("not valid JSON"));
  CHECK_THAT(decode(decoder, "[1]").error().message, Catch::Contains("must be a JSON object"));
  CHECK_THAT(decode(decoder, R"({"user_properties":"pro"})").error().message,
             Catch::Contains("user_properties must be an object"));
  CHECK_THAT(decode(decoder, R"({"cohort_ids":"c1"})").error().message,
             Catch::Contains("cohort_ids must be an array"));
  CHECK_THAT(decode(decoder, R"({"cohort_ids":[["c1"]]})").error().message,
             Catch::Contains("cohort_ids must be an array of strings"));

  RequestDecoder small{
      {.max_document_bytes = 64, .max_fields = 2, .max_properties = 1, .max_cohorts = 1}};
  CHECK_THAT(decode(small, R"({"a":1,"b":2,"c":3})").error().message,
             Catch::Contains("more than 2 fields"));
  CHECK_THAT(decode(small, R"({"user_properties":{"a":1,"b":2}})").error().message,
             Catch::Contains("more than 1 entries"));
  CHECK_THAT(decode(small, R"({"cohort_ids":["a","b"]})").error().message,
             Catch::Contains("more than 1 entries"));
  CHECK_THAT(decode(small, std::string(100, ' ')).error().message,
             Catch::Contains("the limit is 64"));
}

TEST_CASE("a GET /assign query becomes one user, the keys and explain", "[proxy][decoder]") {
  RequestDecoder decoder;
  auto request = decoder.parse_query(
      "user_id=u%201&device_id=d&amplitude_id=42&country=NZ&gp:plan=pro&user_properties.seats=3"
      "&cohort_ids=a,,b&mutex=k1,k2&mutex=k3&explain=1");
  REQUIRE(request.has_value());
  CHECK(request->has_mutexes);
  CHECK(std::vector<std::string_view>(request->mutexes.begin(), request->mutexes.end()) ==
        std::vector<std::string_view>{"k1", "k2", "k3"});
  CHECK(request->explain);
  CHECK(request->user_count == 1);
  auto user = decoder.user(0);
  REQUIRE(user.has_value());
  CHECK(user->user_id == "u 1");
  CHECK(user->device_id == "d");
  CHECK(field(user->fields, "amplitude_id") == "42");
  CHECK(field(user->fields, "country") == "NZ");
  CHECK(field(user->properties, "plan") == "pro");
  CHECK(field(user->properties, "seats") == "3");
  CHECK(user->has_cohort_ids);
  CHECK(std::vector<std::string_view>(user->cohort_ids.begin(), user->cohort_ids.end()) ==
        std::vector<std::string_view>{"a", "b"});

  auto all = decoder.parse_query("device_id=x");
  REQUIRE(all.has_value());
  CHECK_FALSE(all->has_mutexes);
  CHECK_FALSE(all->explain);
}

TEST_CASE("a query without a user, or malformed, is refused with its code", "[proxy][decoder]") {
  RequestDecoder decoder;
  CHECK(decoder.parse_query("").error().code == ErrorCode::kEmptyUser);
  CHECK(decoder.parse_query("mutex=a&explain=1").error().code == ErrorCode::kEmptyUser);
  CHECK(decoder.parse_query("device_id=%zz").error().code == ErrorCode::kInvalidQuery);
  std::string many;
  for (int i = 0; i < 600; ++i) {
    many += "f" + std::to_string(i) + "=1&";
  }
  CHECK(decoder.parse_query(many).error().code == ErrorCode::kInvalidQuery);
}

TEST_CASE("POST bodies give their users, keys and explain, and refuse bad shapes",
          "[proxy][decoder]") {
  RequestDecoder decoder{{.max_users = 2}};
  auto one = decoder.parse_assign(R"({"user":{"device_id":"d"},"mutexes":["a"],"explain":true})");
  REQUIRE(one.has_value());
  CHECK(one->explain);
  CHECK(one->mutexes.size() == 1);
  CHECK(decoder.user(0)->device_id == "d");

  auto batch = decoder.parse_batch(R"({"users":[{"user_id":"a"},{}]})");
  REQUIRE(batch.has_value());
  CHECK(batch->user_count == 2);
  CHECK(decoder.user(0)->user_id == "a");
  CHECK(decoder.user(1).error().code == ErrorCode::kEmptyUser);

  CHECK(decoder.parse_assign("{").error().code == ErrorCode::kInvalidJson);
  CHECK(decoder.parse_assign("[]").error().code == ErrorCode::kInvalidRequest);
  CHECK(decoder.parse_assign(R"({"mutexes":[]})").error().code == ErrorCode::kInvalidRequest);
  CHECK(decoder.parse_assign(R"({"user":{},"mutexes":"a"})").error().code ==
        ErrorCode::kInvalidRequest);
  CHECK(decoder.parse_assign(R"({"user":{},"explain":"yes"})").error().code ==
        ErrorCode::kInvalidRequest);
  CHECK(decoder.parse_batch(R"({"users":[{},{},{}]})").error().code == ErrorCode::kTooManyUsers);
  CHECK(wire::status_of(ErrorCode::kTooManyUsers) == 413);
  CHECK(wire::status_of(ErrorCode::kNotReady) == 503);
  CHECK(wire::to_string(ErrorCode::kUnsupportedMediaType) == "unsupported_media_type");
}

TEST_CASE("a user beyond the last parse's users is refused, never thrown", "[proxy][decoder]") {
  RequestDecoder decoder{{.max_users = 2}};
  CHECK(decoder.user(0).error().code == ErrorCode::kInvalidRequest);  // nothing parsed yet

  REQUIRE(decoder.parse_batch(R"({"users":[{"user_id":"a"},{"user_id":"b"}]})").has_value());
  CHECK(decoder.user(1)->user_id == "b");
  CHECK(decoder.user(2).error().code == ErrorCode::kInvalidRequest);
  CHECK(decoder.user(static_cast<std::size_t>(-1)).error().code == ErrorCode::kInvalidRequest);

  CHECK(decoder.parse_batch(R"({"users":[{},{},{}]})").error().code == ErrorCode::kTooManyUsers);
  CHECK(decoder.user(0).error().code == ErrorCode::kInvalidRequest);
  CHECK(decoder.parse_assign("{").error().code == ErrorCode::kInvalidJson);
  CHECK(decoder.user(0).error().code == ErrorCode::kInvalidRequest);

  REQUIRE(decoder.parse_query("device_id=d").has_value());
  CHECK(decoder.user(0)->device_id == "d");
  CHECK(decoder.user(1).error().code == ErrorCode::kInvalidRequest);
  // A query that failed leaves no user behind (its views would name the refused query).
  CHECK(decoder.parse_query("device_id=%zz").error().code == ErrorCode::kInvalidQuery);
  CHECK(decoder.user(0).error().code == ErrorCode::kInvalidRequest);

  // An Amplitude event of another type has no user to audit.
  const auto line = decoder.parse_exposure(R"({"event_type":"page_view"})");
  REQUIRE(line.has_value());
  CHECK(line->shape == wire::ExposureLine::Shape::kOtherEvent);
  CHECK(decoder.user(0).error().code == ErrorCode::kInvalidRequest);
}
