// The real mutex-edge binary on an ephemeral loopback port, over real HTTP: its routes, its
// reload, its command line. The HTTP server's own limits, pipelining and draining are tested
// in-process in tests/http.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

#include <signal.h>

#include <catch2/catch.hpp>
#include <simdjson.h>

#include "cache/snapshot.hpp"
#include "config/parser.hpp"
#include "tests/support/checks.hpp"
#include "tests/support/edge_process.hpp"
#include "tests/support/groups.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/json.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/timing.hpp"

using namespace mutex_edge;
using testing::EdgeProcess;
using testing::error_code;
using testing::eventually;
using testing::HttpClient;
using testing::HttpResponse;

namespace {

const std::string kExample = testing::source_path("examples/groups.json");

simdjson::dom::element parse(simdjson::dom::parser& parser, const std::string& json) {
  simdjson::dom::element element;
  INFO(json);
  REQUIRE(parser.parse(json).get(element) == simdjson::SUCCESS);
  return element;
}

/// The example config as the engine sees it, to compare the server's answers with.
std::unique_ptr<const cache::Snapshot> example_snapshot() {
  auto page = config::load_list_file(kExample);
  REQUIRE(page.has_value());
  std::vector<config::ConfigError> rejected;
  return cache::Snapshot::build(std::move(page->groups), 1, {"test"}, rejected);
}

/// One group with `percent_first` in slot 1 (the rest in slot 2).
std::string config_with(int percent_first, const std::string& key = "live") {
  return testing::list_json({testing::make_group(1, key, percent_first, "s4lt")});
}

struct Server {
  EdgeProcess edge{{"--config-file", kExample, "--threads", "2", "--max-batch-users", "5"}};
  HttpClient client{edge.port()};
};

}  // namespace

TEST_CASE_METHOD(Server, "GET /assign answers as the engine does for the example config",
                 "[e2e][proxy][http]") {
  auto snapshot = example_snapshot();
  simdjson::dom::parser parser;
  const std::vector<std::string> device_ids = {
      "d-1", "d-2", "qa-device-1", "12345", "%E6%97%A5%E6%9C%AC", "%F0%9F%8E%89"};
  for (const std::string& device : device_ids) {
    const HttpResponse response =
        client.get("/assign?device_id=" + device + "&user_id=u-" + device);
    REQUIRE(response.status == 200);
    CHECK(response.header("content-type") == "application/json");
    CHECK(response.header("x-config-version") == "1");
    auto answer = parse(parser, response.body);
    CHECK(answer["version"].get_uint64().value() == 1);

    const std::string decoded_device = device == "%F0%9F%8E%89"         ? "🎉"
                                       : device == "%E6%97%A5%E6%9C%AC" ? "日本"
                                                                        : device;
    const std::string user_id = "u-" + decoded_device;
    eval::User user;
    user.device_id = decoded_device;
    user.user_id = user_id;
    const std::vector<config::GroupConfig> groups = snapshot->configs();
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const auto& group = groups[g];
      const eval::Assignment expected = snapshot->compiled(g).assign(user);
      auto got = answer["assignments"][group.key];
      INFO(group.key << " for " << decoded_device << ": " << response.body);
      CHECK(got["reason"].get_string().value() == eval::to_string(expected.reason));
      if (expected.slot == eval::kNoSlot) {
        CHECK(got["slot"].is_null());
      } else {
        CHECK(got["slot"].get_string().value() ==
              group.slots[static_cast<std::size_t>(expected.slot)].variant_key);
      }
    }
  }
}

