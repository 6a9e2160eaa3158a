// Edge sync: mutex-edge polling an upstream (another mutex-edge here; mutex-mgmt in
// tests/mgmt), persistence and cold start, and HTTPS with a CA made by the test.
#include <atomic>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include <signal.h>

#include <catch2/catch.hpp>
#include <simdjson.h>

#include "tests/support/checks.hpp"
#include "tests/support/edge_process.hpp"
#include "tests/support/groups.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/timing.hpp"

using namespace mutex_edge;
using std::chrono::milliseconds;
using testing::EdgeProcess;
using testing::eventually;
using testing::HttpClient;
using testing::HttpResponse;
using testing::Load;
using testing::metric;
using testing::status_field;

namespace {

const std::string kExample = testing::source_path("examples/groups.json");

std::string upstream_url(const testing::ServerProcess& upstream) {
  return "http://127.0.0.1:" + std::to_string(upstream.port());
}

using testing::many_groups_json;

}  // namespace

TEST_CASE("a chained mutex-edge serves the same answers and polls with 304s",
          "[e2e][proxy][sync][chain]") {
  EdgeProcess upstream{{"--config-file", kExample}};
  EdgeProcess edge{testing::fast_polling(upstream_url(upstream))};
  HttpClient up{upstream.port()};
  HttpClient client{edge.port()};
  REQUIRE(eventually([&] { return client.get("/readyz").status == 200; }));
  for (int i = 0; i < 200; ++i) {
    const std::string target = "/assign?device_id=d" + std::to_string(i) + "&user_id=u" +
                               std::to_string(i) + (i % 7 == 0 ? "&cohort_ids=beta-testers" : "") +
                               "&gp:company_id=" + std::to_string(i % 13);
    REQUIRE(client.get(target).body == up.get(target).body);
  }
  CHECK(status_field(client, "source") ==
        "upstream:http://127.0.0.1:" + std::to_string(upstream.port()));
  CHECK(eventually([&] {
    return metric(client, R"(mutex_edge_upstream_polls_total{outcome="not_modified"})") >= 2;
  }));
  CHECK(metric(up, R"(mutex_edge_http_requests_total{code="304",route="/api/1/mutexes"})") >= 2);
  CHECK(metric(client, "mutex_edge_config_version") == 1);  // 304s swap nothing
}

TEST_CASE("2,500 groups over three pages arrive complete", "[e2e][proxy][sync]") {
  testing::TempDir dir;
  const auto file = dir.write("groups.json", many_groups_json(2500));
  EdgeProcess upstream{{"--config-file", file.string()}};
  // No page may time out on a busy machine, or the request count below would count a retry.
  EdgeProcess edge{testing::fast_polling(upstream_url(upstream), {}, std::chrono::seconds{20})};
  HttpClient client{edge.port()};
  REQUIRE(eventually([&] { return metric(client, "mutex_edge_config_groups") == 2500; },
                     std::chrono::seconds{30}));
  HttpClient up{upstream.port()};
  CHECK(metric(up, R"(mutex_edge_http_requests_total{code="200",route="/api/1/mutexes"})") == 3);
  CHECK(client.get("/api/1/mutexes/2500").status == 200);
  CHECK(client.get("/assign?device_id=x&mutex=g1,g1250,g2500").body.find("\"unknown\"") ==
        std::string::npos);
}

TEST_CASE("a change upstream reaches /assign within a poll, a bad one keeps the last good",
          "[e2e][proxy][sync]") {
  testing::TempDir dir;
  const auto file = dir.write("groups.json", many_groups_json(3, 100));
  EdgeProcess upstream{{"--config-file", file.string(), "--config-reload-interval", "20ms"}};
  EdgeProcess edge{testing::fast_polling(upstream_url(upstream))};
  HttpClient client{edge.port()};
  REQUIRE(eventually([&] { return client.get("/readyz").status == 200; }));
  CHECK_THAT(client.get("/assign?device_id=x&mutex=g2").body,
             Catch::Contains("\"reason\":\"all\""));

  dir.write("groups.json", many_groups_json(4, 50));
  CHECK(eventually(
      [&] {
        const std::string body = client.get("/assign?device_id=x&mutex=g2,g4").body;
        return body.find("\"reason\":\"bucket\"") != std::string::npos &&
               body.find("unknown") == std::string::npos;
      },
      std::chrono::seconds{5}));
  CHECK(metric(client, "mutex_edge_config_version") == 2);
}

