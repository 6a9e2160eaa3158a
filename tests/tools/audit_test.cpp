// `mutex-edge audit`: planted mismatches and crossovers are found, a fair sample shows no sample
// ratio mismatch and a 2% skew over 100,000 users does, bad lines are reported and skipped.
#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tools/audit_command.hpp"

#include <catch2/catch.hpp>
#include <simdjson.h>

#include "cache/snapshot.hpp"
#include "tests/support/files.hpp"
#include "tests/support/groups.hpp"

using namespace mutex_edge;

namespace {

struct Run {
  int code;
  std::string out;
  std::string err;
};

Run run(std::vector<std::string> args, const std::string& input) {
  args.insert(args.begin(), "audit");
  std::vector<const char*> argv;
  for (const std::string& a : args) {
    argv.push_back(a.c_str());
  }
  std::istringstream in{input};
  std::ostringstream out, err;
  const int code =
      tools::run_audit_command(static_cast<int>(argv.size()), argv.data(), in, out, err);
  return {code, out.str(), err.str()};
}

/// The config of these tests: "a" 50/50 on device_id; "b" 20/30/50 on user_id; "c" 30/40 (30%
/// unallocated) on device_id with "vip-1" listed in slot 2.
std::vector<config::GroupConfig> groups() {
  auto a = testing::make_group(1, "a", 50, "salt-a");
  auto b = testing::make_group(2, "b", 20, "salt-b");
  b.bucketing_key = "user_id";
  b.slots[1].percentage = 30;
  b.slots.push_back({"SLOT 3", 3, "slot-3", 50, {}, {}, {}, {}});
  auto c = testing::make_group(3, "c", 30, "salt-c");
  c.slots[1].percentage = 40;
  c.slots[1].individuals = {"vip-1"};
  return {a, b, c};
}

/// The engine's slot ("slot-N" or "null") for a user of device d-<i> and user u-<i>.
class Engine {
 public:
  explicit Engine(const std::vector<config::GroupConfig>& configs) {
    std::vector<config::ConfigError> rejected;
    snapshot_ = cache::Snapshot::build(configs, 1, {"test"}, rejected);
    REQUIRE(rejected.empty());
  }
  [[nodiscard]] std::string slot(std::string_view group, const std::string& device,
                                 const std::string& user_id) const {
    eval::User user;
    user.device_id = device;
    user.user_id = user_id;
    const std::size_t pos = *snapshot_->find_key(group);
    const eval::Assignment a = snapshot_->compiled(pos).assign(user);
    if (a.slot == eval::kNoSlot) {
      return "null";
    }
    return "\"" +
           std::string{snapshot_->group(pos).slot(static_cast<std::size_t>(a.slot)).variant_key} +
           "\"";
  }
  /// Another slot of the group than `slot` (for planting).
  [[nodiscard]] static std::string other(const std::string& slot) {
    return slot == "\"slot-1\"" ? "\"slot-2\"" : "\"slot-1\"";
  }

 private:
  std::unique_ptr<const cache::Snapshot> snapshot_;
};

std::string line(const std::string& device, const std::string& user_id, std::string_view group,
                 const std::string& slot) {
  return "{\"user\":{\"device_id\":\"" + device + "\",\"user_id\":\"" + user_id +
         "\"},\"mutex\":\"" + std::string{group} + "\",\"slot\":" + slot + "}\n";
}

simdjson::dom::element group_of(simdjson::dom::element report, std::string_view key) {
  for (simdjson::dom::element g : report["groups"].get_array()) {
    if (g["mutex"].get_string().value() == key) {
      return g;
    }
  }
  FAIL("no group " << key << " in the report");
  return report;
}

}  // namespace