TEST_CASE_METHOD(Server, "assignments can be limited to some groups and explained",
                 "[e2e][proxy][http]") {
  simdjson::dom::parser parser;
  HttpResponse response =
      client.get("/assign?device_id=x&mutex=checkout,nope&mutex=pricing&explain=1");
  REQUIRE(response.status == 200);
  auto answer = parse(parser, response.body);
  CHECK(answer["assignments"].get_object().value().size() == 2);
  CHECK(answer["unknown"].at(0).get_string().value() == "nope");
  CHECK(answer["assignments"]["checkout"]["explain"]["d"].get_uint64().value() ==
        answer["assignments"]["checkout"]["explain"]["hash"].get_uint64().value() / 100);

  response =
      client.post("/assign", R"({"user":{"user_id":"alice@example.com"},"mutexes":["pricing"]})");
  REQUIRE(response.status == 200);
  answer = parse(parser, response.body);
  CHECK(answer["assignments"]["pricing"]["reason"].get_string().value() == "individual");
  CHECK(answer["assignments"]["pricing"]["experiments"].at(0).get_int64().value() == 7101);

  // User properties and cohorts from the query string.
  response = client.get("/assign?gp:company_id=42&cohort_ids=x,beta-testers");
  REQUIRE(response.status == 200);
  answer = parse(parser, response.body);
  CHECK(answer["assignments"]["checkout"]["reason"].get_string().value() == "cohort");
  CHECK(answer["assignments"]["onboarding"]["reason"].get_string().value() == "bucket");
}

TEST_CASE_METHOD(Server, "POST /assign/batch answers every user in request order",
                 "[e2e][proxy][http]") {
  simdjson::dom::parser parser;
  const HttpResponse response = client.post(
      "/assign/batch",
      R"({"users":[{"device_id":"qa-device-1"},{},{"user_id":"alice@example.com"}],"mutexes":["checkout","pricing","zz"]})");
  REQUIRE(response.status == 200);
  auto answer = parse(parser, response.body);
  const simdjson::dom::array results = answer["results"].get_array().value();
  REQUIRE(results.size() == 3);
  CHECK(results.at(0)["assignments"]["checkout"]["reason"].get_string().value() == "individual");
  CHECK(results.at(1)["error"]["code"].get_string().value() == "empty_user");
  CHECK(results.at(2)["assignments"]["pricing"]["reason"].get_string().value() == "individual");
  CHECK(answer["unknown"].at(0).get_string().value() == "zz");
}

TEST_CASE_METHOD(Server, "every documented error has its status and JSON error code",
                 "[e2e][proxy][http]") {
  CHECK(error_code(client.post("/assign", R"({"user":{"device_id":"x"})")) == "invalid_json");
  CHECK(client.post("/assign", "{").status == 400);
  CHECK(error_code(client.post("/assign", R"({"user":{"device_id":"x"},"mutexes":"checkout"})")) ==
        "invalid_request");
  CHECK(error_code(client.post("/assign", R"({"user":{"user_properties":"pro"}})")) ==
        "invalid_user");
  CHECK(error_code(client.post("/assign", R"({"mutexes":[]})")) == "invalid_request");
  CHECK(error_code(client.post("/assign", R"({"user":{}})")) == "empty_user");
  CHECK(error_code(client.get("/assign")) == "empty_user");
  CHECK(error_code(client.get("/assign?mutex=checkout")) == "empty_user");

  HttpResponse response = client.get("/nope");
  CHECK(response.status == 404);
  CHECK(error_code(response) == "not_found");
  response = client.get("/api/1/mutexes/999");
  CHECK(response.status == 404);

  response = client.request("DELETE", "/assign", "", {});
  CHECK(response.status == 405);
  CHECK(response.header("allow") == "GET, HEAD, POST");
  CHECK(error_code(response) == "method_not_allowed");
  CHECK(client.get("/assign/batch").status == 405);
  CHECK(client.post("/healthz", "{}").status == 405);

  response = client.post("/assign", R"({"user":{"device_id":"x"}})", "text/plain");
  CHECK(response.status == 415);
  CHECK(error_code(response) == "unsupported_media_type");

  std::string users = R"({"users":[)";
  for (int i = 0; i < 6; ++i) {
    users += (i ? "," : "") + std::string{R"({"device_id":"d)"} + std::to_string(i) + "\"}";
  }
  response = client.post("/assign/batch", users + "]}");
  CHECK(response.status == 413);
  CHECK(error_code(response) == "too_many_users");
}

