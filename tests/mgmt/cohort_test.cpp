// mutex-mgmt's cohort download endpoint in-process: Basic credentials, the cohort decoders, the
// store's cohorts, and GET/PUT /sdk/v1/cohort/{id} through mgmt::Api.
#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <simdjson.h>

#include "config/cohorts.hpp"
#include "http/basic_auth.hpp"
#include "mgmt/api.hpp"
#include "mgmt/store.hpp"
#include "tests/support/checks.hpp"
#include "tests/support/files.hpp"

using namespace mutex_edge;
using mutex_edge::testing::base64;

namespace {

std::string basic(std::string_view user, std::string_view password) {
  return "Basic " + base64(std::string{user} + ":" + std::string{password});
}

/// A store on a fresh database and an Api over it, with key "key-1" and secret "s3cret".
struct Fixture {
  Fixture() : store{open(dir)}, keys{http::BearerKeys::parse("key-1,key-2")} {
    mgmt::Api::Options options;
    options.cohort_auth = http::BasicAuth{keys, "s3cret"};
    options.cohort_limits.max_members = 10;
    api = std::make_unique<mgmt::Api>(*store, keys, options);
  }
  static std::unique_ptr<mgmt::Store> open(const testing::TempDir& in) {
    auto opened = mgmt::Store::open((in.path() / "db.sqlite3").string());
    REQUIRE(opened.has_value());
    return std::move(*opened);
  }

  http::Response call(http::Method method, const std::string& target, const std::string& body = "",
                      const std::string& authorization = basic("key-1", "s3cret")) {
    http::Request request;
    request.method = method;
    request.target = target;
    request.authorization = authorization;
    request.content_type = "application/json";
    request.body = body;
    http::Response response;
    api->handle(request, response);
    return response;
  }

  testing::TempDir dir;
  std::unique_ptr<mgmt::Store> store;
  http::BearerKeys keys;
  std::unique_ptr<mgmt::Api> api;
};

std::string code_of(const http::Response& response) {
  simdjson::dom::parser parser;
  std::string_view code;
  if (parser.parse(response.body)["error"]["code"].get(code) != simdjson::SUCCESS) {
    return {};
  }
  return std::string{code};
}

}  // namespace

TEST_CASE("Basic credentials are an API key and the cohort secret, both checked",
          "[mgmt][unit][cohort][auth]") {
  const http::BasicAuth auth{http::BearerKeys::parse("alpha,beta"), "se:cret"};
  CHECK(auth.has_secret());
  CHECK(auth.check(basic("alpha", "se:cret")) == http::KeyCheck::kOk);
  CHECK(auth.check("basic " + base64("beta:se:cret")) == http::KeyCheck::kOk);
  CHECK(auth.check("  BASIC   " + base64("beta:se:cret") + " ") == http::KeyCheck::kOk);
  CHECK(auth.check(basic("gamma", "se:cret")) == http::KeyCheck::kInvalid);  // wrong key
  CHECK(auth.check(basic("alpha", "se:cre")) == http::KeyCheck::kInvalid);   // wrong secret
  CHECK(auth.check(basic("alpha", "")) == http::KeyCheck::kInvalid);
  CHECK(auth.check(basic("", "se:cret")) == http::KeyCheck::kInvalid);
  CHECK(auth.check("") == http::KeyCheck::kMissing);
  CHECK(auth.check("Bearer alpha") == http::KeyCheck::kMissing);
  CHECK(auth.check("Basic") == http::KeyCheck::kMissing);
  CHECK(auth.check("Basic !!!!") == http::KeyCheck::kMissing);                // not base64
  CHECK(auth.check("Basic " + base64("alpha")) == http::KeyCheck::kMissing);  // no ':'
  CHECK(auth.check(basic("", "")) == http::KeyCheck::kMissing);

  const auto parsed = http::parse_basic(basic("alpha", "a:b:c"));
  REQUIRE(parsed.has_value());
  CHECK(parsed->user == "alpha");
  CHECK(parsed->password == "a:b:c");

  // No secret: nobody gets in, not even with a right key.
  const http::BasicAuth closed{http::BearerKeys::parse("alpha"), ""};
  CHECK_FALSE(closed.has_secret());
  CHECK(closed.check(basic("alpha", "")) == http::KeyCheck::kInvalid);
  CHECK(http::BasicAuth{}.check(basic("alpha", "x")) == http::KeyCheck::kInvalid);
}

