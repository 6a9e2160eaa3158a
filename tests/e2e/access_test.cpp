// Who may ask what: inbound client keys (--require-key), the admin routes on their own listener
// (--admin-listen), and no key in any output of the binary.
#include <algorithm>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include <signal.h>

#include <catch2/catch.hpp>

#include "tests/e2e/mgmt_helpers.hpp"
#include "tests/support/checks.hpp"
#include "tests/support/edge_process.hpp"
#include "tests/support/files.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/json.hpp"
#include "tests/support/paths.hpp"

using namespace mutex_edge;
using testing::EdgeProcess;
using testing::eventually;
using testing::HttpClient;
using testing::HttpResponse;
using testing::MgmtProcess;

namespace {

const std::string kExample = testing::source_path("examples/groups.json");
const std::string kClientKey = "client-key-5d1e-9a7c";
const std::string kSecondClientKey = "client-key-two-c0ffee";
const std::string kWrongKey = "wrong-key-presented-by-a-client-8b8b";
const std::string kUpstreamKey = testing::kKey;  // mutex-mgmt accepts it

testing::Env client_keys_env() {
  return {{"MUTEX_EDGE_CLIENT_KEYS", " " + kClientKey + " ,," + kSecondClientKey + " "}};
}

testing::Headers bearer(const std::string& key) {
  return {{"Authorization", "Bearer " + key}};
}

/// The admin listener's port, from the "listening" log line.
std::uint16_t admin_port(const EdgeProcess& edge) {
  std::smatch match;
  const std::string log = edge.log();
  REQUIRE(std::regex_search(log, match, std::regex{R"(admin_address=127\.0\.0\.1:(\d+))"}));
  return static_cast<std::uint16_t>(std::stoi(match[1].str()));
}

/// Everything a client or operator can read of a response.
std::string text_of(const HttpResponse& response) {
  std::string out = std::to_string(response.status) + "\n";
  for (const auto& [name, value] : response.headers) {
    out += name + ": " + value + "\n";
  }
  return out + response.body;
}

}  // namespace

TEST_CASE("with --require-key, /assign, /assign/batch and the read API want a client key",
          "[e2e][access][auth]") {
  EdgeProcess edge{{"--config-file", kExample, "--require-key"}, client_keys_env()};
  HttpClient client{edge.port()};
  struct Route {
    const char* method;
    const char* target;
    const char* body;
  };
  const std::vector<Route> protected_routes = {
      {"GET", "/assign?user_id=a", ""},
      {"HEAD", "/assign?user_id=a", ""},
      {"POST", "/assign", R"({"user":{"user_id":"a"}})"},
      {"POST", "/assign/batch", R"({"users":[{"user_id":"a"}]})"},
      {"GET", "/api/1/mutexes", ""},
      {"GET", "/api/1/mutexes/101", ""},
  };
  const testing::Headers json = {{"Content-Type", "application/json"}};
  for (const Route& route : protected_routes) {
    INFO(route.method << " " << route.target);
    auto with = [&](testing::Headers headers) {
      headers.insert(headers.end(), json.begin(), json.end());
      return client.request(route.method, route.target, route.body, headers);
    };
    for (const testing::Headers& refused :
         {testing::Headers{}, bearer(kWrongKey), bearer(kClientKey + "x"),
          bearer(kClientKey.substr(1)), testing::Headers{{"Authorization", "Basic " + kClientKey}},
          testing::Headers{{"Authorization", "Bearer"}}}) {
      const HttpResponse response = with(refused);
      CHECK(response.status == 401);
      CHECK(response.header("www-authenticate") == R"(Bearer realm="mutex-edge")");
      if (std::string_view{route.method} != "HEAD") {
        CHECK(testing::error_code(response) == "unauthorized");
      }
    }
    for (const std::string& key : {kClientKey, kSecondClientKey}) {
      const HttpResponse response = with(bearer(key));
      CHECK(response.status == 200);
    }
    CHECK(with({{"Authorization", "bearer   " + kClientKey + "  "}}).status == 200);
  }
  // Health, readiness, status and metrics stay open (probes and scrapers have no key).
  for (const char* open : {"/healthz", "/readyz", "/status", "/metrics"}) {
    CHECK(client.get(open).status == 200);
  }
  CHECK(testing::metric(client, R"(mutex_edge_http_requests_total{code="401",route="/assign"})") ==
        18);

  // A mutex-edge chained to it presents its upstream key, one of the client keys.
  EdgeProcess chained{
      {"--upstream", "http://127.0.0.1:" + std::to_string(edge.port()), "--poll-interval", "100ms"},
      {{"MUTEX_EDGE_API_KEY", kSecondClientKey}}};
  HttpClient downstream{chained.port()};
  CHECK(eventually([&] { return downstream.get("/readyz").status == 200; }));
  CHECK(testing::metric(downstream, "mutex_edge_config_groups") == 3);

  SECTION("without keys it does not start") {
    const auto result = testing::run_edge({"--config-file", kExample, "--require-key"});
    CHECK(result.code == 2);
    CHECK(result.output.find("--require-key: MUTEX_EDGE_CLIENT_KEYS holds no key") !=
          std::string::npos);
  }
}