TEST_CASE_METHOD(Server, "the read API mirrors the upstream's shape, pages and ETags",
                 "[e2e][proxy][http]") {
  simdjson::dom::parser parser;
  std::vector<std::int64_t> ids;
  std::string target = "/api/1/mutexes?limit=1";
  for (int page = 0; page < 10; ++page) {
    const HttpResponse response = client.get(target);
    REQUIRE(response.status == 200);
    auto json = parse(parser, response.body);
    const simdjson::dom::array groups = json["mutexes"].get_array().value();
    for (auto group : groups) {
      ids.push_back(group["id"].get_int64().value());
    }
    if (json["nextCursor"].is_null()) {
      break;
    }
    target =
        "/api/1/mutexes?limit=1&cursor=" + std::string{json["nextCursor"].get_string().value()};
  }
  CHECK(ids == std::vector<std::int64_t>{101, 102, 103});

  const HttpResponse all = client.get("/api/1/mutexes");
  auto page = config::parse_list_page(all.body);
  REQUIRE(page.has_value());
  CHECK(page->rejected.empty());
  const auto expected = example_snapshot();
  CHECK(page->groups == expected->configs());

  const HttpResponse one = client.get("/api/1/mutexes/102");
  REQUIRE(one.status == 200);
  CHECK(parse(parser, one.body)["key"].get_string().value() == "pricing");
  const std::string etag = one.header("etag");
  REQUIRE_FALSE(etag.empty());
  const HttpResponse again = client.get("/api/1/mutexes/102", {{"If-None-Match", etag}});
  CHECK(again.status == 304);
  CHECK(again.body.empty());
  CHECK(client.get("/api/1/mutexes", {{"If-None-Match", etag}}).status == 304);

  CHECK(error_code(client.get("/api/1/mutexes?limit=0")) == "invalid_limit");
  CHECK(error_code(client.get("/api/1/mutexes?cursor=99")) == "invalid_cursor");
}

TEST_CASE_METHOD(Server, "health, readiness, status and metrics", "[e2e][proxy][http]") {
  simdjson::dom::parser parser;
  CHECK(client.get("/healthz").status == 200);
  CHECK(client.get("/readyz").status == 200);
  client.get("/assign?device_id=m1");
  const HttpResponse status = client.get("/status");
  REQUIRE(status.status == 200);
  auto json = parse(parser, status.body);
  CHECK(json["version"].get_uint64().value() == 1);
  CHECK(json["groups"].get_uint64().value() == 3);
  CHECK(json["ready"].get_bool().value());
  CHECK(std::string{json["source"].get_string().value()} == "file:" + kExample);

  const HttpResponse metrics = client.get("/metrics");
  REQUIRE(metrics.status == 200);
  CHECK_THAT(metrics.header("content-type"), Catch::StartsWith("text/plain; version=0.0.4"));
  CHECK_THAT(metrics.body,
             Catch::Contains(R"(mutex_edge_http_requests_total{code="200",route="/assign"} 1)"));
  CHECK_THAT(metrics.body, Catch::Contains("mutex_edge_config_version 1"));
  CHECK_THAT(metrics.body, Catch::Contains("mutex_edge_config_groups 3"));
  CHECK_THAT(metrics.body,
             Catch::Contains(
                 R"(mutex_edge_http_request_duration_seconds_bucket{route="/assign",le="5e-05"})"));
  CHECK_THAT(metrics.body,
             Catch::Contains(R"(mutex_edge_assignments_total{group="checkout",slot=)"));
  CHECK_THAT(metrics.body, Catch::Contains("mutex_edge_open_connections 1"));

  // Valid Prometheus text, by Prometheus' own Python parser.
  testing::TempDir dir;
  const auto file = dir.write("metrics.txt", metrics.body);
  const std::string command = "/usr/bin/python3 " +
                              testing::source_path("tests/support/check_metrics.py") + " " +
                              file.string();
  CHECK(std::system(command.c_str()) == 0);
}

