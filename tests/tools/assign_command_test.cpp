#include "tools/assign_command.hpp"

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <simdjson.h>

#include "tests/support/files.hpp"
#include "tests/support/groups.hpp"
#include "tests/support/paths.hpp"

using mutex_edge::tools::run_assign_command;

namespace {

struct Run {
  int code;
  std::vector<std::string> lines;
  std::string err;
};

Run run(std::vector<std::string> args, const std::string& input) {
  args.insert(args.begin(), "assign");
  std::vector<const char*> argv;
  for (const std::string& a : args) {
    argv.push_back(a.c_str());
  }
  std::istringstream in{input};
  std::ostringstream out, err;
  const int code = run_assign_command(static_cast<int>(argv.size()), argv.data(), in, out, err);
  Run result{code, {}, err.str()};
  std::istringstream lines{out.str()};
  for (std::string line; std::getline(lines, line);) {
    result.lines.push_back(line);
  }
  return result;
}

const std::string kExample = mutex_edge::testing::source_path("examples/groups.json");

}  // namespace

TEST_CASE("assign answers one line per user for every group", "[proxy][assign]") {
  Run r = run({"--config-file", kExample},
              "{\"device_id\":\"qa-device-1\"}\n\n{\"user_id\":\"alice@example.com\"}\n");
  REQUIRE(r.code == 0);
  REQUIRE(r.lines.size() == 2);  // the blank line is skipped
  simdjson::dom::parser parser;
  simdjson::dom::element answer;
  REQUIRE(parser.parse(r.lines[0]).get(answer) == simdjson::SUCCESS);
  CHECK(answer["version"].get_uint64().value() == 1);
  CHECK(answer["assignments"]["checkout"]["slot"].get_string().value() == "slot-1");
  CHECK(answer["assignments"]["checkout"]["reason"].get_string().value() == "individual");
  CHECK(answer["assignments"]["checkout"]["index"].get_int64().value() == 1);
  CHECK(answer["assignments"]["pricing"]["slot"].is_null());
  CHECK(answer["assignments"]["pricing"]["reason"].get_string().value() == "no_bucketing_value");
  REQUIRE(parser.parse(r.lines[1]).get(answer) == simdjson::SUCCESS);
  CHECK(answer["assignments"]["pricing"]["reason"].get_string().value() == "individual");
}

TEST_CASE("assign limits groups with --mutex and lists unknown keys", "[proxy][assign]") {
  Run r = run(
      {"--config-file", kExample, "--mutex", "pricing,nope", "--mutex", "checkout", "--explain"},
      R"({"device_id":"12","user_id":"u"})");
  REQUIRE(r.code == 0);
  REQUIRE(r.lines.size() == 1);
  simdjson::dom::parser parser;
  simdjson::dom::element answer;
  REQUIRE(parser.parse(r.lines[0]).get(answer) == simdjson::SUCCESS);
  simdjson::dom::object assignments = answer["assignments"].get_object().value();
  CHECK(assignments.size() == 2);
  CHECK(answer["unknown"].at(0).get_string().value() == "nope");
  CHECK(answer["assignments"]["checkout"]["explain"]["d"].get_uint64().value() ==
        answer["assignments"]["checkout"]["explain"]["hash"].get_uint64().value() / 100);
}

TEST_CASE("assign reports a bad line and goes on", "[proxy][assign]") {
  Run r = run({"--config-file", kExample}, "{\"device_id\":\n{\"device_id\":\"x\"}\n[]\n");
  CHECK(r.code == 3);
  REQUIRE(r.lines.size() == 3);
  CHECK_THAT(r.lines[0], Catch::Contains(R"({"error":{"code":"invalid_user")"));
  CHECK_THAT(r.lines[1], Catch::StartsWith(R"({"version":1,"assignments":)"));
  CHECK_THAT(r.lines[2], Catch::Contains("must be a JSON object"));
}

TEST_CASE("assign fails clearly on a bad flag or an unusable config", "[proxy][assign]") {
  CHECK(run({}, "").code == 2);
  CHECK(run({"--frobnicate"}, "").code == 2);
  Run missing = run({"--config-file", "/nonexistent/groups.json"}, "");
  CHECK(missing.code == 1);
  CHECK_THAT(missing.err, Catch::Contains("cannot open /nonexistent/groups.json"));
}

TEST_CASE("assign takes a configuration as large as the server serves", "[proxy][assign]") {
  mutex_edge::testing::TempDir dir;
  const auto file = dir.write("groups.json", mutex_edge::testing::many_groups_json(10'001));
  Run r = run({"--config-file", file.string(), "--mutex", "g10001"}, "{\"device_id\":\"d\"}\n");
  REQUIRE(r.code == 0);
  REQUIRE(r.lines.size() == 1);
  simdjson::dom::parser parser;
  simdjson::dom::element answer;
  REQUIRE(parser.parse(r.lines[0]).get(answer) == simdjson::SUCCESS);
  CHECK(answer["assignments"]["g10001"]["reason"].get_string().value() == "bucket");
}

TEST_CASE("assign reads its own flags, never the server's MUTEX_EDGE_* variables",
          "[tools][assign]") {
  const mutex_edge::testing::TempDir dir;
  const std::string file =
      dir.write("groups.json", mutex_edge::testing::many_groups_json(2)).string();
  ::setenv("MUTEX_EDGE_CONFIG_FILE", file.c_str(), 1);
  ::setenv("MUTEX_EDGE_EXPLAIN", "true", 1);
  const Run without = run({}, "{\"device_id\": \"d\"}\n");
  const Run with = run({"--config-file", file}, "{\"device_id\": \"d\"}\n");
  ::unsetenv("MUTEX_EDGE_CONFIG_FILE");
  ::unsetenv("MUTEX_EDGE_EXPLAIN");
  CHECK(without.code == 2);
  CHECK_THAT(without.err, Catch::Contains("--config-file is required"));
  REQUIRE(with.code == 0);
  REQUIRE(with.lines.size() == 1);
  CHECK_THAT(with.lines[0], !Catch::Contains("\"explain\""));  // MUTEX_EDGE_EXPLAIN not read
}
