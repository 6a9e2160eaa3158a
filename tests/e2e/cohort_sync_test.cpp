// Cohort sync against the real binaries: mutex-mgmt serves groups whose slots reference cohorts
// and those cohorts (Amplitude's cohort download API); mutex-edge syncs both, fills the cohorts
// of a user with a user_id itself, follows membership edits, keeps the last good members through
// a 413 and a 500, and serves the cohorts again at /sdk/v1/cohort/{id}.
#include <fstream>
#include <set>

#include <signal.h>

#include "tests/e2e/mgmt_helpers.hpp"
#include "tests/support/files.hpp"
#include "tests/support/groups.hpp"

using namespace mutex_edge;
using namespace mutex_edge::testing;

namespace {

constexpr const char* kSecret = "cohort-secret-e2e-91b3";
constexpr int kUsers = 10000;

Headers basic() {
  return {{"Authorization", "Basic " + base64(std::string{kKey} + ":" + kSecret)},
          {"Content-Type", "application/json"}};
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out{path, std::ios::binary};
  out << text;
  REQUIRE(out.good());
}

std::string user_id(int i) {
  return "user-" + std::to_string(i);
}

/// Members `from`..`to` (exclusive) as a JSON array.
std::string members(int from, int to) {
  std::string out = "[";
  for (int i = from; i < to; ++i) {
    out += (i == from ? "\"" : ",\"") + user_id(i) + "\"";
  }
  return out + "]";
}

/// Three groups: "vip-first" (slot 1 includes cohort vips), "beta-second" (slot 2 includes beta,
/// slot 1 vips), and "plain" (no cohorts).
std::vector<config::GroupConfig> groups() {
  std::vector<config::GroupConfig> out = {make_group(1, "vip-first", 50, "s1"),
                                          make_group(2, "beta-second", 30, "s2"),
                                          make_group(3, "plain", 50, "s3")};
  out[0].slots[0].cohorts = {"vips"};
  out[1].slots[1].cohorts = {"beta"};
  out[1].slots[0].cohorts = {"vips", "never-downloaded-cohort"};
  return out;
}

/// The cohorts of user i that the seed lists: vips 0..4999, beta 3000..7999.
std::vector<std::string> cohorts_of(int i, int vips_end = 5000) {
  std::vector<std::string> out;
  if (i < vips_end) {
    out.emplace_back("vips");
  }
  if (i >= 3000 && i < 8000) {
    out.emplace_back("beta");
  }
  return out;
}

/// Users 0..kUsers-1: every fifth without a user_id (device only), so it has no synced cohort.
std::string users_json(bool with_cohorts, int vips_end = 5000) {
  std::string out = "[";
  for (int i = 0; i < kUsers; ++i) {
    out += i == 0 ? "{" : ",{";
    out += "\"device_id\":\"device-" + std::to_string(i) + "\"";
    const bool has_id = i % 5 != 4;
    if (has_id) {
      out += ",\"user_id\":\"" + user_id(i) + "\"";
    }
    if (with_cohorts && has_id) {
      out += ",\"cohort_ids\":[";
      const auto cohorts = cohorts_of(i, vips_end);
      for (std::size_t k = 0; k < cohorts.size(); ++k) {
        out += (k == 0 ? "\"" : ",\"") + cohorts[k] + "\"";
      }
      out += "]";
    }
    out += "}";
  }
  return out + "]";
}

/// The (slot, reason) of every user in every group, from one /assign/batch per 1,000 users.
std::vector<std::string> answers(HttpClient& edge, const std::string& users) {
  std::vector<std::string> out;
  Json all{users};
  const simdjson::dom::array list = all.root().get_array();
  std::string batch = "[";
  std::size_t n = 0;
  auto flush = [&] {
    const HttpResponse r = edge.post("/assign/batch", "{\"users\":" + batch + "]}");
    REQUIRE(r.status == 200);
    Json body{r.body};
    for (simdjson::dom::element result : body["results"].get_array()) {
      for (const char* group : {"vip-first", "beta-second", "plain"}) {
        const simdjson::dom::element a = result["assignments"][group];
        out.push_back(std::string{group} + ":" + (a["slot"].is_null() ? "-" : str(a["slot"])) +
                      ":" + str(a["reason"]));
      }
    }
    batch = "[";
  };
  for (simdjson::dom::element user : list) {
    batch += (batch.size() == 1 ? "" : ",") + simdjson::to_string(user);
    if (++n % 1000 == 0) {
      flush();
    }
  }
  if (batch.size() > 1) {
    flush();
  }
  return out;
}

std::string slot_of(HttpClient& edge, int user, const char* group) {
  const HttpResponse r = edge.get("/assign?user_id=" + user_id(user) + "&mutex=" + group);
  if (r.status != 200) {
    return "status " + std::to_string(r.status);
  }
  Json body{r.body};
  const simdjson::dom::element a = body["assignments"][group];
  return (a["slot"].is_null() ? std::string{"-"} : str(a["slot"])) + ":" + str(a["reason"]);
}

}  // namespace