TEST_CASE("the config file is reloaded when it changes, a bad edit keeps the last good one",
          "[e2e][proxy][http][reload]") {
  testing::TempDir dir;
  const auto config = dir.write("groups.json", config_with(40));
  EdgeProcess edge{{"--config-file", config.string(), "--config-reload-interval", "50ms"}};
  HttpClient client{edge.port()};
  REQUIRE(client.get("/assign?device_id=1").header("x-config-version") == "1");

  dir.write("groups.json", config_with(70));
  CHECK(eventually(
      [&] { return client.get("/assign?device_id=1").header("x-config-version") == "2"; }));

  dir.write("groups.json", R"({"mutexes":[{"id":1,"key":"live")");
  simdjson::dom::parser parser;
  CHECK(eventually([&] {
    auto status = parse(parser, client.get("/status").body);
    return status["lastAttempt"]["result"].get_string().value() == "failed";
  }));
  const HttpResponse still = client.get("/assign?device_id=1");
  CHECK(still.status == 200);
  CHECK(still.header("x-config-version") == "2");
  auto status = parse(parser, client.get("/status").body);
  CHECK_THAT(std::string{status["lastAttempt"]["error"].get_string().value()},
             Catch::Contains("not valid JSON"));
  CHECK_THAT(client.get("/metrics").body,
             Catch::Contains(R"(mutex_edge_config_loads_total{result="failure",source="file"} 1)"));
  CHECK_THAT(edge.log(), Catch::Contains("config load failed, serving the last good config"));

  // An invalid group is left out and reported; the valid edit is served. An archived group is
  // left out too, and is no rejected group.
  dir.write(
      "groups.json",
      R"({"mutexes":[{"id":1,"key":"live","bucketingKey":"device_id","bucketingSalt":"s","slots":[{"index":1,"percentage":100}]},)"
      R"({"id":3,"key":"gone","archived":true,"bucketingKey":"device_id","bucketingSalt":"s","slots":[{"index":1,"percentage":100}]},)"
      R"({"id":2,"key":"broken","bucketingKey":"device_id","bucketingSalt":"s","slots":[{"index":1,"percentage":101}]}]})");
  CHECK(eventually(
      [&] { return client.get("/assign?device_id=1").header("x-config-version") == "3"; }));
  status = parse(parser, client.get("/status").body);
  CHECK(status["groups"].get_uint64().value() == 1);
  REQUIRE(status["rejectedGroups"].get_array().size() == 1);
  CHECK_THAT(std::string{status["rejectedGroups"].at(0).get_string().value()},
             Catch::Contains("key \"broken\""));
  CHECK(client.get("/assign?device_id=1").body.find("gone") == std::string::npos);
  CHECK(eventually([&] {  // metrics follow the publication
    return client.get("/metrics").body.find("mutex_edge_config_rejected_groups 1") !=
           std::string::npos;
  }));
}

TEST_CASE("SIGTERM drains and exits 0", "[e2e][proxy][http][shutdown]") {
  EdgeProcess edge{{"--config-file", kExample, "--shutdown-grace", "5s"}};
  HttpClient client{edge.port()};
  REQUIRE(client.get("/readyz").status == 200);
  CHECK(edge.stop(SIGTERM) == 0);
  const std::string log = edge.log();
  CHECK_THAT(log, Catch::Contains("msg=\"shutting down: draining connections\" signal=15"));
  CHECK_THAT(log, Catch::Contains("msg=\"stopped\""));
}

