#pragma once
// Shared by the tests of the mutex-mgmt binary: a mutex-mgmt on a fresh database, a client.

#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <simdjson.h>

#include "tests/support/checks.hpp"
#include "tests/support/edge_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/json.hpp"

namespace mutex_edge::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

inline constexpr const char* kKey = "k3y-for-the-tests-7f1c";
inline constexpr const char* kOtherKey = "second-key-0b2e";

inline Env keys_env() {
  return {{"MUTEX_MGMT_API_KEYS", std::string{" "} + kOtherKey + " , " + kKey + ","}};
}
inline Headers auth() {
  return {{"Authorization", std::string{"Bearer "} + kKey}};
}
inline Headers json_auth() {
  return {{"Authorization", std::string{"Bearer "} + kKey}, {"Content-Type", "application/json"}};
}

/// A minimal valid create body: two slots, 40/60.
inline std::string group_body(const std::string& name, const std::string& extra = "") {
  return R"({"projectId":12345,"name":")" + name + "\"," + extra +
         R"("slots":[{"percentage":40},{"percentage":60}]})";
}

/// mutex-mgmt on `db` (a fresh one in a temp dir by default) with a client connected to it.
struct Mgmt {
  explicit Mgmt(std::vector<std::string> extra = {}, Env env = keys_env(), std::string db_path = {})
      : db{db_path.empty() ? (dir.path() / "state.sqlite3").string() : std::move(db_path)},
        server{with_db(std::move(extra), db), env},
        client{server.port()} {}

  HttpResponse get(const std::string& target) { return client.get(target, auth()); }
  HttpResponse post(const std::string& target, const std::string& body) {
    return client.request("POST", target, body, json_auth());
  }
  HttpResponse patch(const std::string& target, const std::string& body) {
    return client.request("PATCH", target, body, json_auth());
  }
  /// Creates a group and returns its id (the test fails if it cannot).
  std::int64_t create(const std::string& name, const std::string& extra = "");

  TempDir dir;
  std::string db;
  MgmtProcess server;
  HttpClient client;

 private:
  static std::vector<std::string> with_db(std::vector<std::string> args, const std::string& db) {
    args.insert(args.begin(), {"--db", db});
    return args;
  }
};

inline std::int64_t Mgmt::create(const std::string& name, const std::string& extra) {
  const HttpResponse response = post("/api/1/mutexes", group_body(name, extra));
  INFO(response.body);
  REQUIRE(response.status == 200);
  return num(Json{response.body}["id"]);
}

/// Every group listed, following nextCursor (bounded).
inline std::vector<std::int64_t> list_ids(HttpClient& client, int limit = 1000) {
  std::vector<std::int64_t> ids;
  std::string cursor;
  for (int page = 0; page < 1000; ++page) {
    const std::string target = "/api/1/mutexes?limit=" + std::to_string(limit) +
                               (cursor.empty() ? "" : "&cursor=" + cursor);
    const HttpResponse response = client.get(target, auth());
    REQUIRE(response.status == 200);
    Json json{response.body};
    for (simdjson::dom::element group : json["mutexes"].get_array()) {
      ids.push_back(num(group["id"]));
    }
    if (json["nextCursor"].is_null()) {
      return ids;
    }
    cursor = str(json["nextCursor"]);
  }
  FAIL("more than 1000 pages");
  return ids;
}

}  // namespace mutex_edge::testing