TEST_CASE("a cohort PUT body takes member ids as strings or integers, once each",
          "[mgmt][unit][cohort]") {
  config::CohortLimits limits;
  auto put = config::decode_cohort_put(
      R"({"memberIds":["u1",42,"u1","42",-3],"groupType":"User","cohortId":"ignored"})", limits);
  REQUIRE(put.has_value());
  CHECK(put->members == std::vector<std::string>{"u1", "42", "-3"});
  CHECK(put->group_type == "User");
  CHECK_FALSE(put->group_type_id.has_value());

  auto empty = config::decode_cohort_put(R"({"memberIds":[],"groupTypeId":7})", limits);
  REQUIRE(empty.has_value());
  CHECK(empty->members.empty());
  CHECK(empty->group_type_id == 7);

  auto refused = [&](const std::string& body) {
    auto r = config::decode_cohort_put(body, limits);
    REQUIRE_FALSE(r.has_value());
    return r.error().field_message();
  };
  CHECK_THAT(refused("{}"), Catch::StartsWith("memberIds: is required"));
  CHECK_THAT(refused(R"({"memberIds":null})"), Catch::StartsWith("memberIds: must be an array"));
  CHECK_THAT(refused(R"({"memberIds":["a",true]})"),
             Catch::Equals("memberIds[1]: must be a string or an integer, got a boolean"));
  CHECK_THAT(refused(R"({"memberIds":[0.5]})"), Catch::StartsWith("memberIds[0]: must be"));
  CHECK_THAT(refused(R"({"memberIds":[9007199254740993]})"),
             Catch::Contains("send it as a string"));
  CHECK_THAT(refused(R"({"memberIds":[],"groupType":""})"),
             Catch::Equals("groupType: must not be empty"));
  CHECK_THAT(refused(R"({"memberIds":[],"groupTypeId":"1"})"),
             Catch::StartsWith("groupTypeId: must be an integer"));
  CHECK_THAT(refused("[]"), Catch::Contains("must be a JSON object"));
  limits.max_members = 2;
  CHECK_THAT(refused(R"({"memberIds":["a","b","c"]})"),
             Catch::Equals("memberIds: has 3 items, at most 2 are allowed"));
}