TEST_CASE("an unknown MUTEX_EDGE_ variable is named in a warning, its value never",
          "[e2e][proxy][cli]") {
  EdgeProcess edge{{"--config-file", kExample},
                   {{"MUTEX_EDGE_POLL_INTERVL", "5s"},
                    {"MUTEX_EDGE_API_KEYS", "s3cret-value"},
                    {"MUTEX_EDGE_API_KEY", "other-s3cret"}}};
  const std::string log = edge.log();
  CHECK_THAT(log, Catch::Contains("level=warning msg=\"unknown environment variable ignored") &&
                      Catch::Contains("variable=MUTEX_EDGE_POLL_INTERVL") &&
                      Catch::Contains("variable=MUTEX_EDGE_API_KEYS"));
  CHECK_THAT(log, !Catch::Contains("s3cret") && !Catch::Contains("variable=MUTEX_EDGE_API_KEY\n"));
}

TEST_CASE("bad flags and unusable configs fail at start with one clear line", "[e2e][proxy][cli]") {
  auto bad_flag = testing::run_edge({"--frobnicate"});
  CHECK(bad_flag.code == 2);
  CHECK_THAT(bad_flag.output, Catch::Contains("unrecognised option '--frobnicate'"));

  auto bad_duration = testing::run_edge({"--config-file", kExample, "--idle-timeout", "10"});
  CHECK(bad_duration.code == 2);
  CHECK_THAT(bad_duration.output, Catch::Contains("--idle-timeout: expected a duration"));

  auto missing = testing::run_edge({"--config-file", "/nonexistent/groups.json"});
  CHECK(missing.code == 1);
  CHECK_THAT(missing.output, Catch::Contains("/nonexistent/groups.json"));

  auto help = testing::run_edge({"--help"});
  CHECK(help.code == 0);
  CHECK_THAT(help.output,
             Catch::Contains("--max-batch-users") && Catch::Contains("MUTEX_EDGE_CONFIG_FILE"));

  auto unbindable = testing::run_edge({"--config-file", kExample, "--listen", "256.0.0.1:1"});
  CHECK(unbindable.code == 1);
  CHECK_THAT(unbindable.output, Catch::Contains("256.0.0.1"));

  // Every flag has a MUTEX_EDGE_* variable; a flag wins over it.
  ::setenv("MUTEX_EDGE_IDLE_TIMEOUT", "soon", 1);
  auto from_env = testing::run_edge({"--config-file", kExample});
  auto flag_wins = testing::run_edge({"--config-file", kExample, "--idle-timeout", "1x"});
  ::unsetenv("MUTEX_EDGE_IDLE_TIMEOUT");
  CHECK(from_env.code == 2);
  CHECK_THAT(from_env.output, Catch::Contains("got 'soon'"));
  CHECK_THAT(flag_wins.output, Catch::Contains("got '1x'"));
}

TEST_CASE("mutex-edge probe exits 0 on a 2xx answer, 1 otherwise, 2 on bad arguments",
          "[e2e][proxy][cli][probe]") {
  Server s;
  const std::string base = "http://127.0.0.1:" + std::to_string(s.edge.port());
  auto healthy = testing::run_edge({"probe", base + "/healthz"});
  CHECK(healthy.code == 0);
  CHECK(healthy.output.find("/healthz: 200") != std::string::npos);
  CHECK(testing::run_edge({"probe", base + "/readyz", "--timeout",
                           testing::flag_value(testing::scaled(std::chrono::seconds{1}))})
            .code == 0);
  auto missing = testing::run_edge({"probe", base + "/nope"});
  CHECK(missing.code == 1);
  CHECK(missing.output.find("404") != std::string::npos);
  auto refused = testing::run_edge({"probe", "http://127.0.0.1:1/healthz", "--timeout", "500ms"});
  CHECK(refused.code == 1);
  CHECK(refused.output.find("connecting to 127.0.0.1:1") != std::string::npos);
  for (const std::vector<std::string>& bad : {std::vector<std::string>{"probe"},
                                              {"probe", "https://127.0.0.1/healthz"},
                                              {"probe", base, "--timeout", "soon"},
                                              {"probe", base, "extra"}}) {
    CHECK(testing::run_edge(bad).code == 2);
  }
}
