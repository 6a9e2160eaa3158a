// The real mutex-mgmt's cohort download endpoint, GET /sdk/v1/cohort/{id} (Amplitude's, with
// Basic apiKey:secret, lastModified/204 and maxCohortSize/413) and PUT to replace the members:
// seeds, restarts, faults and a cohort of a million members.
#include <algorithm>
#include <set>

#include <signal.h>

#include "tests/e2e/mgmt_helpers.hpp"

using namespace mutex_edge::testing;

namespace {

constexpr const char* kSecret = "cohort-secret-5a1d";

Headers basic(const std::string& key = kKey, const std::string& secret = kSecret) {
  return {{"Authorization", "Basic " + base64(key + ":" + secret)},
          {"Content-Type", "application/json"}};
}

Env cohort_env() {
  Env env = keys_env();
  env.emplace_back("MUTEX_MGMT_COHORT_SECRET", kSecret);
  return env;
}

HttpResponse get_cohort(HttpClient& client, const std::string& id, const std::string& query = "",
                        const Headers& headers = basic()) {
  return client.get("/sdk/v1/cohort/" + id + query, headers);
}

HttpResponse put_cohort(HttpClient& client, const std::string& id, const std::string& body,
                        const Headers& headers = basic()) {
  return client.request("PUT", "/sdk/v1/cohort/" + id, body, headers);
}

std::vector<std::string> members_of(const Json& cohort) {
  std::vector<std::string> out;
  for (simdjson::dom::element m : cohort["memberIds"].get_array()) {
    out.push_back(str(m));
  }
  return out;
}

std::set<std::string> keys_of(simdjson::dom::element object) {
  std::set<std::string> keys;
  for (auto field : object.get_object()) {
    keys.emplace(field.key);
  }
  return keys;
}

std::size_t count_lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

TEST_CASE("a seeded cohort downloads in Amplitude's shape with Basic apiKey:secret only",
          "[e2e][mgmt][cohort][auth]") {
  TempDir files;
  const auto seed =
      files.write("cohorts.json",
                  R"({"cohorts":[{"cohortId":"c1","memberIds":["alice","bob",42,"alice"]},
                     {"cohortId":"orgs","memberIds":["o1"],"groupType":"org","groupTypeId":4}]})");
  Mgmt m{{"--cohorts-seed", seed.string()}, cohort_env()};
  CHECK(m.server.log().find("msg=\"cohorts seeded\"") != std::string::npos);
  CHECK(m.server.log().find("cohort_auth=basic") != std::string::npos);

  const HttpResponse got = get_cohort(m.client, "c1", "?maxCohortSize=2147483647");
  INFO(got.body);
  REQUIRE(got.status == 200);
  CHECK(got.header("content-type") == "application/json");
  Json cohort{got.body};
  CHECK(keys_of(cohort.root()) == std::set<std::string>{"cohortId", "groupType", "groupTypeId",
                                                        "lastComputed", "lastModified", "size",
                                                        "memberIds"});
  CHECK(str(cohort["cohortId"]) == "c1");
  CHECK(str(cohort["groupType"]) == "User");
  CHECK(num(cohort["groupTypeId"]) == 0);
  CHECK(num(cohort["size"]) == 3);
  CHECK(members_of(cohort) == std::vector<std::string>{"alice", "bob", "42"});
  const std::int64_t modified = num(cohort["lastModified"]);
  CHECK(modified > 1'600'000'000'000);  // milliseconds since the epoch
  CHECK(num(cohort["lastComputed"]) == modified);
  Json orgs{get_cohort(m.client, "orgs").body};
  CHECK(str(orgs["groupType"]) == "org");
  CHECK(num(orgs["groupTypeId"]) == 4);

  // No credentials, a wrong key, a wrong secret, the management key as Bearer: 401.
  for (const Headers& headers :
       {Headers{}, basic("not-a-key"), basic(kKey, "wrong-secret"), basic(kKey, ""), auth(),
        Headers{{"Authorization", "Basic !!not-base64!!"}}}) {
    const HttpResponse denied = get_cohort(m.client, "c1", "", headers);
    INFO(denied.body);
    CHECK(denied.status == 401);
    CHECK(error_code(denied) == "unauthorized");
    CHECK(denied.header("www-authenticate").starts_with("Basic realm="));
    CHECK(denied.body.find(kSecret) == std::string::npos);
  }
  CHECK(get_cohort(m.client, "c1", "", basic(kOtherKey)).status == 200);  // any API key
  CHECK(m.server.log().find(kSecret) == std::string::npos);

  const HttpResponse head =
      m.client.request("HEAD", "/sdk/v1/cohort/c1", "", basic());  // HEAD answers as GET
  CHECK(head.status == 200);
  CHECK(head.body.empty());

  const HttpResponse missing = get_cohort(m.client, "nope");
  CHECK(missing.status == 404);
  CHECK(error_code(missing) == "not_found");
}