TEST_CASE("audit finds every planted mismatch and crossover", "[proxy][audit]") {
  testing::TempDir dir;
  const auto config = dir.write("groups.json", testing::list_json(groups()));
  const Engine engine{groups()};
  std::string input;
  std::size_t line_number = 0;
  std::map<std::string, std::vector<std::size_t>> mismatch_lines;  // by group, in order
  std::map<std::string, std::set<std::string>> crossed_users;
  std::uint64_t planted = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string device = "d-" + std::to_string(i);
    const std::string user = "u-" + std::to_string(i);
    bool planted_a = false;
    for (std::string_view g : {"a", "b", "c"}) {
      std::string slot = engine.slot(g, device, user);
      const bool plant = (i * 7919 + static_cast<int>(g[0])) % 997 == 0;
      if (plant) {
        planted_a =
            planted_a || g == "a";  // a stale SDK: the wrong slot, this user's only exposure
        slot = Engine::other(slot);
        ++planted;
        mismatch_lines[std::string{g}].push_back(line_number + 1);
      }
      input += line(device, user, g, slot);
      ++line_number;
      if (!plant && i % 3 == 0) {  // seen again, the same: not a crossover
        input += line(device, user, g, slot);
        ++line_number;
      }
    }
    if (i % 1000 == 500 &&
        !planted_a) {  // double exposure: the same user later seen in another slot of "a"
      input += line(device, user, "a", Engine::other(engine.slot("a", device, user)));
      ++line_number;
      mismatch_lines["a"].push_back(line_number);
      crossed_users["a"].insert(user);
    }
  }
  Run r = run({"--config-file", config.string(), "--json"}, input);
  INFO(r.err);
  CHECK(r.code == 1);
  simdjson::dom::parser parser;
  simdjson::dom::element report = parser.parse(r.out);
  CHECK(report["lines"].get_uint64().value() == line_number);
  CHECK(report["badLines"]["count"].get_uint64().value() == 0);
  REQUIRE(planted > 20);
  for (std::string_view g : {"a", "b", "c"}) {
    simdjson::dom::element audit = group_of(report, g);
    const auto& expected = mismatch_lines[std::string{g}];
    CHECK(audit["mismatches"]["count"].get_uint64().value() == expected.size());
    CHECK(audit["crossovers"]["count"].get_uint64().value() ==
          crossed_users[std::string{g}].size());
    CHECK(audit["distinctUsers"].get_uint64().value() == 20000);
    std::vector<std::size_t> shown;
    for (simdjson::dom::element m : audit["mismatches"]["examples"].get_array()) {
      shown.push_back(m["line"].get_uint64().value());
      CHECK(m["reason"].get_string().value().size() > 0);
    }
    REQUIRE(expected.size() >= shown.size());
    CHECK(shown ==
          std::vector<std::size_t>(expected.begin(),
                                   expected.begin() + static_cast<std::ptrdiff_t>(shown.size())));
  }
  CHECK(crossed_users["a"].size() == 20);

  // Text output says the same, and with every line agreeing the audit passes.
  Run text = run({"--config-file", config.string()}, input);
  CHECK(text.out.find("mismatches: " + std::to_string(mismatch_lines["a"].size())) !=
        std::string::npos);
  CHECK(text.out.find("crossovers: 20") != std::string::npos);
}

TEST_CASE("audit: no SRM on a fair sample, an SRM on a 2% skew over 100,000 users",
          "[proxy][audit][srm]") {
  testing::TempDir dir;
  const auto config = dir.write("groups.json", testing::list_json(groups()));
  const Engine engine{groups()};
  std::string fair, skewed;
  std::uint64_t kept[2] = {0, 0};
  for (int i = 0; i < 100000; ++i) {
    const std::string device = "d-" + std::to_string(i);
    const std::string user = "u-" + std::to_string(i);
    const std::string slot = engine.slot("a", device, user);
    fair += line(device, user, "a", slot);
    // Exposures lost in slot-2 until the split is 51/49 instead of 50/50 (1 - 49/51 of them).
    const bool lost =
        slot == "\"slot-2\"" && (static_cast<std::uint64_t>(i) * 2654435761u) % 10000 < 392;
    if (!lost) {
      skewed += line(device, user, "a", slot);
      ++kept[slot == "\"slot-1\"" ? 0 : 1];
    }
  }
  const double skew = static_cast<double>(kept[0]) / static_cast<double>(kept[0] + kept[1]);
  REQUIRE(skew > 0.505);  // about 51/49

  simdjson::dom::parser parser;
  Run r = run({"--config-file", config.string(), "--json"}, fair);
  CHECK(r.code == 0);
  simdjson::dom::element srm = group_of(parser.parse(r.out), "a")["srm"];
  const double fair_p = srm["pValue"].get_double().value();
  CHECK(srm["verdict"].get_string().value() == "ok");
  CHECK(srm["users"].get_uint64().value() == 100000);
  CHECK(srm["degreesOfFreedom"].get_uint64().value() == 1);
  CHECK(fair_p >= 0.001);

  Run s = run({"--config-file", config.string(), "--json"}, skewed);
  CHECK(s.code == 1);
  simdjson::dom::element report = parser.parse(s.out);
  simdjson::dom::element skewed_srm = group_of(report, "a")["srm"];
  const double skewed_p = skewed_srm["pValue"].get_double().value();
  CHECK(skewed_srm["verdict"].get_string().value() == "srm");
  CHECK(skewed_p < 0.001);
  CHECK(group_of(report, "a")["mismatches"]["count"].get_uint64().value() == 0);
  // chi-squared by hand from the counts, with the 50/50 shares.
  const double n = static_cast<double>(kept[0] + kept[1]);
  const double d0 = static_cast<double>(kept[0]) - n / 2;
  CHECK(skewed_srm["chiSquared"].get_double().value() ==
        Approx(2 * d0 * d0 / (n / 2)).epsilon(1e-4));
  WARN("fair sample of 100,000 users: p = " << fair_p << "; 2% skew (" << kept[0] << " / "
                                            << kept[1] << "): p = " << skewed_p);
}

