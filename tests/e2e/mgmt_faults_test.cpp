// Injected upstream faults on the read endpoints (list and get) of the real mutex-mgmt.
#include <atomic>

#include "tests/e2e/mgmt_helpers.hpp"
#include "tests/support/timing.hpp"

using namespace mutex_edge::testing;

namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

bool is_json(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::element element;
  return parser.parse(text).get(element) == simdjson::SUCCESS;
}

}  // namespace

TEST_CASE("fault-latency delays reads on a timer while writes are not delayed and reads overlap",
          "[e2e][mgmt][faults]") {
  // The lower bounds are exact (a read never answers before its delay); the upper bounds only
  // tell a timer from a sleep, with a margin of seconds for a loaded machine.
  const auto kLatency = scaled(std::chrono::milliseconds{1000});
  Mgmt m{{"--fault-latency", flag_value(kLatency), "--threads", "1"}};
  auto start = Clock::now();
  const std::int64_t id = m.create("Slow reads");
  CHECK(since(start) < kLatency);

  start = Clock::now();
  CHECK(m.get("/api/1/mutexes/" + std::to_string(id)).status == 200);
  CHECK(since(start) >= kLatency);
  start = Clock::now();
  CHECK(m.get("/api/1/mutexes").status == 200);
  CHECK(since(start) >= kLatency);

  // Four reads at once on one server thread: a blocking sleep would take 4 x 1 s.
  start = Clock::now();
  std::atomic<int> ok{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      HttpClient client{m.server.port()};
      ok += client.get("/api/1/mutexes", auth()).status == 200 ? 1 : 0;
    });
  }
  for (auto& t : readers) {
    t.join();
  }
  CHECK(ok == 4);
  CHECK(since(start) >= kLatency);
  CHECK(since(start) < 3 * kLatency);
}

TEST_CASE("fault-500-percent 100 answers every read 500 while writes and health are unaffected",
          "[e2e][mgmt][faults]") {
  Mgmt m{{"--fault-500-percent", "100"}};
  const std::int64_t id = m.create("Broken reads");
  for (const std::string& target :
       std::vector<std::string>{"/api/1/mutexes", "/api/1/mutexes/" + std::to_string(id)}) {
    const HttpResponse r = m.get(target);
    CHECK(r.status == 500);
    CHECK(error_code(r) == "internal_error");
  }
  CHECK(m.patch("/api/1/mutexes/" + std::to_string(id), R"({"name":"still writable"})").status ==
        200);
  CHECK(m.client.get("/healthz", {}).status == 200);
  CHECK(m.client.get("/api/1/mutexes", {}).status == 401);  // auth comes first
}

TEST_CASE("fault-429-percent answers 429 with the fault-retry-after seconds",
          "[e2e][mgmt][faults]") {
  Mgmt m{{"--fault-429-percent", "100", "--fault-retry-after", "2"}};
  const HttpResponse r = m.get("/api/1/mutexes");
  CHECK(r.status == 429);
  CHECK(r.header("retry-after") == "2");
  CHECK(error_code(r) == "rate_limited");
}

TEST_CASE("fault-truncate-percent cuts the body in half with a matching Content-Length",
          "[e2e][mgmt][faults]") {
  Mgmt m{{"--fault-truncate-percent", "100"}};
  const std::int64_t id = m.create("Cut short");
  const std::string path = "/api/1/mutexes/" + std::to_string(id);
  const std::string full = m.patch(path, "{}").body;  // edits answer the whole group
  REQUIRE(is_json(full));

  const HttpResponse r = m.get(path);
  CHECK(r.status == 200);
  CHECK(r.body == full.substr(0, full.size() / 2));
  CHECK(r.header("content-length") == std::to_string(full.size() / 2));
  CHECK_FALSE(is_json(r.body));
  // Valid HTTP: the connection goes on.
  CHECK(m.get("/api/1/mutexes").status == 200);
}

TEST_CASE("fault-drop-percent closes the connection without an answer", "[e2e][mgmt][faults]") {
  Mgmt m{{"--fault-drop-percent", "100"}};
  const std::int64_t id = m.create("Dropped");
  CHECK_THROWS(m.get("/api/1/mutexes/" + std::to_string(id)));
  HttpClient again{m.server.port()};
  CHECK_THROWS(again.get("/api/1/mutexes", auth()));
  HttpClient writer{m.server.port()};
  CHECK(
      writer
          .request("PATCH", "/api/1/mutexes/" + std::to_string(id), R"({"name":"ok"})", json_auth())
          .status == 200);
}

TEST_CASE("fault shares follow fault-seed and come from MUTEX_MGMT variables too",
          "[e2e][mgmt][faults]") {
  auto run = [](std::uint64_t seed) {
    Env env = keys_env();
    env.emplace_back("MUTEX_MGMT_FAULT_500_PERCENT", "30");
    env.emplace_back("MUTEX_MGMT_FAULT_429_PERCENT", "20");
    env.emplace_back("MUTEX_MGMT_FAULT_SEED", std::to_string(seed));
    Mgmt m{{}, env};
    std::string statuses;
    for (int i = 0; i < 300; ++i) {
      const int status = m.get("/api/1/mutexes").status;
      statuses += status == 200 ? '.' : status == 500 ? 'E' : status == 429 ? 'R' : '?';
    }
    return statuses;
  };
  const std::string first = run(7);
  INFO(first);
  const auto errors = std::count(first.begin(), first.end(), 'E');
  const auto limited = std::count(first.begin(), first.end(), 'R');
  CHECK(std::count(first.begin(), first.end(), '?') == 0);
  CHECK(errors > 60);  // 30% of 300 is 90
  CHECK(errors < 120);
  CHECK(limited > 35);  // 20% of 300 is 60
  CHECK(limited < 85);
  CHECK(run(7) == first);
  CHECK(run(8) != first);
}
