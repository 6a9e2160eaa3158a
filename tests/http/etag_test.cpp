// If-None-Match against a served entity tag (RFC 9110, section 13.1.2): lists, weak tags, `*`,
// and values that match nothing.
#include "http/etag.hpp"

#include <catch2/catch.hpp>

using mutex_edge::http::etag_matches;

TEST_CASE("If-None-Match matches its one tag exactly", "[http][etag]") {
  CHECK(etag_matches(R"("a")", R"("a")"));
  CHECK(etag_matches(R"("00ff00ff00ff00ff")", R"("00ff00ff00ff00ff")"));
  CHECK_FALSE(etag_matches(R"("a")", R"("b")"));
  CHECK_FALSE(etag_matches(R"("a")", R"("ab")"));
  CHECK_FALSE(etag_matches(R"("ab")", R"("a")"));
  CHECK_FALSE(etag_matches(R"("A")", R"("a")"));  // tags are case-sensitive
  CHECK(etag_matches(" \t\"a\" \t", R"("a")"));   // OWS around the field value
}

TEST_CASE("If-None-Match lists match when any member matches", "[http][etag]") {
  CHECK(etag_matches(R"("a", "b")", R"("a")"));
  CHECK(etag_matches(R"("a", "b")", R"("b")"));
  CHECK(etag_matches(R"("a","b")", R"("b")"));
  CHECK(etag_matches("\"a\" \t,\t \"b\"", R"("b")"));
  CHECK(etag_matches(R"("x", "y", "z", "b")", R"("b")"));
  CHECK_FALSE(etag_matches(R"("a", "b")", R"("c")"));
  // Empty list elements are allowed, and skipped.
  CHECK(etag_matches(R"(, "a",, "b",)", R"("b")"));
  // A comma inside a tag is part of it.
  CHECK(etag_matches(R"("a,b")", R"("a,b")"));
  CHECK_FALSE(etag_matches(R"("a,b")", R"("a")"));
}

TEST_CASE("If-None-Match compares weakly: W/ on either side is ignored", "[http][etag]") {
  CHECK(etag_matches(R"(W/"a")", R"("a")"));
  CHECK(etag_matches(R"("a")", R"(W/"a")"));
  CHECK(etag_matches(R"(W/"a")", R"(W/"a")"));
  CHECK(etag_matches(R"("x", W/"a")", R"("a")"));
  CHECK_FALSE(etag_matches(R"(W/"b")", R"("a")"));
  CHECK_FALSE(etag_matches(R"(w/"a")", R"("a")"));  // the prefix is case-sensitive
}

TEST_CASE("If-None-Match * matches any current representation", "[http][etag]") {
  CHECK(etag_matches("*", R"("a")"));
  CHECK(etag_matches(" * ", R"(W/"a")"));
  CHECK_FALSE(etag_matches("*", ""));                // no current representation
  CHECK_FALSE(etag_matches(R"(*, "a")", R"("b")"));  // `*` stands alone, never in a list
  CHECK_FALSE(etag_matches("**", R"("a")"));
}

TEST_CASE("empty and malformed If-None-Match values match nothing", "[http][etag]") {
  CHECK_FALSE(etag_matches("", R"("a")"));
  CHECK_FALSE(etag_matches("   ", R"("a")"));
  CHECK_FALSE(etag_matches(",", R"("a")"));
  CHECK_FALSE(etag_matches(R"("a")", ""));
  CHECK_FALSE(etag_matches(R"("")", ""));
  // Unterminated, anywhere in the list: nothing matches, not even a well-formed member.
  CHECK_FALSE(etag_matches(R"(")", R"("a")"));
  CHECK_FALSE(etag_matches(R"("a)", R"("a")"));
  CHECK_FALSE(etag_matches(R"("a", "b)", R"("a")"));
  CHECK_FALSE(etag_matches(R"(W/)", R"("a")"));
  CHECK_FALSE(etag_matches(R"(W/"a)", R"("a")"));
  // Unquoted tags, tags without a comma between them, bytes an entity tag may not hold.
  CHECK_FALSE(etag_matches("a", "a"));
  CHECK_FALSE(etag_matches(R"(a, "a")", R"("a")"));
  CHECK_FALSE(etag_matches(R"("a" "b")", R"("a")"));
  CHECK_FALSE(etag_matches(R"("a"x)", R"("a")"));
  CHECK_FALSE(etag_matches(R"("a b")", R"("a b")"));
  CHECK_FALSE(etag_matches("\"a\tb\"", "\"a\tb\""));
  CHECK_FALSE(etag_matches(std::string_view{"\"a\0b\"", 5}, std::string_view{"\"a\0b\"", 5}));
  // The empty tag is a tag.
  CHECK(etag_matches(R"("")", R"("")"));
  CHECK_FALSE(etag_matches(R"("")", R"("a")"));
}