TEST_CASE("audit: individuals leave the SRM test; the unallocated share counts when seen",
          "[proxy][audit][srm]") {
  testing::TempDir dir;
  const auto config = dir.write("groups.json", testing::list_json(groups()));
  const Engine engine{groups()};
  std::string with_none, slots_only;
  for (int i = 0; i < 5000; ++i) {
    const std::string device = "d-" + std::to_string(i);
    const std::string slot = engine.slot("c", device, "u");
    with_none += line(device, "u-" + std::to_string(i), "c", slot);
    if (slot != "null") {
      slots_only += line(device, "u-" + std::to_string(i), "c", slot);
    }
  }
  with_none += line("vip-1", "vip", "c", "\"slot-2\"");
  simdjson::dom::parser parser;
  Run r = run({"--config-file", config.string(), "--json"}, with_none);
  CHECK(r.code == 0);
  simdjson::dom::element srm = group_of(parser.parse(r.out), "c")["srm"];
  CHECK(srm["excluded"]["inclusion"].get_uint64().value() == 1);
  CHECK(srm["unallocatedIncluded"].get_bool().value());
  CHECK(srm["slots"].get_array().size() == 3);
  CHECK(srm["users"].get_uint64().value() == 5000);

  // Only assigned users logged: the slots' shares are taken relative to the allocated 70%.
  Run only = run({"--config-file", config.string(), "--json"}, slots_only);
  CHECK(only.code == 0);
  simdjson::dom::element srm2 = group_of(parser.parse(only.out), "c")["srm"];
  CHECK_FALSE(srm2["unallocatedIncluded"].get_bool().value());
  CHECK(srm2["slots"].get_array().size() == 2);
  CHECK(srm2["slots"].at(0)["share"].get_double().value() == Approx(3.0 / 7).margin(1e-6));
  CHECK(srm2["verdict"].get_string().value() == "ok");
}

TEST_CASE("audit: bad lines are counted with their numbers and skipped", "[proxy][audit]") {
  testing::TempDir dir;
  const auto config = dir.write("groups.json", testing::list_json(groups()));
  const Engine engine{groups()};
  const std::string good = line("d-1", "u-1", "a", engine.slot("a", "d-1", "u-1"));
  const std::string input =
      good + "not json\n" + good + "{\"user\":{\"device_id\":\"d-2\"},\"mutex\":\"a\"}\n" +
      "{\"user\":{\"device_id\":\"d-3\"},\"mutex\":\"a\",\"slot\":7}\n" +
      "{\"user\":[1],\"mutex\":\"a\",\"slot\":null}\n" + good + line("d-1", "u-1", "zzz", "null");
  Run r = run({"--config-file", config.string(), "--json"}, input);
  CHECK(r.code == 0);
  simdjson::dom::parser parser;
  simdjson::dom::element report = parser.parse(r.out);
  CHECK(report["badLines"]["count"].get_uint64().value() == 4);
  std::vector<std::uint64_t> numbers;
  for (simdjson::dom::element bad : report["badLines"]["first"].get_array()) {
    numbers.push_back(bad["line"].get_uint64().value());
  }
  CHECK(numbers == std::vector<std::uint64_t>{2, 4, 5, 6});
  CHECK(report["unknownGroups"]["keys"]["zzz"].get_uint64().value() == 1);
  CHECK(group_of(report, "a")["lines"].get_uint64().value() == 3);
}

