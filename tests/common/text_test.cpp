#include "common/text.hpp"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/file.hpp"
#include "common/json_writer.hpp"
#include "common/log.hpp"

using namespace mutex_edge::common;

TEST_CASE("the JSON escaper escapes quotes, backslashes and every control character",
          "[common][json]") {
  std::string out;
  JsonWriter::append_string(out, std::string{"a\"b\\c\n\r\t\x01\x1f\x7f d\xc3\xa9", 15});
  CHECK(out == "\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u001f\x7f d\xc3\xa9\"");
}

TEST_CASE("the JSON writer places commas and writes numbers and literals", "[common][json]") {
  std::string out;
  JsonWriter w{out};
  w.begin_object().key("a").value(1).key("b").begin_array().value(true).null().value("x");
  w.end_array().key("c").begin_object().end_object().key("d").raw("[1]").end_object();
  CHECK(out == R"({"a":1,"b":[true,null,"x"],"c":{},"d":[1]})");
  std::string negative;
  JsonWriter{negative}.value(std::int64_t{-9007199254740993});
  CHECK(negative == "-9007199254740993");
}

TEST_CASE("log values are bare when safe, otherwise JSON strings", "[common][log]") {
  CHECK(quote("plain") == "plain");
  CHECK(quote("") == "\"\"");
  CHECK(quote("two words") == "\"two words\"");
  CHECK(quote("k=v") == "\"k=v\"");
  CHECK(quote("line\nbreak\ttab") == "\"line\\nbreak\\ttab\"");
}

TEST_CASE("text helpers: excerpt, trim, iequals and lists", "[common][text]") {
  CHECK(excerpt("abc") == "\"abc\"");
  CHECK(excerpt(std::string(70, 'x'), 64) == "\"" + std::string(64, 'x') + "...\"");
  CHECK(trim(" \t a b \t") == "a b");
  CHECK(iequals("Bearer", "bEARER"));
  CHECK_FALSE(iequals("Bearer", "Bearer "));
  std::vector<std::string> items;
  for_each_item(",a,,b c,", ',', [&](std::string_view item) { items.emplace_back(item); });
  CHECK(items == std::vector<std::string>{"a", "b c"});
}

TEST_CASE("files are read up to a limit and replaced atomically", "[common][file]") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("common-file-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const auto path = dir / "sub" / "state.json";
  REQUIRE(write_file_atomically(path, "first").has_value());
  REQUIRE(write_file_atomically(path, "second, longer").has_value());
  CHECK(*read_file(path, 100) == "second, longer");
  CHECK_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  auto too_large = read_file(path, 5);
  REQUIRE_FALSE(too_large.has_value());
  CHECK_THAT(too_large.error().message, Catch::Contains("larger than the limit of 5 bytes"));
  auto missing = read_file(dir / "none", 100);
  REQUIRE_FALSE(missing.has_value());
  CHECK_THAT(missing.error().message, Catch::Contains("cannot open") && Catch::Contains("none"));
  std::filesystem::remove_all(dir);
}