TEST_CASE("mutex-edge syncs the cohorts that served slots reference and fills users' cohorts",
          "[e2e][cohort]") {
  TempDir dir;
  const auto groups_file = dir.path() / "groups.json";
  write_text(groups_file, list_json(groups()));
  const auto cohorts_file = dir.path() / "cohorts.json";
  write_text(cohorts_file, R"({"cohorts":[{"cohortId":"vips","memberIds":)" + members(0, 5000) +
                               R"(},{"cohortId":"beta","memberIds":)" + members(3000, 8000) +
                               R"(},{"cohortId":"unreferenced","memberIds":["user-1"]}]})");
  Env mgmt_env = keys_env();
  mgmt_env.emplace_back("MUTEX_MGMT_COHORT_SECRET", kSecret);
  const std::string db = (dir.path() / "mgmt.sqlite3").string();
  auto mgmt = std::make_unique<MgmtProcess>(
      std::vector<std::string>{"--db", db, "--seed", groups_file.string(), "--cohorts-seed",
                               cohorts_file.string()},
      mgmt_env);
  const std::uint16_t mgmt_port = mgmt->port();
  const std::string mgmt_url = "http://127.0.0.1:" + std::to_string(mgmt_port);
  HttpClient cohort_client{mgmt_port};

  Env edge_env = {{"MUTEX_EDGE_API_KEY", kKey},
                  {"MUTEX_EDGE_COHORT_API_KEY", kKey},
                  {"MUTEX_EDGE_COHORT_SECRET_KEY", kSecret}};
  EdgeProcess edge_process{
      fast_polling(mgmt_url, {"--cohort-server", mgmt_url, "--cohort-poll-interval", "200ms",
                              "--max-cohort-size", "6000", "--serve-cohorts", "--state-dir",
                              (dir.path() / "edge").string()}),
      edge_env};
  HttpClient edge{edge_process.port()};
  REQUIRE(eventually([&] {
    const HttpResponse status = edge.get("/status");
    return status.status == 200 &&
           status.body.find(R"("id":"vips","status":"ready")") != std::string::npos &&
           status.body.find(R"("id":"beta","status":"ready")") != std::string::npos;
  }));
  {
    const std::string status = edge.get("/status").body;
    INFO(status);
    // Referenced but unknown to the server: reported pending, the rest is served.
    CHECK(status.find(R"("cohortsPending":["never-downloaded-cohort"])") != std::string::npos);
    CHECK(status.find("unreferenced") == std::string::npos);
    CHECK(status.find(kSecret) == std::string::npos);
    CHECK(edge_process.log().find(kSecret) == std::string::npos);
  }

  SECTION("users with a user_id get the cohorts that list them, as the SDK computes them") {
    const std::vector<std::string> synced = answers(edge, users_json(false));
    const std::vector<std::string> given = answers(edge, users_json(true));
    REQUIRE(synced.size() == 3 * kUsers);
    std::size_t mismatches = 0;
    std::size_t by_cohort = 0;
    for (std::size_t i = 0; i < synced.size(); ++i) {
      if (synced[i] != given[i]) {
        ++mismatches;
      }
      if (synced[i].ends_with(":cohort")) {
        ++by_cohort;
      }
    }
    CHECK(mismatches == 0);
    // vips in vip-first: 4,000 of users 0..4999 have a user_id; every one of them lands by cohort.
    CHECK(by_cohort >= 4000);
    CHECK(slot_of(edge, 10, "vip-first") == "slot-1:cohort");
    const HttpResponse explained =
        edge.get("/assign?user_id=user-7000&mutex=beta-second&explain=1");
    REQUIRE(explained.status == 200);
    CHECK(explained.body.find(R"("cohort":"beta")") != std::string::npos);
    CHECK(slot_of(edge, 7000, "beta-second") == "slot-2:cohort");
    CHECK_FALSE(slot_of(edge, 7000, "vip-first").ends_with(":cohort"));
  }

  SECTION("a membership edit reaches /assign within a poll; a 413 and a 500 keep the last good") {
    const HttpResponse put = cohort_client.request(
        "PUT", "/sdk/v1/cohort/vips", R"({"memberIds":)" + members(0, 5001) + "}", basic());
    REQUIRE(put.status == 200);
    CHECK(eventually([&] { return slot_of(edge, 5000, "vip-first") == "slot-1:cohort"; }));

    Load load{edge_process.port()};
    // beta grows past --max-cohort-size 6000: mutex-mgmt answers 413 to maxCohortSize=6000.
    const HttpResponse grow = cohort_client.request(
        "PUT", "/sdk/v1/cohort/beta", R"({"memberIds":)" + members(8000, 15000) + "}", basic());
    REQUIRE(grow.status == 200);
    CHECK(eventually([&] {
      return edge.get("/status").body.find(R"("id":"beta","status":"too_large")") !=
             std::string::npos;
    }));
    CHECK(slot_of(edge, 7000, "beta-second") == "slot-2:cohort");          // the last good members
    CHECK_FALSE(slot_of(edge, 9000, "beta-second").ends_with(":cohort"));  // not the new ones
    CHECK(metric(edge, R"(mutex_edge_cohorts{status="too_large"})") == 1);

    // The cohort server now fails every download.
    REQUIRE(mgmt->stop(SIGTERM) == 0);
    mgmt.reset();
    MgmtProcess failing{{"--db", db, "--fault-500-percent", "100"},
                        mgmt_env,
                        "127.0.0.1:" + std::to_string(mgmt_port)};
    const double before = metric(edge, R"(mutex_edge_cohort_polls_total{result="failed"})");
    CHECK(eventually([&] {
      return metric(edge, R"(mutex_edge_cohort_polls_total{result="failed"})") >= before + 2;
    }));
    CHECK(slot_of(edge, 5000, "vip-first") == "slot-1:cohort");
    CHECK(slot_of(edge, 7000, "beta-second") == "slot-2:cohort");
    load.finish();
    CHECK(load.ok() > 0);
    CHECK(load.failed() == 0);
  }

  SECTION("the cohorts are served again in the download API's shape") {
    const HttpResponse cohort = edge.get("/sdk/v1/cohort/vips?maxCohortSize=100000");
    REQUIRE(cohort.status == 200);
    Json body{cohort.body};
    CHECK(str(body["cohortId"]) == "vips");
    CHECK(body["memberIds"].get_array().size() == 5000);
    const std::int64_t last_modified = num(body["lastModified"]);
    CHECK(edge.get("/sdk/v1/cohort/vips?lastModified=" + std::to_string(last_modified)).status ==
          204);
    CHECK(error_code(edge.get("/sdk/v1/cohort/vips?maxCohortSize=10")) == "cohort_too_large");
    CHECK(error_code(edge.get("/sdk/v1/cohort/unreferenced")) == "not_found");
    CHECK(error_code(edge.get("/sdk/v1/cohort/never-downloaded-cohort")) == "not_ready");
    CHECK(error_code(edge.get("/sdk/v1/cohort/vips?lastModified=x")) == "invalid_query");
  }
}