TEST_CASE("audit reads Amplitude's exposure and assignment events", "[proxy][audit]") {
  testing::TempDir dir;
  auto configs = groups();
  configs[0].bucketing_key = "amplitude_id";  // "a" on the event's own amplitude_id
  const auto config = dir.write("groups.json", testing::list_json(configs));
  std::vector<config::ConfigError> rejected;
  auto snapshot = cache::Snapshot::build(configs, 1, {"test"}, rejected);
  std::string input;
  std::uint64_t exposures_of_a = 0;
  for (int i = 0; i < 300; ++i) {
    const std::string amplitude_id = std::to_string(1000000 + i);
    const std::string device = "d-" + std::to_string(i);
    eval::User user;
    eval::Field field{"amplitude_id", amplitude_id};
    user.fields = std::span<const eval::Field>{&field, 1};
    user.device_id = device;
    const std::string user_id = "u-" + std::to_string(i);
    user.user_id = user_id;
    auto variant = [&](std::string_view key) {
      const std::size_t pos = *snapshot->find_key(key);
      const eval::Assignment a = snapshot->compiled(pos).assign(user);
      return a.slot == eval::kNoSlot
                 ? std::string{"off"}
                 : std::string{
                       snapshot->group(pos).slot(static_cast<std::size_t>(a.slot)).variant_key};
    };
    // amplitude_id as the export writes it: a number. Other fields are not user fields.
    input += "{\"event_type\":\"$exposure\",\"amplitude_id\":" + amplitude_id +
             ",\"device_id\":\"" + device + "\",\"user_id\":\"u-" + std::to_string(i) +
             "\",\"event_time\":\"2026-01-01 00:00:00\",\"event_properties\":{\"flag_key\":\"a\","
             "\"variant\":\"" +
             variant("a") + "\"}}\n";
    ++exposures_of_a;
    input += "{\"event_type\":\"[Experiment] Assignment\",\"device_id\":\"" + device +
             "\",\"user_id\":\"u-" + std::to_string(i) + "\",\"amplitude_id\":" + amplitude_id +
             ",\"event_properties\":{\"c.variant\":\"" + variant("c") +
             "\",\"c.details\":\"v1 rule:All Other Users\",\"a.variant\":\"" + variant("a") +
             "\",\"zzz.variant\":\"on\"}}\n";
    ++exposures_of_a;
    input += "{\"event_type\":\"session_start\",\"user_id\":\"u-1\"}\n";
  }
  Run r = run({"--config-file", config.string(), "--json"}, input);
  INFO(r.out);
  CHECK(r.code == 0);
  simdjson::dom::parser parser;
  simdjson::dom::element report = parser.parse(r.out);
  CHECK(report["badLines"]["count"].get_uint64().value() == 0);
  CHECK(report["ignoredLines"].get_uint64().value() == 300);
  CHECK(report["unknownGroups"]["exposures"].get_uint64().value() == 300);
  simdjson::dom::element a = group_of(report, "a");
  CHECK(a["lines"].get_uint64().value() == exposures_of_a);
  CHECK(a["mismatches"]["count"].get_uint64().value() == 0);
  CHECK(a["distinctUsers"].get_uint64().value() == 300);
  CHECK(group_of(report, "c")["mismatches"]["count"].get_uint64().value() == 0);

  // A wrong variant is found.
  const std::string wrong =
      "{\"event_type\":\"$exposure\",\"device_id\":\"d-1\",\"amplitude_id\":1000001,"
      "\"event_properties\":{\"flag_key\":\"c\",\"variant\":\"slot-9\"}}\n";
  Run w = run({"--config-file", config.string(), "--json"}, wrong);
  CHECK(w.code == 1);
  simdjson::dom::element m = group_of(parser.parse(w.out), "c")["mismatches"]["examples"].at(0);
  CHECK(m["observed"].get_string().value() == "slot-9");
}

TEST_CASE("audit --mutex audits only the groups named; unknown names are an error",
          "[proxy][audit]") {
  testing::TempDir dir;
  const auto config = dir.write("groups.json", testing::list_json(groups()));
  const std::string input = line("d-1", "u-1", "a", "\"slot-9\"") + line("d-1", "u-1", "b", "null");
  Run r = run({"--config-file", config.string(), "--mutex", "b", "--json"}, input);
  simdjson::dom::parser parser;
  simdjson::dom::element report = parser.parse(r.out);
  CHECK(report["notAuditedExposures"].get_uint64().value() == 1);
  CHECK(report["groups"].get_array().size() == 1);
  Run bad = run({"--config-file", config.string(), "--mutex", "nope"}, input);
  CHECK(bad.code == 2);
  CHECK(bad.err.find("nope") != std::string::npos);
  Run missing = run({"--config-file", (dir.path() / "missing.json").string()}, input);
  CHECK(missing.code == 2);
}
