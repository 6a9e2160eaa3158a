// A large configuration through the real binary: a swap of every group never delays new
// connections or /status (builds run off the accept path), and an edit of one group compiles
// one group.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <simdjson.h>

#include "tests/support/checks.hpp"
#include "tests/support/edge_process.hpp"
#include "tests/support/groups.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/timing.hpp"

using namespace mutex_edge;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr int kGroups = 10000;

/// kGroups groups of 2 slots with 20 individuals each (about 20 MB): heavy enough that a full
/// rebuild takes a while, under the sanitizers most of all.
std::string large_config(const std::string& salt_prefix, const std::string& renamed = {}) {
  std::vector<config::GroupConfig> groups = testing::many_groups(kGroups);
  for (config::GroupConfig& g : groups) {
    g.bucketing_salt = salt_prefix + std::to_string(g.id);
    for (config::SlotConfig& slot : g.slots) {
      for (int i = 0; i < 20; ++i) {
        slot.individuals.push_back("user-" + std::to_string(g.id) + "-" +
                                   std::to_string(slot.index) + "-" + std::to_string(i) +
                                   "@example.com");
      }
    }
  }
  if (!renamed.empty()) {
    groups[17].name = renamed;
  }
  return testing::list_json(groups);
}

std::uint64_t status_number(testing::HttpClient& client, const char* object, const char* field) {
  simdjson::dom::parser parser;
  std::uint64_t value = 0;
  const auto error =
      parser.parse(client.get("/status").body)[object][field].get_uint64().get(value);
  return error == simdjson::SUCCESS ? value : 0;
}

}  // namespace

TEST_CASE("a swap of a large config delays neither new connections nor /status", "[e2e][large]") {
  testing::TempDir dir;
  const auto file = dir.write("groups.json", large_config("a"));
  testing::EdgeProcess edge{
      {"--config-file", file.string(), "--config-reload-interval", "20ms", "--threads", "2"}};
  testing::HttpClient client{edge.port()};
  REQUIRE(client.get("/assign?device_id=x&mutex=g1").header("x-config-version") == "1");

  // A probe opens a new connection every 10 ms and asks for /healthz, then /status.
  struct Probe {
    Clock::time_point started;
    milliseconds took;
  };
  std::mutex mutex;
  std::vector<Probe> probes;
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::thread prober{[&] {
    while (!stop.load()) {
      const auto started = Clock::now();
      try {
        testing::HttpClient fresh{edge.port()};
        const bool ok = fresh.get("/healthz").status == 200 && fresh.get("/status").status == 200;
        failures += ok ? 0 : 1;
      } catch (const std::exception&) {
        ++failures;
      }
      const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - started);
      {
        std::lock_guard lock{mutex};
        probes.push_back({started, took});
      }
      std::this_thread::sleep_for(milliseconds{10});  // the probe's pace, not a wait
    }
  }};

  // Every group changes (new salts): the whole configuration is decoded and compiled again.
  const auto edited = Clock::now();
  dir.write("groups.json", large_config("b"));
  const bool swapped = testing::eventually(
      [&] { return client.get("/assign?device_id=x&mutex=g1").header("x-config-version") == "2"; },
      std::chrono::seconds{120});
  const auto served = Clock::now();
  stop = true;
  prober.join();
  REQUIRE(swapped);

  const auto window = std::chrono::duration_cast<milliseconds>(served - edited);
  milliseconds worst{0};
  std::size_t during = 0;
  for (const Probe& p : probes) {
    if (p.started >= edited && p.started <= served) {
      ++during;
      worst = std::max(worst, p.took);
    }
  }
  INFO("swap window " << window.count() << " ms, " << during << " probes during it, the slowest "
                      << worst.count() << " ms; the build: "
                      << status_number(client, "lastLoad", "groupsCompiled") << " compiled");
  CHECK(failures.load() == 0);
  CHECK(status_number(client, "lastLoad", "groupsCompiled") == kGroups);
  CHECK(during >= 3);
  // Were accepting or /status to wait on the build, the slowest probe would take about as long
  // as the swap. A probe takes milliseconds; the margin covers a loaded machine.
  CHECK(worst < std::max(window / 3, testing::scaled(milliseconds{250})));
}

TEST_CASE("an edit of one group in thousands compiles that group alone", "[e2e][large]") {
  testing::TempDir dir;
  const auto file = dir.write("groups.json", large_config("a"));
  testing::EdgeProcess edge{{"--config-file", file.string(), "--config-reload-interval", "20ms"}};
  testing::HttpClient client{edge.port()};
  REQUIRE(status_number(client, "lastLoad", "groupsCompiled") == kGroups);
  const double compiled_before = testing::metric(client, "mutex_edge_config_groups_compiled_total");

  dir.write("groups.json", large_config("a", "renamed"));
  REQUIRE(testing::eventually(
      [&] {
        return client.get("/healthz").header("x-config-version").empty() &&
               client.get("/assign?device_id=x&mutex=g18").header("x-config-version") == "2";
      },
      std::chrono::seconds{60}));
  CHECK(status_number(client, "lastLoad", "groupsCompiled") == 1);
  CHECK(status_number(client, "lastLoad", "groupsReused") == kGroups - 1);
  CHECK(status_number(client, "lastLoad", "groupsNotDecoded") == kGroups - 1);
  CHECK(testing::metric(client, "mutex_edge_config_groups_compiled_total") == compiled_before + 1);
  CHECK_THAT(client.get("/api/1/mutexes/18").body, Catch::Contains(R"("name":"renamed")"));
}
