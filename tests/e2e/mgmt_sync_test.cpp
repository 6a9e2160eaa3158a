// Edge sync against the real mutex-mgmt upstream: changes made through the Management API reach
// /assign within a poll, and every upstream fault leaves /assign answering from the last good
// snapshot, with zero failed requests under load, while /status and the metrics tell the truth.
#include <atomic>
#include <string>

#include <signal.h>

#include <catch2/catch.hpp>
#include <simdjson.h>

#include "tests/support/checks.hpp"
#include "tests/support/edge_process.hpp"
#include "tests/support/groups.hpp"
#include "tests/support/http_client.hpp"

using namespace mutex_edge;
using std::chrono::milliseconds;
using testing::EdgeProcess;
using testing::eventually;
using testing::HttpClient;
using testing::HttpResponse;
using testing::Load;
using testing::metric;
using testing::MgmtProcess;

namespace {

constexpr const char* kKey = "edge-sync-test-key";
using Headers = std::vector<std::pair<std::string, std::string>>;

testing::Env mgmt_env() {
  return {{"MUTEX_MGMT_API_KEYS", kKey}};
}
testing::Env edge_env(const std::string& key = kKey) {
  return {{"MUTEX_EDGE_API_KEY", key}};
}
Headers auth() {
  return {{"Authorization", std::string{"Bearer "} + kKey}, {"Content-Type", "application/json"}};
}

/// Fast polling of mutex-mgmt on `port`; `timeout` for each page.
std::vector<std::string> chained(std::uint16_t port, const std::string& interval = "100ms",
                                 const std::string& backoff_max = "200ms",
                                 const std::string& timeout = "500ms") {
  return {"--upstream",
          "http://127.0.0.1:" + std::to_string(port),
          "--poll-interval",
          interval,
          "--poll-failure-interval",
          "50ms",
          "--poll-backoff-max",
          backoff_max,
          "--connect-timeout",
          "500ms",
          "--upstream-timeout",
          timeout};
}

std::string assign(HttpClient& client, const std::string& query) {
  return client.get("/assign?" + query).body;
}

using testing::many_groups_json;

/// The time from `start` until now.
milliseconds since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
}

}  // namespace

TEST_CASE("groups created, edited and archived in mutex-mgmt reach /assign within a poll",
          "[e2e][proxy][sync][mgmt]") {
  testing::TempDir dir;
  MgmtProcess mgmt{{"--db", (dir.path() / "db.sqlite3").string()}, mgmt_env()};
  HttpClient api{mgmt.port()};
  EdgeProcess edge{chained(mgmt.port()), edge_env()};
  HttpClient client{edge.port()};
  REQUIRE(eventually([&] { return client.get("/readyz").status == 200; }));
  CHECK(metric(client, "mutex_edge_config_groups") == 0);

  const HttpResponse created = api.request(
      "POST", "/api/1/mutexes",
      R"({"projectId":1,"name":"Checkout","key":"checkout","bucketingKey":"device_id",)"
      R"("slots":[{"percentage":40,"experiments":[11]},{"percentage":60,"experiments":[12]}]})",
      auth());
  REQUIRE(created.status == 200);
  simdjson::dom::parser parser;
  const std::int64_t id = parser.parse(created.body).value()["id"].get_int64().value();
  // A second group, so that archiving the first leaves a listing that is not empty (an empty
  // one keeps the last good config without --allow-empty-config: tests/e2e/hostile_upstream).
  REQUIRE(api.request("POST", "/api/1/mutexes",
                      R"({"projectId":1,"name":"Keeper","key":"keeper","bucketingKey":"device_id",)"
                      R"("slots":[{"percentage":100,"experiments":[13]}]})",
                      auth())
              .status == 200);

  // One poll interval is 100 ms: allow a few for a loaded machine.
  CHECK(eventually(
      [&] {
        return assign(client, "device_id=x&mutex=checkout").find("\"bucket\"") != std::string::npos;
      },
      milliseconds{3000}));

  REQUIRE(api.request("PATCH", "/api/1/mutexes/" + std::to_string(id) + "/slots/2",
                      R"({"individuals":["vip-device"],"experiments":[99]})", auth())
              .status == 200);
  CHECK(eventually(
      [&] {
        const std::string body = assign(client, "device_id=vip-device&mutex=checkout");
        return body.find("\"individual\"") != std::string::npos &&
               body.find("[99]") != std::string::npos;
      },
      milliseconds{3000}));

  REQUIRE(
      api.request("PATCH", "/api/1/mutexes/" + std::to_string(id), R"({"archive":true})", auth())
          .status == 200);
  CHECK(eventually(
      [&] {
        return assign(client, "device_id=x&mutex=checkout").find(R"("unknown":["checkout"])") !=
               std::string::npos;
      },
      milliseconds{3000}));
}