TEST_CASE("a cohort seed file loads, or fails naming the cohort and field",
          "[mgmt][unit][cohort][seed]") {
  testing::TempDir dir;
  const config::CohortLimits limits;
  const auto good = dir.write("c.json", R"({"cohorts":[
    {"cohortId":"abc_1","memberIds":["x",7,"x"]},
    {"cohortId":"org-2","memberIds":[],"groupType":"org","groupTypeId":3,"lastModified":1700000000000,"lastComputed":"1690000000000"}]})");
  auto loaded = config::load_cohorts_file(good, limits);
  INFO((loaded ? std::string{} : loaded.error().message));
  REQUIRE(loaded.has_value());
  REQUIRE(loaded->size() == 2);
  const config::Cohort& first = (*loaded)[0];
  CHECK(first.id == "abc_1");
  CHECK(first.group_type == "User");
  CHECK(first.group_type_id == 0);
  CHECK(first.members == std::vector<std::string>{"x", "7"});
  CHECK_FALSE(first.last_modified.has_value());
  const config::Cohort& second = (*loaded)[1];
  CHECK(second.group_type == "org");
  CHECK(second.group_type_id == 3);
  CHECK(second.last_modified == 1700000000000);
  CHECK(second.last_computed == 1690000000000);

  auto error_of = [&](const std::string& text) {
    auto r = config::load_cohorts_file(dir.write("bad.json", text), limits);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message.find('\n') == std::string::npos);  // one line
    CHECK_THAT(r.error().message, Catch::Contains("bad.json"));
    return r.error().message;
  };
  CHECK_THAT(error_of("{"), Catch::Contains("not valid JSON"));
  CHECK_THAT(error_of(R"({"mutexes":[]})"), Catch::Contains(R"(a "cohorts" array)"));
  CHECK_THAT(
      error_of(R"({"cohorts":[{"cohortId":"a","memberIds":[]},{"cohortId":"a","memberIds":[]}]})"),
      Catch::Contains(R"(cohorts[1]: cohortId "a" is used by more than one cohort)"));
  CHECK_THAT(error_of(R"({"cohorts":[{"cohortId":"a b","memberIds":[]}]})"),
             Catch::Contains("cohorts[0] field cohortId: must be 1 to 256 characters"));
  CHECK_THAT(
      error_of(R"({"cohorts":[{"cohortId":"a","memberIds":[1,{}]}]})"),
      Catch::Contains(
          R"(cohorts[0] (cohortId "a") field memberIds[1]: must be a string or an integer, got an object)"));
  CHECK_THAT(error_of(R"({"cohorts":[{"memberIds":[]}]})"),
             Catch::Contains("cohorts[0] field cohortId: is required"));
  CHECK_THAT(error_of(R"({"cohorts":[{"cohortId":"a"}]})"),
             Catch::Contains(R"(cohorts[0] (cohortId "a") field memberIds: is required)"));
  CHECK_THAT(error_of(R"({"cohorts":[7]})"), Catch::Contains("cohorts[0]: must be an object"));
  auto missing = config::load_cohorts_file(dir.path() / "none.json", limits);
  REQUIRE_FALSE(missing.has_value());
  CHECK_THAT(missing.error().message, Catch::Contains("none.json"));
}

TEST_CASE("cohort ids are URL-safe names", "[mgmt][unit][cohort]") {
  CHECK(config::valid_cohort_id("abc123"));
  CHECK(config::valid_cohort_id("A.b_c~d-e"));
  CHECK(config::valid_cohort_id(std::string(256, 'x')));
  CHECK_FALSE(config::valid_cohort_id(std::string(257, 'x')));
  CHECK_FALSE(config::valid_cohort_id(""));
  CHECK_FALSE(config::valid_cohort_id("a/b"));
  CHECK_FALSE(config::valid_cohort_id("a%20b"));
  CHECK_FALSE(config::valid_cohort_id("\xc3\xa9"));
}

