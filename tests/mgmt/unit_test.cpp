// Unit tests of mgmt/'s pure parts: keys, salts, API keys, settings, seeds, fault shares,
// error codes; and the slots' reserved variant keys through mgmt::Api.
#include <cctype>
#include <cstdlib>
#include <map>
#include <set>

#include <catch2/catch.hpp>

#include "http/bearer_keys.hpp"
#include "mgmt/api.hpp"
#include "mgmt/errors.hpp"
#include "mgmt/faults.hpp"
#include "mgmt/keys.hpp"
#include "mgmt/seed.hpp"
#include "mgmt/settings.hpp"
#include "tests/support/files.hpp"

using namespace mutex_edge;
using namespace mutex_edge::mgmt;

TEST_CASE("keys are slugs of the name", "[mgmt][unit]") {
  CHECK(slugify("Checkout Page!") == "checkout-page");
  CHECK(slugify("  --Hello__World--  ") == "hello-world");
  CHECK(slugify("A/B test 2024") == "a-b-test-2024");
  CHECK(slugify("") == "mutex");
  CHECK(slugify("\xe6\x97\xa5\xe6\x9c\xac") == "mutex");
  const std::string long_slug = slugify(std::string(100, 'a') + " b");
  CHECK(long_slug.size() == kMaxSlugBytes);
  CHECK(slugify(std::string(63, 'a') + " bcd") == std::string(63, 'a'));  // no trailing '-'
}

TEST_CASE("salts are 8 alphanumerics from the whole alphabet", "[mgmt][unit]") {
  std::set<std::string> salts;
  std::set<char> seen;
  for (int i = 0; i < 2000; ++i) {
    const std::string salt = random_alphanumeric(8);
    REQUIRE(salt.size() == 8);
    for (char c : salt) {
      REQUIRE(std::isalnum(static_cast<unsigned char>(c)) != 0);
      seen.insert(c);
    }
    salts.insert(salt);
  }
  CHECK(salts.size() == 2000);
  CHECK(seen.size() == 62);
}

TEST_CASE("API keys are a comma separated list checked as Bearer tokens by digest",
          "[mgmt][unit][auth]") {
  const http::BearerKeys keys = http::BearerKeys::parse(" alpha , ,beta,");
  CHECK(keys.size() == 2);
  CHECK(keys.check("Bearer alpha") == http::KeyCheck::kOk);
  CHECK(keys.check("bearer   beta ") == http::KeyCheck::kOk);
  CHECK(keys.check("BEARER beta") == http::KeyCheck::kOk);
  CHECK(keys.check("Bearer gamma") == http::KeyCheck::kInvalid);
  CHECK(keys.check("Bearer alph") == http::KeyCheck::kInvalid);
  CHECK(keys.check("Bearer alphaa") == http::KeyCheck::kInvalid);
  CHECK(keys.check("") == http::KeyCheck::kMissing);
  CHECK(keys.check("Bearer") == http::KeyCheck::kMissing);
  CHECK(keys.check("Bearer   ") == http::KeyCheck::kMissing);
  CHECK(keys.check("Basic alpha") == http::KeyCheck::kMissing);
  CHECK(http::BearerKeys::parse("").empty());
  CHECK(http::BearerKeys::parse(" , ").empty());
  CHECK(http::BearerKeys{}.check("Bearer x") == http::KeyCheck::kInvalid);
}

TEST_CASE("settings come from flags and MUTEX_MGMT variables with flags first", "[mgmt][unit]") {
  ::setenv("MUTEX_MGMT_FAULT_LATENCY", "250ms", 1);
  ::setenv("MUTEX_MGMT_THREADS", "3", 1);
  ::setenv("MUTEX_MGMT_API_KEYS", "never-a-setting", 1);
  const char* argv[] = {"mutex-mgmt",           "--db", "x.sqlite3",         "--threads", "4",
                        "--fault-drop-percent", "5",    "--insecure-no-auth"};
  auto parsed = parse_settings(8, argv);
  ::unsetenv("MUTEX_MGMT_FAULT_LATENCY");
  ::unsetenv("MUTEX_MGMT_THREADS");
  ::unsetenv("MUTEX_MGMT_API_KEYS");
  REQUIRE(parsed.has_value());
  REQUIRE(parsed->settings.has_value());
  const Settings& s = *parsed->settings;
  CHECK(s.db_path == "x.sqlite3");
  CHECK(s.server.threads == 4);
  CHECK(s.faults.latency == std::chrono::milliseconds{250});
  CHECK(s.faults.drop_percent == 5);
  CHECK(s.insecure_no_auth);
  CHECK(s.server.listen_port == 9090);
  CHECK(s.server.max_connections == 1000);
}