TEST_CASE("2,500 groups from mutex-mgmt arrive complete in three pages",
          "[e2e][proxy][sync][mgmt]") {
  testing::TempDir dir;
  const auto seed = dir.write("seed.json", many_groups_json(2500));
  MgmtProcess mgmt{{"--db", (dir.path() / "db.sqlite3").string(), "--seed", seed.string()},
                   mgmt_env()};
  // Pages of 1,000 groups from a sanitized mutex-mgmt on a busy machine: no page may time out,
  // or the page count below would count a retry.
  EdgeProcess edge{chained(mgmt.port(), "30s", "200ms", "20s"), edge_env()};
  HttpClient client{edge.port()};
  REQUIRE(eventually([&] { return metric(client, "mutex_edge_config_groups") == 2500; },
                     std::chrono::seconds{30}));
  // The poll is counted once it ended, a moment after the snapshot it brought is served.
  CHECK(eventually([&] {
    return metric(client, R"(mutex_edge_upstream_polls_total{outcome="updated"})") == 1 &&
           metric(client, "mutex_edge_upstream_pages_total") == 3;
  }));
  CHECK(assign(client, "device_id=x&mutex=g1,g1001,g2001,g2500").find("unknown") ==
        std::string::npos);
}

TEST_CASE("every upstream fault leaves /assign answering from the last good snapshot",
          "[e2e][proxy][sync][mgmt][fault]") {
  testing::TempDir dir;
  const std::string db = (dir.path() / "db.sqlite3").string();
  const auto seed = dir.write("seed.json", many_groups_json(4));
  auto mgmt = std::make_unique<MgmtProcess>(
      std::vector<std::string>{"--db", db, "--seed", seed.string()}, mgmt_env());
  const std::uint16_t port = mgmt->port();
  const std::string listen = "127.0.0.1:" + std::to_string(port);

  struct Fault {
    std::vector<std::string> mgmt_flags;
    std::string key;
    std::string outcome;
    std::string error;  // a part of the /status error
  };
  const Fault fault = GENERATE(
      Fault{{"--fault-500-percent", "100"}, kKey, "http_error", "upstream answered 500"},
      Fault{
          {"--fault-429-percent", "100", "--fault-retry-after", "1"}, kKey, "rate_limited", "429"},
      Fault{{"--fault-truncate-percent", "100"}, kKey, "invalid_response", "not valid JSON"},
      Fault{{"--fault-drop-percent", "100"}, kKey, "network_error", "reading page 1"},
      Fault{{"--fault-latency", "2s"}, kKey, "network_error", "timed out"},
      Fault{{}, "a-wrong-key", "auth_error", "401"},
      Fault{{"kill"}, kKey, "network_error", "connecting to"});
  INFO("fault: " << fault.outcome << " " << (fault.mgmt_flags.empty() ? "" : fault.mgmt_flags[0]));

  // A healthy start under the right key; the edge then keeps its snapshot through the fault.
  EdgeProcess edge{chained(port), edge_env()};
  HttpClient client{edge.port()};
  REQUIRE(eventually([&] { return metric(client, "mutex_edge_config_groups") == 4; }));

  Load load{edge.port()};
  mgmt->stop(SIGKILL);
  mgmt.reset();
  std::unique_ptr<EdgeProcess> wrong_key_edge;
  if (fault.mgmt_flags != std::vector<std::string>{"kill"}) {
    std::vector<std::string> args{"--db", db};
    args.insert(args.end(), fault.mgmt_flags.begin(), fault.mgmt_flags.end());
    mgmt = std::make_unique<MgmtProcess>(args, mgmt_env(), listen);
  }
  HttpClient* watched = &client;
  std::unique_ptr<HttpClient> wrong_key_client;
  if (fault.key != kKey) {
    // A second edge with a wrong key never gets a snapshot, and says why.
    wrong_key_edge =
        std::make_unique<EdgeProcess>(chained(port, "100ms", "1s"), edge_env(fault.key));
    wrong_key_client = std::make_unique<HttpClient>(wrong_key_edge->port());
    watched = wrong_key_client.get();
  }

  // The result and the error of one attempt, read together: an attempt made before the fault
  // was in place (the restart window's "connection refused") does not count.
  testing::Attempt attempt;
  CHECK(eventually([&] {
    attempt = testing::last_attempt(*watched);
    return attempt.result == fault.outcome && attempt.error.find(fault.error) != std::string::npos;
  }));
  INFO("last attempt: " << attempt.result << ": " << attempt.error);
  CHECK(eventually([&] {  // counted as the poll ends, a moment after /status says how
    return metric(*watched, "mutex_edge_upstream_polls_total{outcome=\"" + fault.outcome + "\"}") >=
           1;
  }));

  if (fault.outcome == "rate_limited" || fault.outcome == "auth_error") {
    // Retry-After: 1 is honoured, and a wrong key is retried once per --poll-backoff-max (1 s):
    // never a tight loop. Two more polls take at least that long.
    const std::string series = "mutex_edge_upstream_polls_total{outcome=\"" + fault.outcome + "\"}";
    const double before = metric(*watched, series);
    const auto start = std::chrono::steady_clock::now();
    CHECK(eventually([&] { return metric(*watched, series) >= before + 2; },
                     std::chrono::seconds{15}));
    CHECK(since(start) >= milliseconds{950});
  }
  if (fault.outcome == "auth_error") {
    CHECK(wrong_key_client->get("/assign?device_id=x").status == 503);
    CHECK(wrong_key_edge->log().find("a-wrong-key") == std::string::npos);
  }

  // Clients are still answered with the fault in place: more answers come, none fails.
  const long answered = load.ok();
  CHECK(eventually([&] { return load.ok() >= answered + 20 || load.failed() != 0; }));
  load.finish();
  CHECK(load.failed() == 0);
  CHECK(metric(client, "mutex_edge_config_groups") == 4);
  CHECK(metric(client, "mutex_edge_config_version") == 1);
  CHECK(client.get("/readyz").status == 200);
}