TEST_CASE("the store keeps cohorts, and lastModified grows with every put",
          "[mgmt][unit][cohort][store]") {
  testing::TempDir dir;
  {
    auto store = Fixture::open(dir);
    CHECK(*store->cohort_count() == 0);
    auto first = store->put_cohort("c1", {{"a", "b"}, std::nullopt, std::nullopt}, 1000);
    REQUIRE(first.has_value());
    CHECK(first->last_modified == 1000);
    CHECK(first->last_computed == 1000);
    CHECK(first->size == 2);
    CHECK(first->group_type == "User");
    CHECK(first->group_type_id == 0);
    // The same millisecond, and a clock gone back: still later than before.
    auto second = store->put_cohort("c1", {{"c"}, std::string{"org"}, std::int64_t{5}}, 1000);
    REQUIRE(second.has_value());
    CHECK(second->last_modified == 1001);
    auto third = store->put_cohort("c1", {{"c", "d"}, std::nullopt, std::nullopt}, 10);
    REQUIRE(third.has_value());
    CHECK(third->last_modified == 1002);
    CHECK(third->group_type == "org");  // kept when not given
    CHECK(third->group_type_id == 5);
    const std::uint64_t version = store->data_version();
    CHECK(version == 3);

    bool asked = false;
    auto head = store->cohort("c1", [&](const mgmt::Store::StoredCohort& c) {
      asked = true;
      CHECK(c.size == 2);
      return false;
    });
    REQUIRE(head.has_value());
    CHECK(asked);
    CHECK(head->members_json.empty());
    auto missing = store->cohort("nope", [](const auto&) { return true; });
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().code == mgmt::ErrorCode::kNotFound);

    // A seed goes in only when there is no cohort at all.
    config::Cohort seeded;
    seeded.id = "s";
    CHECK(*store->seed_cohorts_if_empty({seeded}, 5) == 0);
    CHECK(store->data_version() == version);
  }
  auto reopened = Fixture::open(dir);  // durable across a restart
  auto kept = reopened->cohort("c1", [](const auto&) { return true; });
  REQUIRE(kept.has_value());
  CHECK(kept->members_json == R"(["c","d"])");
  CHECK(kept->last_modified == 1002);
  CHECK(reopened->data_version() == 3);

  testing::TempDir other;
  auto fresh = Fixture::open(other);
  config::Cohort a, b;
  a.id = "a";
  a.members = {"x\"y", "z"};
  b.id = "b";
  b.last_modified = 77;
  CHECK(*fresh->seed_cohorts_if_empty({a, b}, 500) == 2);
  CHECK(fresh->data_version() == 1);
  auto got_a = fresh->cohort("a", [](const auto&) { return true; });
  REQUIRE(got_a.has_value());
  CHECK(got_a->last_modified == 500);
  CHECK(got_a->last_computed == 500);
  CHECK(got_a->members_json == R"(["x\"y","z"])");
  CHECK(fresh->cohort("b", [](const auto&) { return false; })->last_modified == 77);
}

