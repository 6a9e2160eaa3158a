#include "http/query.hpp"

#include <string>

#include <catch2/catch.hpp>

using mutex_edge::http::QueryParams;

TEST_CASE("query parameters are percent-decoded with + as a space, in order", "[http][query]") {
  QueryParams query;
  std::string error;
  REQUIRE(query.parse("a=1&b=x+y&c=%E6%97%A5%20z&flag&=v&a=2", 16, error));
  const auto params = query.params();
  REQUIRE(params.size() == 6);
  CHECK(params[0].key == "a");
  CHECK(params[0].value == "1");
  CHECK(params[1].value == "x y");
  CHECK(params[2].value == "\xe6\x97\xa5 z");
  CHECK(params[3].key == "flag");
  CHECK(params[3].value.empty());
  CHECK(params[4].key.empty());
  CHECK(params[5].value == "2");

  REQUIRE(query.parse("", 16, error));
  CHECK(query.params().empty());
}

TEST_CASE("views stay valid while the query is parsed again into reused buffers", "[http][query]") {
  QueryParams query;
  std::string error;
  std::string text = "k=" + std::string(300, 'v');
  REQUIRE(query.parse(text, 4, error));
  text.assign(text.size(), '#');  // the parser kept its own copy
  CHECK(query.params()[0].value == std::string(300, 'v'));
  REQUIRE(query.parse("x=1", 4, error));
  CHECK(query.params()[0].value == "1");
}

TEST_CASE("a malformed query or too many parameters is refused with a message", "[http][query]") {
  QueryParams query;
  std::string error;
  CHECK_FALSE(query.parse("a=%zz", 16, error));
  CHECK_THAT(error, Catch::Contains("not valid"));
  CHECK_FALSE(query.parse("a=1&b=2&c=3", 2, error));
  CHECK_THAT(error, Catch::Contains("at most 2"));
}