TEST_CASE("the upstream dying under load changes nothing for clients",
          "[e2e][proxy][sync][fault]") {
  testing::TempDir dir;
  const auto file = dir.write("groups.json", many_groups_json(5));
  auto upstream =
      std::make_unique<EdgeProcess>(std::vector<std::string>{"--config-file", file.string()});
  const std::uint16_t port = upstream->port();
  EdgeProcess edge{testing::fast_polling(upstream_url(*upstream))};
  HttpClient client{edge.port()};
  REQUIRE(eventually([&] { return client.get("/readyz").status == 200; }));

  Load load{edge.port()};
  upstream->stop(SIGKILL);
  CHECK(
      eventually([&] { return status_field(client, "lastAttempt", "result") == "network_error"; }));
  CHECK(eventually([&] {
    return metric(client, R"(mutex_edge_upstream_polls_total{outcome="network_error"})") >= 3;
  }));
  CHECK(client.get("/readyz").status == 200);  // no --max-staleness: serving the last good
  CHECK(metric(client, "mutex_edge_config_groups") == 5);
  const long during = load.ok();  // answers keep coming while the upstream is down
  CHECK(eventually([&] { return load.ok() >= during + 20 || load.failed() != 0; }));

  // It comes back, with a change: picked up on the next poll.
  dir.write("groups.json", many_groups_json(6));
  upstream = std::make_unique<EdgeProcess>(std::vector<std::string>{"--config-file", file.string()},
                                           testing::Env{}, "127.0.0.1:" + std::to_string(port));
  CHECK(eventually([&] { return metric(client, "mutex_edge_config_groups") == 6; }));
  const long answered = load.ok();
  CHECK(eventually([&] { return load.ok() >= answered + 20 || load.failed() != 0; }));
  load.finish();
  CHECK(load.failed() == 0);
}

TEST_CASE("cold start: persisted config served at once with the upstream down, else 503",
          "[e2e][proxy][sync][persist]") {
  testing::TempDir dir;
  const auto file = dir.write("groups.json", many_groups_json(4));
  const auto state = dir.path() / "state";
  auto upstream =
      std::make_unique<EdgeProcess>(std::vector<std::string>{"--config-file", file.string()});
  const std::string url = upstream_url(*upstream);
  {
    EdgeProcess edge{testing::fast_polling(url, {"--state-dir", state.string()})};
    HttpClient client{edge.port()};
    REQUIRE(eventually([&] { return client.get("/readyz").status == 200; }));
    CHECK(edge.stop(SIGTERM) == 0);
  }
  upstream->stop(SIGKILL);
  upstream.reset();

  SECTION("with a persisted copy") {
    EdgeProcess edge{
        testing::fast_polling(url, {"--state-dir", state.string(), "--max-staleness", "1h"})};
    HttpClient client{edge.port()};
    const HttpResponse answer = client.get("/assign?device_id=x&mutex=g4");
    CHECK(answer.status == 200);
    CHECK(client.get("/readyz").status == 200);
    CHECK_THAT(status_field(client, "source"), Catch::StartsWith("persisted:upstream:"));
    CHECK(eventually(
        [&] { return status_field(client, "lastAttempt", "result") == "network_error"; }));
    CHECK(client.get("/assign?device_id=x&mutex=g4").status == 200);
  }
  SECTION("without one") {
    EdgeProcess edge{testing::fast_polling(url, {"--state-dir", (dir.path() / "empty").string()})};
    HttpClient client{edge.port()};
    const HttpResponse answer = client.get("/assign?device_id=x");
    CHECK(answer.status == 503);
    CHECK_THAT(answer.body, Catch::Contains("not_ready"));
    CHECK(client.get("/readyz").status == 503);
    CHECK(client.get("/healthz").status == 200);
  }
}