TEST_CASE("lastModified answers 204 when nothing changed and maxCohortSize 413 when too large",
          "[e2e][mgmt][cohort]") {
  Mgmt m{{}, cohort_env()};
  REQUIRE(put_cohort(m.client, "c1", R"({"memberIds":["a","b","c"]})").status == 200);
  const std::int64_t modified = num(Json{get_cohort(m.client, "c1").body}["lastModified"]);

  const HttpResponse unchanged =
      get_cohort(m.client, "c1", "?maxCohortSize=10&lastModified=" + std::to_string(modified));
  CHECK(unchanged.status == 204);
  CHECK(unchanged.body.empty());
  CHECK(unchanged.header("content-length").empty());  // a 204 has no body, nor its length
  CHECK(get_cohort(m.client, "c1", "?lastModified=" + std::to_string(modified - 1)).status == 200);

  const HttpResponse large = get_cohort(m.client, "c1", "?maxCohortSize=2");
  CHECK(large.status == 413);
  CHECK(error_code(large) == "cohort_too_large");
  CHECK(error_message(large).find("3 members") != std::string::npos);
  CHECK(get_cohort(m.client, "c1", "?maxCohortSize=3").status == 200);
  CHECK(get_cohort(m.client, "c1", "?maxCohortSize=0").status == 413);

  for (const char* query : {"?maxCohortSize=-5", "?maxCohortSize=big", "?lastModified=yesterday"}) {
    const HttpResponse bad = get_cohort(m.client, "c1", query);
    INFO(query);
    CHECK(bad.status == 400);
    CHECK(error_code(bad) == "invalid_query");
  }
  // The connection is still usable after all of that (keep-alive across a 204).
  CHECK(get_cohort(m.client, "c1").status == 200);
}

TEST_CASE("PUT replaces a cohort's members, bumps lastModified, and survives a restart",
          "[e2e][mgmt][cohort][storage]") {
  TempDir dir;
  const std::string db = (dir.path() / "state.sqlite3").string();
  std::string before;
  {
    Mgmt m{{}, cohort_env(), db};
    HttpResponse created = put_cohort(m.client, "vip", R"({"memberIds":["u1",2]})");
    INFO(created.body);
    REQUIRE(created.status == 200);
    Json summary{created.body};
    CHECK(keys_of(summary.root()) == std::set<std::string>{"cohortId", "groupType", "groupTypeId",
                                                           "lastComputed", "lastModified", "size"});
    const std::int64_t first = num(summary["lastModified"]);
    CHECK(num(summary["size"]) == 2);

    // Two puts at once or within a millisecond still give a later lastModified each time.
    std::int64_t previous = first;
    for (int i = 0; i < 5; ++i) {
      const HttpResponse again =
          put_cohort(m.client, "vip", R"({"memberIds":["u)" + std::to_string(i) + R"("]})");
      REQUIRE(again.status == 200);
      const std::int64_t now = num(Json{again.body}["lastModified"]);
      CHECK(now > previous);
      previous = now;
    }
    // A client holding the old copy downloads the new one.
    Json latest{get_cohort(m.client, "vip", "?lastModified=" + std::to_string(first)).body};
    CHECK(members_of(latest) == std::vector<std::string>{"u4"});
    CHECK(num(latest["lastModified"]) == previous);

    const HttpResponse bad = put_cohort(m.client, "vip", R"({"memberIds":[true]})");
    CHECK(bad.status == 400);
    CHECK(error_code(bad) == "invalid_type");
    CHECK(error_message(bad) == "memberIds[0]: must be a string or an integer, got a boolean");
    CHECK(error_code(put_cohort(m.client, "vip", R"({"members":[]})")) == "missing_field");
    CHECK(put_cohort(m.client, "vip", R"({"memberIds":[]})",
                     {{"Authorization", basic()[0].second}, {"Content-Type", "text/plain"}})
              .status == 415);
    CHECK(m.client.request("DELETE", "/sdk/v1/cohort/vip", "", basic()).status == 405);
    before = get_cohort(m.client, "vip").body;
    CHECK(m.server.stop(SIGTERM) == 0);
  }
  Mgmt m{{}, cohort_env(), db};
  CHECK(get_cohort(m.client, "vip").body == before);
}

