#include "eval/user.hpp"

#include <string>

#include <catch2/catch.hpp>

using mutex_edge::eval::format_js_number;
using mutex_edge::eval::is_top_level_user_field;
using mutex_edge::eval::kMaxJsNumberChars;

namespace {

std::string js(double value) {
  char buf[kMaxJsNumberChars];
  return std::string(buf, format_js_number(value, buf));
}

}  // namespace

TEST_CASE("numbers print as JavaScript's String(number) does", "[eval][user]") {
  CHECK(js(1234567890) == "1234567890");
  CHECK(js(0) == "0");
  CHECK(js(-0.0) == "0");
  CHECK(js(-42) == "-42");
  CHECK(js(0.5) == "0.5");
  CHECK(js(1.5) == "1.5");
  CHECK(js(100) == "100");
  CHECK(js(123.456) == "123.456");
  CHECK(js(9007199254740992.0) == "9007199254740992");
  CHECK(js(1e20) == "100000000000000000000");
  CHECK(js(1e21) == "1e+21");
  CHECK(js(1.5e300) == "1.5e+300");
  CHECK(js(0.000001) == "0.000001");
  CHECK(js(0.0000001) == "1e-7");
  CHECK(js(1.23e-18) == "1.23e-18");
  CHECK(js(0.1 + 0.2) == "0.30000000000000004");
  CHECK(js(-1.7976931348623157e308) == "-1.7976931348623157e+308");
  CHECK(js(5e-324) == "5e-324");
}

TEST_CASE("the top-level user fields are Amplitude's, everything else is a property",
          "[eval][user]") {
  CHECK(is_top_level_user_field("amplitude_id"));
  CHECK(is_top_level_user_field("country"));
  CHECK(is_top_level_user_field("device_model"));
  CHECK_FALSE(is_top_level_user_field("plan"));
  CHECK_FALSE(is_top_level_user_field("Country"));
  CHECK_FALSE(is_top_level_user_field(""));
}