TEST_CASE("a stale config turns /readyz to 503 while /assign keeps answering",
          "[e2e][proxy][sync][persist]") {
  testing::TempDir dir;
  const auto file = dir.write("groups.json", many_groups_json(2));
  auto upstream =
      std::make_unique<EdgeProcess>(std::vector<std::string>{"--config-file", file.string()});
  EdgeProcess edge{testing::fast_polling(upstream_url(*upstream), {"--max-staleness", "500ms"})};
  HttpClient client{edge.port()};
  REQUIRE(eventually([&] { return client.get("/readyz").status == 200; }));
  upstream->stop(SIGKILL);
  CHECK(eventually([&] { return client.get("/readyz").status == 503; }));
  CHECK(client.get("/assign?device_id=x").status == 200);
  CHECK(metric(client, "mutex_edge_config_age_seconds") >= 0.5);  // whole milliseconds
}

TEST_CASE("HTTPS upstream: trusted with --ca-file, refused with a clear error without",
          "[e2e][proxy][sync][tls]") {
  testing::TempDir dir;
  const auto d = dir.path().string();
  // A CA and a server certificate for localhost and 127.0.0.1, signed by it.
  const std::string make_certs =
      "cd " + d +
      " && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca "
      "-keyout ca.key -out ca.pem 2>/dev/null && "
      "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key "
      "-out server.csr 2>/dev/null && "
      "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext.cnf && "
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
      "-extfile ext.cnf -out server.pem 2>/dev/null";
  REQUIRE(std::system(make_certs.c_str()) == 0);
  const auto body = dir.write("list.json", many_groups_json(3));
  testing::ServerProcess tls{
      testing::source_path("tests/support/tls_upstream.py"),
      {"--cert", d + "/server.pem", "--key", d + "/server.key", "--body", body.string()}};
  const std::string url = "https://localhost:" + std::to_string(tls.port());

  SECTION("with --ca-file") {
    EdgeProcess edge{testing::fast_polling(url, {"--ca-file", d + "/ca.pem"})};
    HttpClient client{edge.port()};
    CHECK(eventually([&] { return metric(client, "mutex_edge_config_groups") == 3; }));
    CHECK(client.get("/assign?device_id=x&mutex=g1").status == 200);
  }
  SECTION("without it") {
    EdgeProcess edge{testing::fast_polling(url)};
    HttpClient client{edge.port()};
    CHECK(eventually(
        [&] { return status_field(client, "lastAttempt", "result") == "network_error"; }));
    CHECK_THAT(status_field(client, "lastAttempt", "error"),
               Catch::Contains("TLS handshake") && Catch::Contains("certificate verify failed") &&
                   Catch::Contains("--ca-file"));
    CHECK(client.get("/assign?device_id=x").status == 503);
  }
  SECTION("a bad --ca-file fails at start") {
    auto result = testing::run_edge({"--upstream", url, "--ca-file", d + "/nope.pem"});
    CHECK(result.code == 1);
    CHECK_THAT(result.output, Catch::Contains("--ca-file"));
  }
}

TEST_CASE("the API key never shows in logs, /status or metrics", "[e2e][proxy][sync]") {
  EdgeProcess upstream{{"--config-file", kExample}};
  EdgeProcess edge{testing::fast_polling(upstream_url(upstream), {"--log-level", "debug"}),
                   {{"MUTEX_EDGE_API_KEY", "s3cr3t-management-key"}}};
  HttpClient client{edge.port()};
  REQUIRE(eventually([&] { return client.get("/readyz").status == 200; }));
  CHECK(client.get("/status").body.find("s3cr3t") == std::string::npos);
  CHECK(client.get("/metrics").body.find("s3cr3t") == std::string::npos);
  CHECK(edge.log().find("s3cr3t") == std::string::npos);
  auto help = testing::run_edge({"--help"});
  CHECK_THAT(help.output, Catch::Contains("MUTEX_EDGE_API_KEY"));
  CHECK(help.output.find("--api-key") == std::string::npos);  // never a flag that shows in ps
}