TEST_CASE("the poller falls back to plain polling when the upstream does not offer watches",
          "[e2e][proxy][sync][mgmt][watch]") {
  testing::TempDir dir;
  MgmtProcess mgmt{{"--db", (dir.path() / "db.sqlite3").string()}, mgmt_env()};
  HttpClient api{mgmt.port()};
  REQUIRE(api.request("POST", "/api/1/mutexes",
                      R"({"projectId":1,"name":"Keeper","key":"keeper","bucketingKey":"device_id",)"
                      R"("slots":[{"percentage":100,"experiments":[13]}]})",
                      auth())
              .status == 200);
  const HttpResponse listing = api.get("/api/1/mutexes", auth());
  CHECK(listing.header("x-mutex-edge-watch").empty());
  EdgeProcess edge{chained(mgmt.port()), edge_env()};
  HttpClient client{edge.port()};
  // Polls every 100 ms, each a plain GET answered at once.
  REQUIRE(eventually([&] {
    return metric(client, R"(mutex_edge_upstream_polls_total{outcome="not_modified"})") +
               metric(client, R"(mutex_edge_upstream_polls_total{outcome="unchanged"})") >=
           5;
  }));
  simdjson::dom::parser parser;
  const auto status = parser.parse(client.get("/status").body);
  CHECK(status["chain"]["watchingUpstream"].get_bool().value() == false);
  CHECK(status["chain"]["depth"].get_uint64().value() == 1);
  CHECK(metric(client, "mutex_edge_config_propagation_seconds_count") == 1);
  // The first instance of the chain: it is the one that fetched from the origin.
  CHECK(client.get("/api/1/mutexes").header("x-mutex-edge-chain-depth") == "1");
}