TEST_CASE("synced cohorts survive a restart with --state-dir while the cohort server is down",
          "[e2e][cohort]") {
  TempDir dir;
  const auto groups_file = dir.path() / "groups.json";
  write_text(groups_file, list_json(groups()));
  const auto cohorts_file = dir.path() / "cohorts.json";
  write_text(cohorts_file,
             R"({"cohorts":[{"cohortId":"vips","memberIds":)" + members(0, 100) + "}]}");
  Env mgmt_env = keys_env();
  mgmt_env.emplace_back("MUTEX_MGMT_COHORT_SECRET", kSecret);
  auto mgmt = std::make_unique<MgmtProcess>(
      std::vector<std::string>{"--db", (dir.path() / "m.sqlite3").string(), "--seed",
                               groups_file.string(), "--cohorts-seed", cohorts_file.string()},
      mgmt_env);
  const std::string url = "http://127.0.0.1:" + std::to_string(mgmt->port());
  const Env edge_env = {{"MUTEX_EDGE_API_KEY", kKey},
                        {"MUTEX_EDGE_COHORT_API_KEY", kKey},
                        {"MUTEX_EDGE_COHORT_SECRET_KEY", kSecret}};
  const std::vector<std::string> args =
      fast_polling(url, {"--cohort-server", url, "--state-dir", (dir.path() / "edge").string()});
  {
    EdgeProcess first{args, edge_env};
    HttpClient edge{first.port()};
    REQUIRE(eventually([&] { return slot_of(edge, 5, "vip-first") == "slot-1:cohort"; }));
    REQUIRE(first.stop(SIGTERM) == 0);
  }
  mgmt.reset();  // the upstream and the cohort server are gone
  EdgeProcess second{args, edge_env};
  HttpClient edge{second.port()};
  CHECK(eventually([&] { return slot_of(edge, 5, "vip-first") == "slot-1:cohort"; }));
}