TEST_CASE("bad upstream settings fail at start with one clear line", "[e2e][proxy][sync][cli]") {
  CHECK_THAT(testing::run_edge({"--upstream", "ftp://x"}).output, Catch::Contains("http or https"));
  CHECK_THAT(testing::run_edge({"--upstream", "not a url"}).output, Catch::Contains("--upstream"));
  CHECK_THAT(testing::run_edge({"--upstream", "http://x", "--config-file", kExample}).output,
             Catch::Contains("not both"));
  CHECK_THAT(testing::run_edge({"--config-file", kExample, "--state-dir", "/tmp/x"}).output,
             Catch::Contains("needs --upstream"));
  CHECK(testing::run_edge({"--upstream", "http://x", "--poll-interval", "5"}).code == 2);
}

// Watch requests (a held GET /api/1/mutexes) and the chain's origin time.

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

/// The Unix time of the log line holding `marker` (its "2026-01-02T03:04:05.678Z" prefix), or
/// nothing when no line holds it yet.
std::optional<std::chrono::system_clock::time_point> logged_at(const std::string& log,
                                                               const std::string& marker) {
  const std::size_t at = log.find(marker);
  if (at == std::string::npos) {
    return std::nullopt;
  }
  const std::size_t line = log.rfind('\n', at);
  const std::string stamp = log.substr(line == std::string::npos ? 0 : line + 1, 24);
  std::tm tm{};
  int millis = 0;
  if (std::sscanf(stamp.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis) != 7) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(timegm(&tm)) + milliseconds{millis};
}

std::uint64_t watchers(HttpClient& client) {
  simdjson::dom::parser parser;
  const HttpResponse status = client.get("/status");
  std::uint64_t held = 0;
  if (parser.parse(status.body)["chain"]["watchers"].get_uint64().get(held) != simdjson::SUCCESS) {
    return 0;
  }
  return held;
}

std::string chain_field(HttpClient& client, const char* field) {
  simdjson::dom::parser parser;
  const HttpResponse status = client.get("/status");
  simdjson::dom::element value;
  if (parser.parse(status.body)["chain"][field].get(value) != simdjson::SUCCESS) {
    return {};
  }
  return simdjson::to_string(value);
}

}  // namespace

TEST_CASE("a watch is answered within 50 ms of a publish", "[e2e][proxy][sync][watch]") {
  testing::TempDir dir;
  const auto file = dir.write("groups.json", many_groups_json(3, 50));
  EdgeProcess edge{{"--config-file", file.string(), "--config-reload-interval", "10ms"}};
  HttpClient client{edge.port()};
  const HttpResponse first = client.get("/api/1/mutexes");
  REQUIRE(first.status == 200);
  CHECK(first.header("x-mutex-edge-watch") == "120");
  const std::string etag = first.header("etag");

  HttpResponse answer;
  std::chrono::system_clock::time_point answered;
  std::thread watcher{[&] {
    HttpClient watch{edge.port()};
    answer = watch.get("/api/1/mutexes", {{"If-None-Match", etag}, {"Prefer", "wait=8"}});
    answered = std::chrono::system_clock::now();
  }};
  REQUIRE(eventually([&] { return watchers(client) == 1; }));
  dir.write("groups.json", many_groups_json(3, 40));
  watcher.join();
  REQUIRE(answer.status == 200);
  CHECK(answer.header("etag") != etag);
  CHECK(answer.body.find("\"percentage\":40") != std::string::npos);
  // Measured from the publication's log line (written, to the millisecond, after the new
  // snapshot is published and before the workers are told), so the file watcher's reload
  // interval does not count; the answer only needs the workers woken and one write.
  const auto published = logged_at(edge.log(), "msg=\"config loaded\" version=2");
  REQUIRE(published);
  const auto took = std::chrono::duration_cast<milliseconds>(answered - *published);
  INFO("answered " << took.count() << " ms after the publication");
  CHECK(took < testing::scaled(milliseconds{50}));
  CHECK(watchers(client) == 0);
}