TEST_CASE("fault draws give each flag its share reproducibly", "[mgmt][unit][faults]") {
  FaultSettings settings;
  settings.drop_percent = 10;
  settings.error_500_percent = 20;
  settings.error_429_percent = 30;
  settings.truncate_percent = 40;
  settings.seed = 3;
  FaultInjector injector{settings};
  FaultInjector twin{settings};
  std::map<Fault, int> counts;
  for (int i = 0; i < 20000; ++i) {
    const Fault f = injector.draw();
    REQUIRE(f == twin.draw());
    ++counts[f];
  }
  CHECK(counts[Fault::kNone] == 0);
  CHECK(counts[Fault::kDrop] == Approx(2000).epsilon(0.1));
  CHECK(counts[Fault::kError500] == Approx(4000).epsilon(0.1));
  CHECK(counts[Fault::kError429] == Approx(6000).epsilon(0.1));
  CHECK(counts[Fault::kTruncate] == Approx(8000).epsilon(0.1));
  CHECK(FaultInjector{FaultSettings{}}.draw() == Fault::kNone);
}

TEST_CASE("seeds fill in ids after the highest and unique keys and salts", "[mgmt][unit][seed]") {
  testing::TempDir dir;
  const auto path = dir.write("seed.json", R"({"mutexes":[
    {"name":"Same name","slots":[{"index":1,"percentage":100}]},
    {"id":"40","key":"same-name","bucketingSalt":"keepme","bucketingKey":"user_id","slots":[{"index":1,"percentage":100}]},
    {"id":null,"key":null,"name":"Same name","slots":[{"index":1,"percentage":50},{"index":2,"percentage":50}]}
  ]})");
  auto seeded = load_seed(path.string(), 1 << 20);
  INFO((seeded ? std::string{} : seeded.error().message));
  REQUIRE(seeded.has_value());
  REQUIRE(seeded->size() == 3);
  CHECK((*seeded)[0].id == 41);
  CHECK((*seeded)[1].id == 40);
  CHECK((*seeded)[2].id == 42);
  CHECK((*seeded)[0].key == "same-name-2");
  CHECK((*seeded)[1].key == "same-name");
  CHECK((*seeded)[2].key == "same-name-3");
  CHECK((*seeded)[0].bucketing_key == "amplitude_id");
  CHECK((*seeded)[0].bucketing_salt.size() == 8);
  CHECK((*seeded)[1].bucketing_salt == "keepme");
  CHECK((*seeded)[1].bucketing_key == "user_id");
  CHECK((*seeded)[2].evaluation_mode == "remote");

  const auto dup = dir.write("dup.json", R"({"mutexes":[
    {"id":1,"key":"a","slots":[{"index":1,"percentage":100}]},
    {"id":1,"key":"b","slots":[{"index":1,"percentage":100}]}]})");
  auto refused = load_seed(dup.string(), 1 << 20);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message.find("id 1 is used by more than one group") != std::string::npos);
  auto missing = load_seed((dir.path() / "none.json").string(), 1 << 20);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message.find("none.json") != std::string::npos);
}

TEST_CASE("configuration problems map to the API's codes and statuses", "[mgmt][unit]") {
  using config::Problem;
  auto code = [](Problem p) {
    return std::string{to_string(to_api_error({p, "", "f", "m"}).code)};
  };
  CHECK(code(Problem::kNotJson) == "invalid_json");
  CHECK(code(Problem::kWrongType) == "invalid_type");
  CHECK(code(Problem::kTooLong) == "value_too_long");
  CHECK(code(Problem::kAllocation) == "percentages_must_sum_to_100");
  CHECK(code(Problem::kDuplicateIndex) == "invalid_slots");
  CHECK(to_api_error({Problem::kMissing, "", "name", "is required"}).message ==
        "name: is required");
  CHECK(status_of(ErrorCode::kDuplicateKey) == 409);
  CHECK(status_of(ErrorCode::kStorageError) == 500);
  CHECK(status_of(ErrorCode::kUnauthorized) == 401);
  CHECK(status_of(ErrorCode::kSlotNotFound) == 404);
}