TEST_CASE(
    "the cohorts seed loads only into a database without cohorts, and a bad one stops "
    "the start with one line",
    "[e2e][mgmt][cohort][seed][cli]") {
  TempDir dir;
  const std::string db = (dir.path() / "state.sqlite3").string();
  const auto seed =
      dir.write("cohorts.json", R"({"cohorts":[{"cohortId":"s1","memberIds":["a"]}]})");
  {
    Mgmt m{{"--cohorts-seed", seed.string()}, cohort_env(), db};
    REQUIRE(put_cohort(m.client, "s1", R"({"memberIds":["b"]})").status == 200);
    CHECK(m.server.stop(SIGTERM) == 0);
  }
  const auto other =
      dir.write("other.json", R"({"cohorts":[{"cohortId":"s2","memberIds":["c"]}]})");
  Mgmt again{{"--cohorts-seed", other.string()}, cohort_env(), db};
  CHECK(again.server.log().find("cohorts seed skipped") != std::string::npos);
  CHECK(members_of(Json{get_cohort(again.client, "s1").body}) == std::vector<std::string>{"b"});
  CHECK(get_cohort(again.client, "s2").status == 404);

  const auto bad_member =
      dir.write("bad.json", R"({"cohorts":[{"cohortId":"x","memberIds":["a",1.5]}]})");
  const auto dup =
      dir.write("dup.json",
                R"({"cohorts":[{"cohortId":"x","memberIds":[]},{"cohortId":"x","memberIds":[]}]})");
  const auto not_json = dir.write("broken.json", R"({"cohorts":[)");
  const std::string fresh = (dir.path() / "fresh.sqlite3").string();
  struct Case {
    std::vector<std::string> args;
    Env env;
    int code;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"--cohorts-seed", bad_member.string()}, cohort_env(), 1, "memberIds[1]"},
      {{"--cohorts-seed", dup.string()}, cohort_env(), 1, "used by more than one cohort"},
      {{"--cohorts-seed", not_json.string()}, cohort_env(), 1, "not valid JSON"},
      {{"--cohorts-seed", "/nonexistent/c.json"}, cohort_env(), 1, "/nonexistent/c.json"},
      {{"--cohorts-seed", seed.string()}, keys_env(), 2, "MUTEX_MGMT_COHORT_SECRET"},
      {{"--max-cohort-members", "0"}, cohort_env(), 2, "--max-cohort-members"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"--db", fresh};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const auto result = run_binary(kMgmtBinary, args, c.env);
    INFO(result.output);
    CHECK(result.code == c.code);
    CHECK(result.output.find(c.says) != std::string::npos);
    CHECK(count_lines(result.output) == 1);
    CHECK(result.output.starts_with("mutex-mgmt: "));
    CHECK(result.output.find(kSecret) == std::string::npos);
  }
  const auto help = run_binary(kMgmtBinary, {"--help"});
  for (const char* name : {"--cohorts-seed", "MUTEX_MGMT_COHORTS_SEED", "MUTEX_MGMT_COHORT_SECRET",
                           "--max-cohort-body-bytes", "--max-cohort-members"}) {
    INFO(name);
    CHECK(help.output.find(name) != std::string::npos);
  }
}