TEST_CASE("a watch times out with 304, and --max-watchers answers 503 beyond it",
          "[e2e][proxy][sync][watch]") {
  EdgeProcess edge{{"--config-file", kExample, "--max-watchers", "1"}};
  HttpClient client{edge.port()};
  const std::string etag = client.get("/api/1/mutexes").header("etag");
  // Held long enough for the second request to find it held, on a slow build too.
  const auto hold =
      std::chrono::ceil<std::chrono::seconds>(testing::scaled(std::chrono::seconds{2}));
  const std::string wait = "wait=" + std::to_string(hold.count());
  HttpResponse held;
  std::thread watcher{[&] {
    HttpClient watch{edge.port()};
    held = watch.get("/api/1/mutexes", {{"If-None-Match", etag}, {"Prefer", wait}});
  }};
  REQUIRE(eventually([&] { return watchers(client) == 1; }));
  const HttpResponse over =
      client.get("/api/1/mutexes", {{"If-None-Match", etag}, {"Prefer", wait}});
  CHECK(over.status == 503);
  CHECK(over.header("retry-after") == "1");
  CHECK_THAT(over.body, Catch::Contains("too_many_watchers"));
  const auto started = std::chrono::steady_clock::now();
  watcher.join();
  CHECK(held.status == 304);
  CHECK(held.header("etag") == etag);
  CHECK(std::chrono::steady_clock::now() - started <
        hold + testing::scaled(std::chrono::seconds{1}));
  // Without a wait, or on another ETag, the answer comes at once.
  CHECK(client.get("/api/1/mutexes", {{"If-None-Match", etag}}).status == 304);
  CHECK(client.get("/api/1/mutexes", {{"If-None-Match", "\"x\""}, {"Prefer", "wait=5"}}).status ==
        200);
  CHECK(metric(client, R"(mutex_edge_http_requests_total{code="304",route="/api/1/mutexes"})") ==
        2);
}

TEST_CASE("draining answers held watchers at once", "[e2e][proxy][sync][watch]") {
  // The wait, the grace period and the bound all scale, so that "at once" stays well short of
  // both on a slow build.
  const auto wait =
      std::chrono::ceil<std::chrono::seconds>(testing::scaled(std::chrono::seconds{9}));
  const auto grace =
      std::chrono::ceil<std::chrono::seconds>(testing::scaled(std::chrono::seconds{10}));
  EdgeProcess edge{
      {"--config-file", kExample, "--shutdown-grace", std::to_string(grace.count()) + "s"}};
  HttpClient client{edge.port()};
  const std::string etag = client.get("/api/1/mutexes").header("etag");
  HttpResponse held;
  std::chrono::steady_clock::time_point answered;
  std::thread watcher{[&] {
    HttpClient watch{edge.port()};
    held = watch.get("/api/1/mutexes",
                     {{"If-None-Match", etag}, {"Prefer", "wait=" + std::to_string(wait.count())}});
    answered = std::chrono::steady_clock::now();
  }};
  REQUIRE(eventually([&] { return watchers(client) == 1; }));
  const auto stopped = std::chrono::steady_clock::now();
  CHECK(edge.stop(SIGTERM, grace + std::chrono::seconds{5}) == 0);
  watcher.join();
  CHECK(held.status == 304);
  CHECK(held.header("connection") == "close");
  // Long before the wait (and the grace period) would have ended.
  CHECK(answered - stopped < testing::scaled(std::chrono::seconds{5}));
}