TEST_CASE(
    "an admin listener (--admin-listen) takes /metrics, /status, /healthz and /readyz off the "
    "serving port",
    "[e2e][access][admin]") {
  EdgeProcess edge{{"--config-file", kExample, "--admin-listen", "127.0.0.1:0"}};
  const std::uint16_t admin = admin_port(edge);
  REQUIRE(admin != edge.port());
  HttpClient serving{edge.port()};
  HttpClient operator_client{admin};

  CHECK(serving.get("/assign?user_id=a").status == 200);
  CHECK(serving.get("/api/1/mutexes").status == 200);
  for (const char* route : {"/metrics", "/status", "/healthz", "/readyz"}) {
    INFO(route);
    const HttpResponse hidden = serving.get(route);
    CHECK(hidden.status == 404);
    CHECK(testing::error_message(hidden).find("--admin-listen") != std::string::npos);
    CHECK(operator_client.get(route).status == 200);
    CHECK(operator_client.request("HEAD", route, "", {}).status == 200);
  }
  for (const char* route : {"/assign?user_id=a", "/assign/batch", "/api/1/mutexes"}) {
    INFO(route);
    CHECK(operator_client.get(route).status == 404);
  }
  // The admin listener's metrics count both listeners' requests.
  CHECK(testing::metric(operator_client,
                        R"(mutex_edge_http_requests_total{code="200",route="/assign"})") == 1);
  CHECK(testing::metric(operator_client,
                        R"(mutex_edge_http_requests_total{code="404",route="unknown"})") >= 7);
  CHECK(edge.stop(SIGTERM) == 0);

  SECTION("a bad or taken address fails at start with one clear line") {
    auto bad = testing::run_edge({"--config-file", kExample, "--admin-listen", "nowhere"});
    CHECK(bad.code == 2);
    CHECK(bad.output.find("--admin-listen: expected HOST:PORT, got 'nowhere'") !=
          std::string::npos);
    EdgeProcess holder{{"--config-file", kExample}};
    auto taken =
        testing::run_edge({"--config-file", kExample, "--listen", "127.0.0.1:0", "--admin-listen",
                           "127.0.0.1:" + std::to_string(holder.port())});
    CHECK(taken.code == 1);
    CHECK(taken.output.find("cannot bind") != std::string::npos);
  }
}

TEST_CASE("no key shows in logs, answers, /status, /metrics or --help", "[e2e][access][secrets]") {
  testing::TempDir dir;
  MgmtProcess mgmt{{"--db", (dir.path() / "db.sqlite3").string(), "--seed", kExample,
                    "--fault-500-percent", "20", "--fault-drop-percent", "10"},
                   testing::keys_env()};
  testing::Env env = client_keys_env();
  env.emplace_back("MUTEX_EDGE_API_KEY", kUpstreamKey);
  const std::vector<std::string> polling =
      testing::fast_polling("http://127.0.0.1:" + std::to_string(mgmt.port()),
                            {"--require-key", "--admin-listen", "127.0.0.1:0", "--state-dir",
                             dir.path().string(), "--log-level", "trace"});
  EdgeProcess edge{polling, env};
  // One with a wrong upstream key: its auth errors are logged and shown in /status.
  testing::Env wrong_env = client_keys_env();
  wrong_env.emplace_back("MUTEX_EDGE_API_KEY", kWrongKey);
  std::vector<std::string> wrong_polling = polling;
  wrong_polling.back() = "debug";
  *(std::find(wrong_polling.begin(), wrong_polling.end(), "--state-dir") + 1) =
      (dir.path() / "other").string();
  EdgeProcess wrong{wrong_polling, wrong_env};

  std::string seen;  // everything read from both edges
  HttpClient client{edge.port()};
  HttpClient admin{admin_port(edge)};
  HttpClient wrong_admin{admin_port(wrong)};
  REQUIRE(eventually([&] { return admin.get("/readyz").status == 200; }));
  REQUIRE(eventually([&] { return testing::last_attempt(wrong_admin).result == "auth_error"; }));
  for (const testing::Headers& headers :
       {testing::Headers{}, bearer(kClientKey), bearer(kWrongKey),
        testing::Headers{{"Authorization", kClientKey}},
        testing::Headers{{"Authorization", "Basic " + kWrongKey}}}) {
    for (const char* target :
         {"/assign?user_id=a", "/assign?user_id=a&user_id=b", "/assign", "/api/1/mutexes",
          "/api/1/mutexes/101", "/api/1/mutexes/999", "/api/1/mutexes?cursor=x", "/nope"}) {
      seen += text_of(client.request("GET", target, "", headers));
    }
    testing::Headers json = headers;
    json.emplace_back("Content-Type", "application/json");
    seen += text_of(client.request("POST", "/assign", "{\"user\":", json));
    seen += text_of(client.request("POST", "/assign/batch", R"({"users":[1]})", json));
  }
  for (HttpClient* c : {&admin, &wrong_admin}) {
    for (const char* target : {"/status", "/metrics", "/healthz", "/readyz"}) {
      seen += text_of(c->get(target));
    }
  }
  seen += testing::run_edge({"--help"}).output;
  seen += testing::run_edge({"--upstream", "http://127.0.0.1:1", "--require-key"}).output;
  CHECK(edge.stop(SIGTERM) == 0);
  CHECK(wrong.stop(SIGTERM) == 0);
  seen += edge.log() + wrong.log() + mgmt.log();
  // The persisted copies too.
  for (const auto& entry : std::filesystem::recursive_directory_iterator{dir.path()}) {
    if (entry.is_regular_file() && entry.path().string().find("sqlite3") == std::string::npos) {
      seen += testing::read_file(entry.path());
    }
  }
  REQUIRE(seen.find("auth_error") != std::string::npos);  // the wrong key's failures are in it
  REQUIRE(seen.find("unauthorized") != std::string::npos);
  for (const std::string& secret : {kUpstreamKey, kClientKey, kSecondClientKey, kWrongKey}) {
    INFO(secret);
    CHECK(seen.find(secret) == std::string::npos);
  }
}
