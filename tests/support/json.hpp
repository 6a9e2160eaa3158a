#pragma once
// JSON reading for tests: a parsed document that owns its parser, and typed accessors that fail
// the test (REQUIRE) on a missing field or a wrong type.

#include <cstdint>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>
#include <simdjson.h>

#include "tests/support/http_client.hpp"

namespace mutex_edge::testing {

class Json {
 public:
  explicit Json(const std::string& text) {
    INFO(text);
    REQUIRE(parser_.parse(text).get(root_) == simdjson::SUCCESS);
  }
  Json(const Json&) = delete;
  Json& operator=(const Json&) = delete;

  [[nodiscard]] simdjson::dom::element root() const { return root_; }
  [[nodiscard]] simdjson::dom::element operator[](std::string_view key) const {
    simdjson::dom::element e;
    INFO(key);
    REQUIRE(root_[key].get(e) == simdjson::SUCCESS);
    return e;
  }

 private:
  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
};

inline std::string str(simdjson::dom::element e) {
  std::string_view s;
  REQUIRE(e.get_string().get(s) == simdjson::SUCCESS);
  return std::string{s};
}

inline std::int64_t num(simdjson::dom::element e) {
  std::int64_t n = 0;
  REQUIRE(e.get_int64().get(n) == simdjson::SUCCESS);
  return n;
}

/// The `error.code` of an error answer.
inline std::string error_code(const HttpResponse& response) {
  INFO(response.body);
  return str(Json{response.body}["error"]["code"]);
}

inline std::string error_message(const HttpResponse& response) {
  INFO(response.body);
  return str(Json{response.body}["error"]["message"]);
}

}  // namespace mutex_edge::testing
