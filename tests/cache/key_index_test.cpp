#include "cache/key_index.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

using mutex_edge::cache::KeyIndex;

TEST_CASE("the key index finds every key it holds, and only those, as it grows", "[cache][keys]") {
  // Grown from empty (no reserve), through many rehashes.
  std::vector<std::string> keys;
  for (int i = 0; i < 5000; ++i) {
    keys.push_back("group-" + std::to_string(i));
  }
  KeyIndex index;
  CHECK_FALSE(index.find("group-0"));
  for (std::size_t i = 0; i < keys.size(); ++i) {
    REQUIRE_FALSE(index.insert(keys[i], i));
  }
  CHECK(index.size() == keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    REQUIRE(index.find(keys[i]) == i);
  }
  CHECK_FALSE(index.find("group-5000"));
  CHECK_FALSE(index.find(""));
  CHECK_FALSE(index.find("group-1 "));
  // A key already held keeps its position and reports it.
  CHECK(index.insert(keys[17], 99999) == 17U);
  CHECK(index.find(keys[17]) == 17U);
  CHECK(index.size() == keys.size());
  CHECK(index.memory_bytes() > 0);
}

TEST_CASE("a reserved key index takes its keys, the empty key included", "[cache][keys]") {
  KeyIndex index;
  index.reserve(3);
  const std::string a = "a";
  const std::string empty;
  const std::string long_key(1024, 'k');
  CHECK_FALSE(index.insert(a, 0));
  CHECK_FALSE(index.insert(empty, 1));
  CHECK_FALSE(index.insert(long_key, 2));
  CHECK(index.find("a") == 0U);
  CHECK(index.find("") == 1U);
  CHECK(index.find(long_key) == 2U);
  CHECK_FALSE(index.find(std::string(1023, 'k')));
}