TEST_CASE("GET and PUT /sdk/v1/cohort/{id} answer as Amplitude's cohort API",
          "[mgmt][unit][cohort][api]") {
  using http::Method;
  Fixture f;
  const std::string path = "/sdk/v1/cohort/c1";
  CHECK(f.call(Method::kGet, path).status == 404);

  http::Response put = f.call(Method::kPut, path, R"({"memberIds":["a",2]})");
  INFO(put.body);
  REQUIRE(put.status == 200);
  simdjson::dom::parser parser;
  simdjson::dom::element summary = parser.parse(put.body);
  std::int64_t modified = 0;
  REQUIRE(summary["lastModified"].get(modified) == simdjson::SUCCESS);
  CHECK(summary["size"].get_int64().value() == 2);
  CHECK(summary["memberIds"].error() == simdjson::NO_SUCH_FIELD);  // the summary only

  http::Response got = f.call(Method::kGet, path + "?maxCohortSize=2147483647");
  REQUIRE(got.status == 200);
  CHECK(got.body == R"({"cohortId":"c1","groupType":"User","groupTypeId":0,"lastComputed":)" +
                        std::to_string(modified) + R"(,"lastModified":)" +
                        std::to_string(modified) + R"(,"size":2,"memberIds":["a","2"]})");

  http::Response unchanged =
      f.call(Method::kGet, path + "?lastModified=" + std::to_string(modified));
  CHECK(unchanged.status == 204);
  CHECK(unchanged.body.empty());
  CHECK(f.call(Method::kGet, path + "?lastModified=" + std::to_string(modified + 5)).status == 204);
  CHECK(f.call(Method::kGet, path + "?lastModified=" + std::to_string(modified - 1)).status == 200);
  http::Response large = f.call(Method::kGet, path + "?maxCohortSize=1");
  CHECK(large.status == 413);
  CHECK(code_of(large) == "cohort_too_large");
  CHECK(f.call(Method::kGet, path + "?maxCohortSize=1&lastModified=" + std::to_string(modified))
            .status == 204);  // nothing to send: not modified comes first
  for (const char* query : {"?maxCohortSize=-1", "?maxCohortSize=abc", "?lastModified=",
                            "?lastModified=1.5", "?maxCohortSize=99999999999999999999"}) {
    INFO(query);
    http::Response bad = f.call(Method::kGet, path + query);
    CHECK(bad.status == 400);
    CHECK(code_of(bad) == "invalid_query");
  }

  // Auth: none, a wrong key, a wrong secret, a Bearer key.
  for (const std::string& authorization : {std::string{}, basic("key-3", "s3cret"),
                                           basic("key-2", "s3cre"), std::string{"Bearer key-1"}}) {
    INFO(authorization);
    http::Response denied = f.call(Method::kGet, path, "", authorization);
    CHECK(denied.status == 401);
    CHECK(code_of(denied) == "unauthorized");
    CHECK_THAT(denied.headers, Catch::Contains("WWW-Authenticate: Basic realm=\"mutex-mgmt\""));
    CHECK(f.call(Method::kPut, path, R"({"memberIds":[]})", authorization).status == 401);
  }
  CHECK(f.call(Method::kGet, path, "", basic("key-2", "s3cret")).status == 200);

  // PUT replaces the members and bumps lastModified.
  REQUIRE(f.call(Method::kPut, path, R"({"memberIds":["z"],"groupType":"User"})").status == 200);
  got = f.call(Method::kGet, path);
  REQUIRE(got.status == 200);
  simdjson::dom::element replaced = parser.parse(got.body);
  CHECK(replaced["lastModified"].get_int64().value() > modified);
  CHECK(replaced["size"].get_int64().value() == 1);
  CHECK(simdjson::to_string(replaced["memberIds"].value()) == R"(["z"])");

  CHECK(code_of(f.call(Method::kPut, path, R"({"memberIds":[1,2,3,4,5,6,7,8,9,10,11]})")) ==
        "too_many_items");
  CHECK(code_of(f.call(Method::kPut, path, "not json")) == "invalid_json");
  CHECK(code_of(f.call(Method::kPut, "/sdk/v1/cohort/a%20b", R"({"memberIds":[]})")) ==
        "invalid_value");
  CHECK(f.call(Method::kGet, "/sdk/v1/cohort/a%20b").status == 404);
  CHECK(f.call(Method::kGet, "/sdk/v1/cohort/").status == 404);
  CHECK(f.call(Method::kGet, "/sdk/v1/cohort/c1/x").status == 404);
  CHECK(f.call(Method::kGet, "/sdk/v1/cohort").status == 404);
  http::Response wrong_method = f.call(Method::kPost, path, "{}");
  CHECK(wrong_method.status == 405);
  CHECK_THAT(wrong_method.headers, Catch::Contains("Allow: GET, HEAD, PUT"));

  const std::string credentials = basic("key-1", "s3cret");  // the request holds views
  http::Request text;
  text.method = Method::kPut;
  text.target = path;
  text.authorization = credentials;
  text.content_type = "text/plain";
  text.body = R"({"memberIds":[]})";
  http::Response response;
  CHECK(f.api->handle(text, response) == mgmt::Route::kUnknown);
  CHECK(response.status == 415);
}

TEST_CASE("without a cohort secret the cohort endpoint refuses everyone, saying why",
          "[mgmt][unit][cohort][auth]") {
  testing::TempDir dir;
  auto store = Fixture::open(dir);
  const http::BearerKeys keys = http::BearerKeys::parse("key-1");
  mgmt::Api api{*store, keys, mgmt::Api::Options{}};
  const std::string credentials = basic("key-1", "");  // the request holds views
  http::Request request;
  request.method = http::Method::kGet;
  request.target = "/sdk/v1/cohort/c1";
  request.authorization = credentials;
  http::Response response;
  api.handle(request, response);
  CHECK(response.status == 401);
  CHECK_THAT(response.body, Catch::Contains("MUTEX_MGMT_COHORT_SECRET"));

  // --insecure-no-auth serves cohorts without credentials, as it serves groups.
  mgmt::Api::Options open;
  open.require_auth = false;
  mgmt::Api anyone{*store, keys, open};
  request.authorization = {};
  anyone.handle(request, response);
  CHECK(response.status == 404);
}