TEST_CASE("a seed's archived groups are left out, and a reserved variant key stops it",
          "[mgmt][unit][seed]") {
  testing::TempDir dir;
  const auto archived = dir.write("archived.json", R"({"mutexes":[
    {"key":"gone","archived":true,"slots":[{"index":1,"percentage":100}]},
    {"key":"live","slots":[{"index":1,"percentage":100}]}]})");
  auto seeded = load_seed(archived.string(), 1 << 20);
  REQUIRE(seeded.has_value());
  REQUIRE(seeded->size() == 1);
  CHECK((*seeded)[0].key == "live");
  CHECK((*seeded)[0].id == 1);

  for (const char* reserved : {"off", "unallocated"}) {
    INFO(reserved);
    const auto path = dir.write("reserved.json", std::string{R"({"mutexes":[{"key":"k","slots":[)"
                                                             R"({"index":1,"percentage":100,)"
                                                             R"("variantKey":")"} +
                                                     reserved + R"("}]}]})");
    auto refused = load_seed(path.string(), 1 << 20);
    REQUIRE_FALSE(refused.has_value());
    CHECK_THAT(refused.error().message,
               Catch::Contains("key \"k\"") &&
                   Catch::Contains(std::string{"variantKey \""} + reserved + "\""));
  }
}

TEST_CASE("a slot's variant key off or unallocated is refused with 400 naming the field",
          "[mgmt][unit]") {
  testing::TempDir dir;
  auto opened = Store::open((dir.path() / "db.sqlite3").string());
  REQUIRE(opened.has_value());
  Store& store = **opened;
  const http::BearerKeys keys = http::BearerKeys::parse("key-1");
  Api::Options options;
  options.require_auth = false;
  Api api{store, keys, options};
  auto call = [&](http::Method method, const std::string& target, const std::string& body) {
    http::Request request;
    request.method = method;
    request.target = target;
    request.content_type = "application/json";
    request.body = body;
    http::Response response;
    api.handle(request, response);
    return response;
  };

  // A group stored before the rule (a seed's): edits answer 400 naming the field; it can still
  // be archived.
  config::GroupConfig group;
  group.id = 7;
  group.key = "legacy";
  group.evaluation_mode = "remote";
  group.bucketing_key = "amplitude_id";
  group.bucketing_salt = "s4lt";
  group.slots.push_back({"SLOT 1", 1, "off", 100, {}, {}, {}, {}});
  REQUIRE(store.seed_if_empty({group}).has_value());
  http::Response edited = call(http::Method::kPatch, "/api/1/mutexes/7", R"({"name":"renamed"})");
  CHECK(edited.status == 400);
  CHECK_THAT(edited.body, Catch::Contains(R"("code":"invalid_value")") &&
                              Catch::Contains(R"(slots: slot 1 has variantKey \"off\")"));
  edited = call(http::Method::kPatch, "/api/1/mutexes/7/slots/1", R"({"experiments":[1]})");
  CHECK(edited.status == 400);
  CHECK(call(http::Method::kPatch, "/api/1/mutexes/7", R"({"archive":true})").status == 200);
  CHECK(call(http::Method::kPatch, "/api/1/mutexes/7", R"({"archive":false})").status == 400);

  // A create body's variant keys are not read (a slot's is slot-<index>): none is reserved.
  http::Response created =
      call(http::Method::kPost, "/api/1/mutexes",
           R"({"projectId":1,"name":"n","slots":[{"percentage":100,"variantKey":"off"}]})");
  CHECK(created.status == 200);
  CHECK(call(http::Method::kGet, "/api/1/mutexes/8", "").body.find(R"("variantKey":"slot-1")") !=
        std::string::npos);
}