TEST_CASE("a chained mutex-edge watches a mutex-edge upstream and propagates at once",
          "[e2e][proxy][sync][watch][chain]") {
  testing::TempDir dir;
  const auto file = dir.write("groups.json", many_groups_json(3, 50));
  EdgeProcess upstream{{"--config-file", file.string(), "--config-reload-interval", "10ms"}};
  // A 30 s poll interval: only a watch can bring the change within the test.
  EdgeProcess edge{{"--upstream", upstream_url(upstream), "--poll-interval", "30s",
                    "--upstream-timeout",
                    testing::flag_value(testing::scaled(std::chrono::seconds{2}))}};
  HttpClient client{edge.port()};
  HttpClient up{upstream.port()};
  REQUIRE(eventually([&] { return watchers(up) == 1; }));
  CHECK(chain_field(client, "watchingUpstream") == "true");
  CHECK(chain_field(client, "depth") == "1");
  dir.write("groups.json", many_groups_json(3, 40));
  REQUIRE(eventually([&] { return metric(client, "mutex_edge_config_version") == 2; },
                     std::chrono::seconds{5}));
  CHECK(metric(client, "mutex_edge_config_propagation_seconds_count") == 2);  // both swaps
  CHECK(metric(client, "mutex_edge_config_origin_age_seconds") >= 0);
  // Both serve the same origin time.
  CHECK(client.get("/api/1/mutexes").header("x-mutex-edge-origin-time") ==
        up.get("/api/1/mutexes").header("x-mutex-edge-origin-time"));
  CHECK(client.get("/api/1/mutexes").header("x-mutex-edge-chain-depth") == "1");
}

TEST_CASE("pages of a listing come from one version: a cursor of another is refused",
          "[e2e][proxy][sync][watch]") {
  testing::TempDir dir;
  const auto file = dir.write("groups.json", many_groups_json(3, 50));
  EdgeProcess edge{{"--config-file", file.string(), "--config-reload-interval", "10ms"}};
  HttpClient client{edge.port()};
  const HttpResponse page = client.get("/api/1/mutexes?limit=1");
  simdjson::dom::parser parser;
  std::string_view cursor;
  REQUIRE(parser.parse(page.body)["nextCursor"].get_string().get(cursor) == simdjson::SUCCESS);
  const std::string next{cursor};
  CHECK(client.get("/api/1/mutexes?limit=1&cursor=" + next).status == 200);
  CHECK(client.get("/api/1/mutexes?limit=1&cursor=1").status == 200);  // a bare offset
  dir.write("groups.json", many_groups_json(3, 40));
  REQUIRE(eventually([&] { return metric(client, "mutex_edge_config_version") == 2; }));
  const HttpResponse refused = client.get("/api/1/mutexes?limit=1&cursor=" + next);
  CHECK(refused.status == 400);
  CHECK_THAT(refused.body, Catch::Contains("invalid_cursor"));
  CHECK(refused.header("etag") != page.header("etag"));
}

TEST_CASE("origin time survives a restart with --state-dir", "[e2e][proxy][sync][persist]") {
  testing::TempDir dir;
  const auto file = dir.write("groups.json", many_groups_json(4));
  const auto state = dir.path() / "state";
  auto upstream =
      std::make_unique<EdgeProcess>(std::vector<std::string>{"--config-file", file.string()});
  const std::string url = upstream_url(*upstream);
  std::string origin;
  {
    EdgeProcess edge{testing::fast_polling(url, {"--state-dir", state.string()})};
    HttpClient client{edge.port()};
    REQUIRE(eventually([&] { return client.get("/readyz").status == 200; }));
    origin = chain_field(client, "originFetchedAt");
    HttpClient up{upstream->port()};
    CHECK(origin == chain_field(up, "originFetchedAt"));  // the file's instance read it first
    CHECK(edge.stop(SIGTERM) == 0);
  }
  upstream->stop(SIGKILL);
  upstream.reset();
  EdgeProcess edge{testing::fast_polling(url, {"--state-dir", state.string()})};
  HttpClient client{edge.port()};
  REQUIRE(client.get("/readyz").status == 200);
  CHECK(chain_field(client, "originFetchedAt") == origin);
  CHECK(chain_field(client, "depth") == "1");
  // The persisted copy propagated nothing: no swap is counted.
  CHECK(metric(client, "mutex_edge_config_propagation_seconds_count") == 0);
}
