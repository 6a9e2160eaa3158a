// `mutex-edge diff OLD.json NEW.json`: the table, --json, and the exit status (0 nobody moves,
// 1 users move, 2 bad input).
#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tools/diff_command.hpp"

#include <catch2/catch.hpp>
#include <simdjson.h>

#include "eval/impact.hpp"
#include "tests/support/files.hpp"
#include "tests/support/groups.hpp"

using namespace mutex_edge;

namespace {

struct Run {
  int code;
  std::string out;
  std::string err;
};

Run run(std::vector<std::string> args) {
  args.insert(args.begin(), "diff");
  std::vector<const char*> argv;
  for (const std::string& a : args) {
    argv.push_back(a.c_str());
  }
  std::ostringstream out, err;
  const int code = tools::run_diff_command(static_cast<int>(argv.size()), argv.data(), out, err);
  return {code, out.str(), err.str()};
}

config::GroupConfig group(std::int64_t id, std::string key, int first_percentage = 50) {
  return testing::make_group(id, std::move(key), first_percentage, "salt");
}

std::size_t count_lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

TEST_CASE("diff: 40/60 to 50/50 moves 10% and exits 1", "[proxy][diff]") {
  testing::TempDir dir;
  const auto old_file =
      dir.write("old.json", testing::list_json({group(1, "a", 40), group(2, "b")}));
  const auto new_file =
      dir.write("new.json", testing::list_json({group(1, "a", 50), group(2, "b")}));
  Run r = run({old_file.string(), new_file.string(), "--json"});
  CHECK(r.code == 1);
  CHECK(r.err.empty());
  simdjson::dom::parser parser;
  simdjson::dom::element json = parser.parse(r.out);
  CHECK(json["movesUsers"].get_bool().value());
  CHECK(json["changed"].get_uint64().value() == 1);
  CHECK(json["unchanged"].get_uint64().value() == 1);
  simdjson::dom::array groups = json["groups"].get_array();
  REQUIRE(groups.size() == 1);
  simdjson::dom::element a = groups.at(0);
  CHECK(a["mutex"].get_string().value() == "a");
  CHECK(a["change"].get_string().value() == "changed");
  CHECK_FALSE(a["rerandomized"].get_bool().value());
  CHECK(a["movedHashes"].get_uint64().value() ==
        eval::hashes_between(eval::slot_end(40), eval::slot_end(50)));
  CHECK(a["movedShare"].get_double().value() == Approx(0.1).margin(1e-7));

  Run table = run({old_file.string(), new_file.string()});
  CHECK(table.code == 1);
  CHECK(table.out.find("10.0000%") != std::string::npos);
  CHECK(table.out.find("users move") != std::string::npos);
}

TEST_CASE("diff: no change, or a change that moves nobody, exits 0", "[proxy][diff]") {
  testing::TempDir dir;
  const auto old_file = dir.write("old.json", testing::list_json({group(1, "a"), group(2, "b")}));
  CHECK(run({old_file.string(), old_file.string()}).code == 0);
  auto renamed = group(1, "a");
  renamed.name = "a new name";
  renamed.slots[1].experiments = {77};
  const auto new_file = dir.write("new.json", testing::list_json({renamed, group(2, "b")}));
  Run r = run({old_file.string(), new_file.string(), "--json"});
  CHECK(r.code == 0);
  simdjson::dom::parser parser;
  simdjson::dom::element json = parser.parse(r.out);
  CHECK_FALSE(json["movesUsers"].get_bool().value());
  CHECK(json["changed"].get_uint64().value() == 1);
}

TEST_CASE("diff: a new salt says rerandomized with the expected share", "[proxy][diff]") {
  testing::TempDir dir;
  auto salted = group(1, "a", 40);
  salted.bucketing_salt = "fresh";
  const auto old_file = dir.write("old.json", testing::list_json({group(1, "a", 40)}));
  const auto new_file = dir.write("new.json", testing::list_json({salted}));
  Run r = run({old_file.string(), new_file.string(), "--json"});
  CHECK(r.code == 1);
  simdjson::dom::parser parser;
  simdjson::dom::element a = parser.parse(r.out)["groups"].at(0);
  CHECK(a["rerandomized"].get_bool().value());
  CHECK(a["movedShare"].get_double().value() == Approx(1 - (0.4 * 0.4 + 0.6 * 0.6)).margin(1e-8));
  Run table = run({old_file.string(), new_file.string()});
  CHECK(table.out.find("rerandomized") != std::string::npos);
}

TEST_CASE("diff: groups added, removed and archived", "[proxy][diff]") {
  testing::TempDir dir;
  const auto old_file =
      dir.write("old.json", testing::list_json({group(1, "a"), group(2, "b"), group(3, "c")}));
  std::string text = testing::list_json({group(2, "b"), group(3, "c"), group(4, "d")});
  const std::string key_c = "\"key\":\"c\"";
  const auto at = text.find(key_c);
  REQUIRE(at != std::string::npos);
  text.insert(at, "\"archived\":true,");
  const auto new_file = dir.write("new.json", text);
  Run r = run({old_file.string(), new_file.string(), "--json"});
  CHECK(r.code == 1);
  simdjson::dom::parser parser;
  simdjson::dom::element json = parser.parse(r.out);
  CHECK(json["added"].get_uint64().value() == 1);
  CHECK(json["removed"].get_uint64().value() == 1);
  CHECK(json["archived"].get_uint64().value() == 1);
  CHECK(json["unchanged"].get_uint64().value() == 1);
  std::map<std::string, std::string> kinds;
  for (simdjson::dom::element g : json["groups"].get_array()) {
    kinds[std::string{g["mutex"].get_string().value()}] = g["change"].get_string().value();
  }
  CHECK(kinds ==
        std::map<std::string, std::string>{{"a", "removed"}, {"c", "archived"}, {"d", "added"}});
}

TEST_CASE("diff: bad input exits 2 with one line", "[proxy][diff]") {
  testing::TempDir dir;
  const auto good = dir.write("good.json", testing::list_json({group(1, "a")}));
  const auto not_json = dir.write("bad.json", "{\"mutexes\": [");
  auto invalid_group = group(1, "a");
  invalid_group.slots[0].percentage = 70;  // 70 + 50 > 100
  const auto invalid = dir.write("invalid.json", testing::list_json({invalid_group}));
  for (const auto& args : std::vector<std::vector<std::string>>{
           {good.string(), not_json.string()},
           {good.string(), invalid.string()},
           {good.string(), (dir.path() / "missing.json").string()},
           {good.string()},
           {good.string(), good.string(), "--bogus"}}) {
    Run r = run(args);
    INFO(r.err);
    CHECK(r.code == 2);
    CHECK(count_lines(r.err) == 1);
    CHECK(r.out.empty());
  }
}
