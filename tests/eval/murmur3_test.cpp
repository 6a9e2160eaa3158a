#include "eval/murmur3.hpp"

#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>
#include <simdjson.h>

#include "tests/support/paths.hpp"

using mutex_edge::eval::murmur3_x86_32;
using mutex_edge::eval::Murmur3Stream;

namespace {

std::string read_vectors() {
  std::ifstream in{mutex_edge::testing::source_path("tests/data/murmur_vectors.json")};
  REQUIRE(in);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string{hex.substr(i, 2)}, nullptr, 16)));
  }
  return out;
}

}  // namespace

TEST_CASE("murmur3 matches every reference vector", "[eval][murmur3]") {
  const std::string json = read_vectors();
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  REQUIRE(parser.parse(json).get(root) == simdjson::SUCCESS);
  simdjson::dom::array vectors;
  REQUIRE(root["vectors"].get_array().get(vectors) == simdjson::SUCCESS);
  REQUIRE(vectors.size() >= 20);
  for (simdjson::dom::element vector : vectors) {
    std::string_view input, utf8_hex;
    std::uint64_t expected = 0, distribution = 0;
    REQUIRE(vector["input"].get_string().get(input) == simdjson::SUCCESS);
    REQUIRE(vector["utf8_hex"].get_string().get(utf8_hex) == simdjson::SUCCESS);
    REQUIRE(vector["murmur3_x86_32_seed0"].get_uint64().get(expected) == simdjson::SUCCESS);
    REQUIRE(vector["distribution_value"].get_uint64().get(distribution) == simdjson::SUCCESS);
    INFO("input: " << input);
    CHECK(from_hex(utf8_hex) == std::string{input});
    CHECK(murmur3_x86_32(input) == expected);
    CHECK(murmur3_x86_32(input) / 100 == distribution);
  }
  // The one edge case: bytes a JavaScript engine makes of a lone surrogate.
  simdjson::dom::array edges;
  REQUIRE(root["edge_cases"].get_array().get(edges) == simdjson::SUCCESS);
  for (simdjson::dom::element edge : edges) {
    std::string_view hex;
    std::uint64_t expected = 0;
    REQUIRE(edge["js_engine_bytes_hex"].get_string().get(hex) == simdjson::SUCCESS);
    REQUIRE(edge["murmur3_x86_32_seed0"].get_uint64().get(expected) == simdjson::SUCCESS);
    CHECK(murmur3_x86_32(from_hex(hex)) == expected);
  }
}

TEST_CASE("murmur3 streamed in pieces equals the one-shot hash", "[eval][murmur3]") {
  const std::string input = "salt/日本語ユーザー-🎉-0123456789abcdef";
  const std::uint32_t whole = murmur3_x86_32(input);
  for (std::size_t a = 0; a <= input.size(); ++a) {
    for (std::size_t b = a; b <= input.size(); b += 3) {
      Murmur3Stream stream;
      stream.update(std::string_view{input}.substr(0, a));
      stream.update(std::string_view{input}.substr(a, b - a));
      stream.update(std::string_view{input}.substr(b));
      INFO("split at " << a << " and " << b);
      REQUIRE(stream.finish() == whole);
    }
  }
}

TEST_CASE("murmur3 honours its seed", "[eval][murmur3]") {
  CHECK(murmur3_x86_32("abc", 1) != murmur3_x86_32("abc", 0));
  Murmur3Stream stream{1};
  stream.update("abc");
  CHECK(stream.finish() == murmur3_x86_32("abc", 1));
}