TEST_CASE("without MUTEX_MGMT_COHORT_SECRET every cohort request is 401, saying why",
          "[e2e][mgmt][cohort][auth]") {
  Mgmt m;  // keys, no secret
  CHECK(m.server.log().find("cohort_auth=disabled") != std::string::npos);
  for (const std::string& secret : {std::string{""}, std::string{kSecret}}) {
    const HttpResponse denied = get_cohort(m.client, "c1", "", basic(kKey, secret));
    CHECK(denied.status == 401);
    CHECK(error_message(denied).find("MUTEX_MGMT_COHORT_SECRET") != std::string::npos);
  }
}

TEST_CASE("fault flags apply to cohort downloads and never to cohort uploads",
          "[e2e][mgmt][cohort][faults]") {
  Mgmt m{{"--fault-500-percent", "100"}, cohort_env()};
  REQUIRE(put_cohort(m.client, "c1", R"({"memberIds":["a"]})").status == 200);
  const HttpResponse r = get_cohort(m.client, "c1");
  CHECK(r.status == 500);
  CHECK(error_code(r) == "internal_error");
  CHECK(get_cohort(m.client, "c1", "", Headers{}).status == 401);  // auth comes first

  Mgmt dropping{{"--fault-drop-percent", "100"}, cohort_env()};
  REQUIRE(put_cohort(dropping.client, "c1", R"({"memberIds":["a"]})").status == 200);
  HttpClient fresh{dropping.server.port()};
  fresh.send_raw("GET /sdk/v1/cohort/c1 HTTP/1.1\r\nHost: x\r\nAuthorization: " +
                 basic()[0].second + "\r\n\r\n");
  CHECK(fresh.closed_by_peer());
}

TEST_CASE("a cohort of a million members uploads and downloads whole",
          "[e2e][mgmt][cohort][large]") {
  Mgmt m{{}, cohort_env()};
  constexpr int kMembers = 1'000'000;
  std::string body = R"({"memberIds":[)";
  body.reserve(kMembers * 16);
  for (int i = 0; i < kMembers; ++i) {
    body += (i == 0 ? "\"user-" : ",\"user-") + std::to_string(i) + "\"";
  }
  body += "]}";
  REQUIRE(body.size() > 1024 * 1024);  // over the group routes' --max-body-bytes
  const HttpResponse put = put_cohort(m.client, "big", body);
  INFO(put.body.substr(0, 300));
  REQUIRE(put.status == 200);
  CHECK(num(Json{put.body}["size"]) == kMembers);

  const HttpResponse got = get_cohort(m.client, "big", "?maxCohortSize=2147483647");
  REQUIRE(got.status == 200);
  Json cohort{got.body};
  CHECK(num(cohort["size"]) == kMembers);
  simdjson::dom::array members = cohort["memberIds"].get_array();
  CHECK(members.size() == kMembers);
  CHECK(str(members.at(kMembers - 1)) == "user-999999");
  CHECK(get_cohort(m.client, "big", "?maxCohortSize=999999").status == 413);

  // The group routes keep --max-body-bytes (1 MiB), the cohort route its own limit: a head
  // announcing more is answered at once.
  auto announce = [&](const std::string& target, std::size_t bytes) {
    HttpClient client{m.server.port()};
    client.send_raw("PUT " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
                    "Authorization: " + basic()[0].second +
                    "\r\nContent-Length: " + std::to_string(bytes) + "\r\n\r\n");
    return client.read_response();
  };
  const HttpResponse group = announce("/api/1/mutexes/1", body.size());
  CHECK(group.status == 413);
  CHECK(error_code(group) == "payload_too_large");
  CHECK(error_message(group).find("1048576 bytes") != std::string::npos);
  const HttpResponse huge = announce("/sdk/v1/cohort/big", (std::size_t{256} << 20) + 1);
  CHECK(huge.status == 413);
  CHECK(error_message(huge).find("268435456 bytes") != std::string::npos);
}
