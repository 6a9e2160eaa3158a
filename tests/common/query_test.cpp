#include "common/query.hpp"

#include <string>

#include <catch2/catch.hpp>

using mutex_edge::common::QueryParams;

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

TEST_CASE("a query with nothing to decode splits as a decoded one does", "[http][query]") {
  // The same parameters through the plain path and, with one escape added, the decoding one.
  for (const std::string suffix : {"", "&z=%41"}) {
    QueryParams query;
    std::string error;
    REQUIRE(query.parse("a=1&flag&=v&b==x&c=&&a=2&" + suffix, 16, error));
    const auto params = query.params();
    REQUIRE(params.size() == (suffix.empty() ? 8U : 9U));
    CHECK(params[0].key == "a");
    CHECK(params[0].value == "1");
    CHECK(params[1].key == "flag");
    CHECK(params[1].value.empty());
    CHECK(params[2].key.empty());
    CHECK(params[2].value == "v");
    CHECK(params[3].key == "b");
    CHECK(params[3].value == "=x");
    CHECK(params[4].key == "c");
    CHECK(params[5].key.empty());
    CHECK(params[6].value == "2");
    CHECK(params[7].key.empty());
  }
  QueryParams query;
  std::string error;
  CHECK_FALSE(query.parse("a=1&b=2&c=3", 2, error));
  CHECK(query.params().empty());
  REQUIRE(query.parse("a=1&b=2", 2, error));
  CHECK(query.params().size() == 2);
  CHECK_FALSE(query.parse("a=1&b", 1, error));
  CHECK_FALSE(query.parse("a=1&", 1, error));
  // A byte a query may not hold as it is goes to the strict parser, which refuses it.
  CHECK_FALSE(query.parse("a=1 2", 4, error));
  CHECK_FALSE(query.parse("a=\"x\"", 4, error));
}
