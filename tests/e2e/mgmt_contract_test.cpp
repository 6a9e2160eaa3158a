// Contract tests: the real mutex-mgmt binary over real HTTP, against design.md section 1 and
// the Management API documentation.
#include <algorithm>
#include <cctype>
#include <set>

#include "tests/e2e/mgmt_helpers.hpp"

using namespace mutex_edge::testing;

namespace {

std::set<std::string> keys_of(simdjson::dom::element object) {
  std::set<std::string> keys;
  for (auto field : object.get_object()) {
    keys.emplace(field.key);
  }
  return keys;
}

std::vector<std::int64_t> ints(simdjson::dom::element array) {
  std::vector<std::int64_t> out;
  for (simdjson::dom::element e : array.get_array()) {
    out.push_back(num(e));
  }
  return out;
}

std::vector<std::string> strings(simdjson::dom::element array) {
  std::vector<std::string> out;
  for (simdjson::dom::element e : array.get_array()) {
    out.push_back(str(e));
  }
  return out;
}

}  // namespace

TEST_CASE("create answers id and url and get answers the documented group with its defaults",
          "[e2e][mgmt][contract]") {
  Mgmt m;
  const HttpResponse created = m.post(
      "/api/1/mutexes",
      R"({"projectId":12345,"name":"Checkout Page!","slots":[{"percentage":40},{"percentage":60}]})");
  INFO(created.body);
  REQUIRE(created.status == 200);
  CHECK(created.header("content-type") == "application/json");
  Json answer{created.body};
  CHECK(keys_of(answer.root()) == std::set<std::string>{"id", "url"});
  const std::int64_t id = num(answer["id"]);  // a number, not a string
  CHECK(str(answer["url"]) ==
        "http://127.0.0.1/api/1/mutexes/" + std::to_string(id));  // from the Host header
  CHECK(created.header("x-data-version") == "1");

  const HttpResponse got = m.get("/api/1/mutexes/" + std::to_string(id));
  INFO(got.body);
  REQUIRE(got.status == 200);
  Json group{got.body};
  CHECK(keys_of(group.root()) == std::set<std::string>{"id", "projectId", "name", "key",
                                                       "description", "evaluationMode",
                                                       "bucketingKey", "bucketingSalt", "slots"});
  CHECK(num(group["id"]) == id);
  CHECK(num(group["projectId"]) == 12345);
  CHECK(str(group["name"]) == "Checkout Page!");
  CHECK(str(group["key"]) == "checkout-page");
  CHECK(group["description"].is_null());  // none given: null, as the documentation shows
  CHECK(str(group["evaluationMode"]) == "remote");
  CHECK(str(group["bucketingKey"]) == "amplitude_id");
  const std::string salt = str(group["bucketingSalt"]);
  CHECK(salt.size() == 8);
  CHECK(std::all_of(salt.begin(), salt.end(), [](char c) { return std::isalnum(c) != 0; }));
  int index = 0;
  for (simdjson::dom::element slot : group["slots"].get_array()) {
    ++index;
    CHECK(keys_of(slot) == std::set<std::string>{"name", "index", "variantKey", "percentage",
                                                 "experiments", "holdouts", "individuals",
                                                 "cohorts"});
    CHECK(str(slot["name"]) == "SLOT " + std::to_string(index));
    CHECK(num(slot["index"]) == index);
    CHECK(str(slot["variantKey"]) == "slot-" + std::to_string(index));
    CHECK(num(slot["percentage"]) == (index == 1 ? 40 : 60));
    CHECK(ints(slot["experiments"]).empty());
    CHECK(ints(slot["holdouts"]).empty());
    CHECK(strings(slot["individuals"]).empty());
    CHECK(strings(slot["cohorts"]).empty());
  }
  CHECK(index == 2);

  SECTION("the same name again gets a unique key and its own salt") {
    const std::int64_t second = m.create("Checkout Page!");
    Json again{m.get("/api/1/mutexes/" + std::to_string(second)).body};
    CHECK(str(again["key"]) == "checkout-page-" + std::to_string(second));
    CHECK(str(again["bucketingSalt"]) != salt);
  }
}

TEST_CASE("create keeps every field given with ids as numbers or strings and cohorts",
          "[e2e][mgmt][contract]") {
  Mgmt m;
  const HttpResponse created = m.post("/api/1/mutexes", R"({
    "projectId": "777", "name": "Pricing", "key": "pricing-v2", "description": "d\u00e9j\u00e0 \"vu\"",
    "evaluationMode": "local", "bucketingKey": "device_id", "bucketingSalt": "aB3dE5gH",
    "id": 99999, "archived": true, "unknownField": {"x": 1},
    "slots": [
      {"percentage": 25, "experiments": [1, "2"], "holdouts": ["3"], "individuals": ["alice@example.com"],
       "cohorts": ["beta"], "index": 7, "name": "ignored"},
      {"percentage": 75, "experiments": null, "individuals": ["bob", "carol"]}
    ]})");
  INFO(created.body);
  REQUIRE(created.status == 200);
  const std::int64_t id = num(Json{created.body}["id"]);
  CHECK(id != 99999);  // ids are the server's
  const HttpResponse got = m.get("/api/1/mutexes/" + std::to_string(id));
  Json group{got.body};
  CHECK(num(group["projectId"]) == 777);
  CHECK(str(group["key"]) == "pricing-v2");
  CHECK(str(group["description"]) == "d\xc3\xa9j\xc3\xa0 \"vu\"");
  CHECK(str(group["evaluationMode"]) == "local");
  CHECK(str(group["bucketingKey"]) == "device_id");
  CHECK(str(group["bucketingSalt"]) == "aB3dE5gH");
  auto slots = group["slots"].get_array();
  auto first = slots.at(0).value();
  auto second = slots.at(1).value();
  CHECK(num(first["index"]) == 1);
  CHECK(str(first["name"]) == "SLOT 1");
  CHECK(ints(first["experiments"]) == std::vector<std::int64_t>{1, 2});
  CHECK(ints(first["holdouts"]) == std::vector<std::int64_t>{3});
  CHECK(strings(first["individuals"]) == std::vector<std::string>{"alice@example.com"});
  CHECK(strings(first["cohorts"]) == std::vector<std::string>{"beta"});
  CHECK(ints(second["experiments"]).empty());
  CHECK(strings(second["individuals"]) == std::vector<std::string>{"bob", "carol"});
  // The group is not archived: "archived" is not a create field.
  CHECK(m.get("/api/1/mutexes/" + std::to_string(id)).status == 200);
}

TEST_CASE("list pages by id with an opaque cursor and a null nextCursor on the last page",
          "[e2e][mgmt][contract]") {
  Mgmt m;
  std::vector<std::int64_t> created;
  for (int i = 0; i < 5; ++i) {
    created.push_back(m.create("group " + std::to_string(i)));
  }
  const HttpResponse first = m.get("/api/1/mutexes?limit=2");
  REQUIRE(first.status == 200);
  Json page1{first.body};
  CHECK(keys_of(page1.root()) == std::set<std::string>{"mutexes", "nextCursor"});
  CHECK(page1["mutexes"].get_array().size() == 2);
  REQUIRE(page1["nextCursor"].is_string());
  CHECK(list_ids(m.client, 2) == created);
  CHECK(list_ids(m.client, 5) == created);

  const HttpResponse all = m.get("/api/1/mutexes");
  Json everything{all.body};
  CHECK(everything["mutexes"].get_array().size() == 5);
  CHECK(everything["nextCursor"].is_null());

  SECTION("bad limits and cursors are 400") {
    for (const std::string query : {"limit=0", "limit=-1", "limit=abc", "limit=", "limit=1.5"}) {
      const HttpResponse r = m.get("/api/1/mutexes?" + query);
      INFO(query << " " << r.body);
      CHECK(r.status == 400);
      CHECK(error_code(r) == "invalid_limit");
      CHECK(error_message(r).find("limit") != std::string::npos);
    }
    const HttpResponse r = m.get("/api/1/mutexes?cursor=not-a-cursor");
    CHECK(r.status == 400);
    CHECK(error_code(r) == "invalid_cursor");
  }
  SECTION("a huge limit is capped, an empty cursor is the first page") {
    CHECK(m.get("/api/1/mutexes?limit=99999999999999999999999").status == 200);
    Json page{m.get("/api/1/mutexes?cursor=&limit=3").body};
    CHECK(page["mutexes"].get_array().size() == 3);
  }
}

TEST_CASE("edit changes name and description and nothing else", "[e2e][mgmt][contract]") {
  Mgmt m;
  const std::int64_t id = m.create("Old name", R"("description":"old",)");
  const std::string path = "/api/1/mutexes/" + std::to_string(id);
  const std::string before = m.get(path).body;

  HttpResponse r = m.patch(path, R"({"name":"New name"})");
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.body == m.get(path).body);  // the answer is the group as stored
  Json edited{r.body};
  CHECK(str(edited["name"]) == "New name");
  CHECK(str(edited["description"]) == "old");
  CHECK(str(edited["key"]) == "old-name");  // a key never changes

  r = m.patch(path, R"({"description":null})");
  CHECK(Json{r.body}["description"].is_null());
  r = m.patch(path, R"({"description":""})");
  CHECK(str(Json{r.body}["description"]).empty());
  r = m.patch(path, R"({"name":"Old name","description":"old"})");
  CHECK(r.body == before);

  const std::string version = m.get(path).header("x-data-version");
  CHECK(m.patch(path, "{}").status == 200);  // nothing to change: no write
  CHECK(m.get(path).header("x-data-version") == version);

  CHECK(error_code(m.patch(path, R"({"name":""})")) == "invalid_value");
  CHECK(error_code(m.patch(path, R"({"name":7})")) == "invalid_type");
  CHECK(error_code(m.patch(path, R"({"archive":"yes"})")) == "invalid_type");
  CHECK(m.patch("/api/1/mutexes/424242", R"({"name":"x"})").status == 404);
}

TEST_CASE("archive hides a group with get 404 and keeps its key until archive false restores it",
          "[e2e][mgmt][contract]") {
  Mgmt m;
  const std::int64_t kept = m.create("Kept");
  const std::int64_t id = m.create("Archived one", R"("key":"archived-one",)");
  const std::string path = "/api/1/mutexes/" + std::to_string(id);

  // archive: true ignores every other field, even malformed ones.
  HttpResponse r = m.patch(path, R"({"archive":true,"name":12,"description":"ignored"})");
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(str(Json{r.body}["name"]) == "Archived one");

  r = m.get(path);
  CHECK(r.status == 404);
  CHECK(error_code(r) == "not_found");
  CHECK(error_message(r).find("archived") != std::string::npos);
  CHECK(list_ids(m.client) == std::vector<std::int64_t>{kept});
  CHECK(m.patch(path + "/slots/1", R"({"experiments":[1]})").status == 404);
  CHECK(m.patch(path, R"({"name":"x"})").status == 404);
  CHECK(m.patch(path, R"({"archive":true})").status == 200);  // again: no harm

  r = m.post("/api/1/mutexes", group_body("again", R"("key":"archived-one",)"));
  CHECK(r.status == 409);
  CHECK(error_code(r) == "duplicate_key");

  r = m.patch(path, R"({"archive":false,"name":"Restored"})");
  REQUIRE(r.status == 200);
  CHECK(str(Json{m.get(path).body}["name"]) == "Restored");
  CHECK(list_ids(m.client) == std::vector<std::int64_t>{kept, id});
}

TEST_CASE("slot edits replace the lists given and keep the others and an unknown slot is 404",
          "[e2e][mgmt][contract]") {
  Mgmt m;
  const std::int64_t id = m.create("Slots");
  const std::string path = "/api/1/mutexes/" + std::to_string(id);

  HttpResponse r =
      m.patch(path + "/slots/2",
              R"({"experiments":[1,"2"],"holdouts":[3],"individuals":["a","b"],"cohorts":["c1"]})");
  INFO(r.body);
  REQUIRE(r.status == 200);
  r = m.patch(path + "/slots/2", R"({"individuals":[],"cohorts":null})");
  REQUIRE(r.status == 200);
  Json group{m.get(path).body};
  auto slot2 = group["slots"].get_array().at(1).value();
  CHECK(ints(slot2["experiments"]) == std::vector<std::int64_t>{1, 2});
  CHECK(ints(slot2["holdouts"]) == std::vector<std::int64_t>{3});
  CHECK(strings(slot2["individuals"]).empty());
  CHECK(strings(slot2["cohorts"]).empty());
  CHECK(num(slot2["percentage"]) == 60);
  auto slot1 = group["slots"].get_array().at(0).value();
  CHECK(ints(slot1["experiments"]).empty());

  for (const std::string slot : {"3", "0", "abc", "-1", "99999999999999999999"}) {
    r = m.patch(path + "/slots/" + slot, R"({"experiments":[1]})");
    INFO(slot << " " << r.body);
    CHECK(r.status == 404);
    CHECK(error_code(r) == "slot_not_found");
  }
  r = m.patch("/api/1/mutexes/987654/slots/1", R"({"experiments":[1]})");
  CHECK(r.status == 404);
  CHECK(error_code(r) == "not_found");

  r = m.patch(path + "/slots/1", R"({"experiments":"123"})");
  CHECK(r.status == 400);
  CHECK(error_code(r) == "invalid_type");
  CHECK(error_message(r).find("experiments") != std::string::npos);
  r = m.patch(path + "/slots/1", R"({"individuals":["ok",false]})");  // numbers are ids
  CHECK(r.status == 400);
  CHECK(error_message(r).find("individuals[1]") != std::string::npos);
}

TEST_CASE("every validation rule answers 400 with a snake_case code and names the field",
          "[e2e][mgmt][contract][validation]") {
  Mgmt m;
  const std::string two = R"("slots":[{"percentage":40},{"percentage":60}])";
  std::string twenty_one = R"("slots":[)";
  for (int i = 0; i < 21; ++i) {
    twenty_one +=
        std::string{i == 0 ? "" : ","} + R"({"percentage":)" + (i == 0 ? "80" : "1") + "}";
  }
  twenty_one += "]";
  std::string many_individuals =
      R"({"projectId":1,"name":"n","slots":[{"percentage":100,"individuals":[)";
  for (int i = 0; i < 100001; ++i) {
    many_individuals += i == 0 ? "\"\"" : ",\"\"";
  }
  many_individuals += "]}]}";

  struct Case {
    std::string body;
    int status;
    std::string code;
    std::string field;
  };
  const std::vector<Case> cases = {
      {R"({"name":"n",)" + two + "}", 400, "missing_field", "projectId"},
      {R"({"projectId":1,)" + two + "}", 400, "missing_field", "name"},
      {R"({"projectId":1,"name":"n"})", 400, "missing_field", "slots"},
      {R"({"projectId":1,"name":"n","slots":[{"experiments":[1]}]})", 400, "missing_field",
       "slots[0].percentage"},
      {R"({"projectId":1,"name":"n",)" + twenty_one + "}", 400, "too_many_slots", "slots"},
      {R"({"projectId":1,"name":"n","slots":[]})", 400, "no_slots", "slots"},
      {R"({"projectId":1,"name":"n","slots":[{"percentage":0},{"percentage":100}]})", 400,
       "invalid_percentage", "slots[0].percentage"},
      {R"({"projectId":1,"name":"n","slots":[{"percentage":101}]})", 400, "invalid_percentage",
       "slots[0].percentage"},
      {R"({"projectId":1,"name":"n","slots":[{"percentage":40.5},{"percentage":59.5}]})", 400,
       "invalid_percentage", "slots[0].percentage"},
      {R"({"projectId":1,"name":"n","slots":[{"percentage":"40"},{"percentage":60}]})", 400,
       "invalid_type", "slots[0].percentage"},
      {R"({"projectId":1,"name":"n","slots":[{"percentage":40},{"percentage":50}]})", 400,
       "percentages_must_sum_to_100", "slots"},
      {R"({"projectId":1,"name":"n","slots":[{"percentage":60},{"percentage":60}]})", 400,
       "percentages_must_sum_to_100", "slots"},
      {R"({"projectId":1,"name":"n","evaluationMode":"edge",)" + two + "}", 400,
       "invalid_evaluation_mode", "evaluationMode"},
      {R"({"projectId":1,"name":"n","evaluationMode":"",)" + two + "}", 400,
       "invalid_evaluation_mode", "evaluationMode"},
      {R"({"projectId":1,"name":"n","evaluationMode":3,)" + two + "}", 400, "invalid_type",
       "evaluationMode"},
      {R"({"projectId":1,"name":5,)" + two + "}", 400, "invalid_type", "name"},
      {R"({"projectId":1,"name":"",)" + two + "}", 400, "invalid_value", "name"},
      {R"({"projectId":true,"name":"n",)" + two + "}", 400, "invalid_type", "projectId"},
      {R"({"projectId":"12a","name":"n",)" + two + "}", 400, "invalid_value", "projectId"},
      {R"({"projectId":-4,"name":"n",)" + two + "}", 400, "invalid_value", "projectId"},
      {R"({"projectId":1,"name":"n","key":"",)" + two + "}", 400, "invalid_value", "key"},
      {R"({"projectId":1,"name":"n","key":["k"],)" + two + "}", 400, "invalid_type", "key"},
      {R"({"projectId":1,"name":"n","description":{},)" + two + "}", 400, "invalid_type",
       "description"},
      {R"({"projectId":1,"name":"n","bucketingKey":"",)" + two + "}", 400, "invalid_value",
       "bucketingKey"},
      {R"({"projectId":1,"name":"n","bucketingSalt":1,)" + two + "}", 400, "invalid_type",
       "bucketingSalt"},
      {R"({"projectId":1,"name":"n","slots":{"percentage":100}})", 400, "invalid_type", "slots"},
      {R"({"projectId":1,"name":"n","slots":[100]})", 400, "invalid_type", "slots[0]"},
      {R"({"projectId":1,"name":"n","slots":[{"percentage":100,"experiments":[1.5]}]})", 400,
       "invalid_type", "slots[0].experiments[0]"},
      {R"({"projectId":1,"name":"n","slots":[{"percentage":100,"holdouts":"7"}]})", 400,
       "invalid_type", "slots[0].holdouts"},
      {R"({"projectId":1,"name":"n","slots":[{"percentage":100,"individuals":[{}]}]})", 400,
       "invalid_type", "slots[0].individuals[0]"},
      {R"({"projectId":1,"name":"n","slots":[{"percentage":100,"individuals":[0.5]}]})", 400,
       "invalid_value", "slots[0].individuals[0]"},
      {R"({"projectId":1,"name":"n","slots":[{"percentage":100,"cohorts":"c"}]})", 400,
       "invalid_type", "slots[0].cohorts"},
      {R"({"projectId":1,"name":")" + std::string(1025, 'x') + "\"," + two + "}", 400,
       "value_too_long", "name"},
      {R"({"projectId":1,"name":"n","description":")" + std::string(16 * 1024 + 1, 'x') + "\"," +
           two + "}",
       400, "value_too_long", "description"},
      {many_individuals, 400, "too_many_items", "slots[0].individuals"},
      {"", 400, "invalid_json", "body"},
      {"{\"projectId\":", 400, "invalid_json", "JSON"},
      {"[1,2]", 400, "invalid_type", "body"},
  };
  for (const Case& c : cases) {
    const HttpResponse r = m.post("/api/1/mutexes", c.body);
    INFO(c.body.substr(0, 200) << "\n-> " << r.status << " " << r.body);
    CHECK(r.status == c.status);
    CHECK(error_code(r) == c.code);
    CHECK(error_message(r).find(c.field) != std::string::npos);
  }
  CHECK(list_ids(m.client).empty());

  SECTION("a key already used is 409 duplicate_key") {
    m.create("first", R"("key":"taken",)");
    const HttpResponse r = m.post("/api/1/mutexes", group_body("second", R"("key":"taken",)"));
    CHECK(r.status == 409);
    CHECK(error_code(r) == "duplicate_key");
    CHECK(error_message(r).find("key") != std::string::npos);
    CHECK(list_ids(m.client).size() == 1);
  }
  SECTION("20 slots of 5% are fine") {
    std::string slots;
    for (int i = 0; i < 20; ++i) {
      slots += std::string{i == 0 ? "" : ","} + R"({"percentage":5})";
    }
    const HttpResponse r =
        m.post("/api/1/mutexes", R"({"projectId":1,"name":"n","slots":[)" + slots + "]}");
    INFO(r.body);
    CHECK(r.status == 200);
  }
}

TEST_CASE(
    "auth gives 401 for a missing or wrong key without echoing it and lets the right keys pass",
    "[e2e][mgmt][contract][auth]") {
  Mgmt m;
  const std::string wrong = "WRONG-secret-guess-5521";
  for (const Headers& headers :
       std::vector<Headers>{{},
                            {{"Authorization", "Bearer " + wrong}},
                            {{"Authorization", "Bearer"}},
                            {{"Authorization", "Basic " + std::string{kKey}}},
                            {{"Authorization", std::string{kKey}}},
                            {{"Authorization", "Bearer " + std::string{kKey} + "x"}},
                            {{"Authorization", "Bearer " + std::string{kKey}.substr(1)}}}) {
    const HttpResponse r = m.client.get("/api/1/mutexes", headers);
    INFO((headers.empty() ? "(none)" : headers[0].second) << " -> " << r.body);
    CHECK(r.status == 401);
    CHECK(error_code(r) == "unauthorized");
    CHECK(r.header("www-authenticate").starts_with("Bearer"));
    CHECK(r.body.find(wrong) == std::string::npos);
    CHECK(r.body.find(kKey) == std::string::npos);
  }
  // A write without a key changes nothing.
  HttpResponse r = m.client.request("POST", "/api/1/mutexes", group_body("x"),
                                    {{"Content-Type", "application/json"}});
  CHECK(r.status == 401);
  CHECK(m.client.get("/api/1/mutexes/1", {}).status == 401);

  CHECK(m.client.get("/api/1/mutexes", auth()).status == 200);
  CHECK(
      m.client.get("/api/1/mutexes", {{"Authorization", "bearer   " + std::string{kKey}}}).status ==
      200);
  CHECK(m.client.get("/api/1/mutexes", {{"Authorization", "Bearer " + std::string{kOtherKey}}})
            .status == 200);
  CHECK(list_ids(m.client).empty());
  CHECK(m.client.get("/healthz", {}).status == 200);  // no key needed

  const std::string log = m.server.log();
  CHECK(log.find(kKey) == std::string::npos);
  CHECK(log.find(kOtherKey) == std::string::npos);
  CHECK(log.find(wrong) == std::string::npos);
}

TEST_CASE("HTTP errors are 404 for a route and 405 with Allow and 415", "[e2e][mgmt][contract]") {
  Mgmt m;
  const std::int64_t id = m.create("Routes");
  const std::string group = "/api/1/mutexes/" + std::to_string(id);

  for (const std::string& target :
       std::vector<std::string>{"/", "/api/1/mutexes/", "/api/1/flags", "/api/2/mutexes",
                                group + "/slots", group + "/slots/1/x", group + "/extra"}) {
    const HttpResponse r = m.get(target);
    INFO(target);
    CHECK(r.status == 404);
    CHECK(error_code(r) == "not_found");
  }
  struct Case {
    std::string method;
    std::string target;
    std::string allow;
  };
  for (const Case& c :
       {Case{"DELETE", "/api/1/mutexes", "GET, HEAD, POST"},
        Case{"PUT", "/api/1/mutexes", "GET, HEAD, POST"}, Case{"DELETE", group, "GET, HEAD, PATCH"},
        Case{"POST", group, "GET, HEAD, PATCH"}, Case{"GET", group + "/slots/1", "PATCH"},
        Case{"POST", "/healthz", "GET, HEAD"}}) {
    const HttpResponse r = m.client.request(c.method, c.target, "", auth());
    INFO(c.method << " " << c.target);
    CHECK(r.status == 405);
    CHECK(r.header("allow") == c.allow);
    CHECK(error_code(r) == "method_not_allowed");
  }
  HttpResponse r = m.client.request(
      "POST", "/api/1/mutexes", group_body("x"),
      {{"Authorization", std::string{"Bearer "} + kKey}, {"Content-Type", "text/plain"}});
  CHECK(r.status == 415);
  CHECK(error_code(r) == "unsupported_media_type");
  r = m.client.request("PATCH", group, R"({"name":"x"})", auth());  // no Content-Type
  CHECK(r.status == 415);
  r = m.client.request("PATCH", group, R"({"name":"charset ok"})",
                       {{"Authorization", std::string{"Bearer "} + kKey},
                        {"Content-Type", "application/json; charset=utf-8"}});
  CHECK(r.status == 200);
}

// The examples of the documentation page "Experiment Management API Mutex Group Endpoints",
// sent as its curl commands send them (method, URL, headers, body), host and key aside.
TEST_CASE("the documentation examples work as written", "[e2e][mgmt][contract][doc]") {
  Mgmt m;
  const Headers curl_json = {{"Content-Type", "application/json"},
                             {"Accept", "application/json"},
                             {"Authorization", std::string{"Bearer "} + kKey}};
  const Headers curl_get = {{"Accept", "application/json"},
                            {"Authorization", std::string{"Bearer "} + kKey}};

  // Create: the documented example request body (two slots, 40/60), tabs and all.
  HttpResponse r = m.client.request("POST", "/api/1/mutexes",
                                    "{\n"
                                    "    \"projectId\":\"12345\",\n"
                                    "    \"name\": \"Example Mutex Group\",\n"
                                    "    \"key\": \"example-mutex\",\n"
                                    "    \"description\": \"An example mutex group\",\n"
                                    "    \"evaluationMode\": \"remote\",\n"
                                    "  \t\"slots\": [\n"
                                    "      \t{\n"
                                    "      \t\t\"percentage\": 40,\n"
                                    "          \t\"experiments\": [123],\n"
                                    "          \t\"holdouts\": [456]\n"
                                    "      \t},\n"
                                    "      \t{\n"
                                    "      \t\t\"percentage\": 60,\n"
                                    "          \t\"experiments\": [789],\n"
                                    "          \t\"individuals\": [\"x@amplitude.com\"]\n"
                                    "      \t}\n"
                                    "    ]\n"
                                    "}",
                                    curl_json);
  INFO(r.body);
  REQUIRE(r.status == 200);
  const std::string id = std::to_string(num(Json{r.body}["id"]));

  // The create curl as printed sends no name, which the same page marks Required: refused,
  // naming the field (see mgmt/README.md).
  r = m.client.request("POST", "/api/1/mutexes",
                       R"({"projectId":"12345","slots":[{"percentage":40},{"percentage":60}]})",
                       curl_json);
  CHECK(r.status == 400);
  CHECK(error_code(r) == "missing_field");
  CHECK(error_message(r).find("name") != std::string::npos);

  // List.
  r = m.client.request("GET", "/api/1/mutexes?limit=1000", "", curl_get);
  REQUIRE(r.status == 200);
  {
    Json list{r.body};
    REQUIRE(list["mutexes"].get_array().size() == 1);
    CHECK(list["nextCursor"].is_null());
  }

  // Get.
  r = m.client.request("GET", "/api/1/mutexes/" + id, "", curl_get);
  REQUIRE(r.status == 200);
  {
    Json group{r.body};
    CHECK(str(group["key"]) == "example-mutex");
    auto slots = group["slots"].get_array();
    CHECK(ints(slots.at(0).value()["experiments"]) == std::vector<std::int64_t>{123});
    CHECK(ints(slots.at(0).value()["holdouts"]) == std::vector<std::int64_t>{456});
    CHECK(strings(slots.at(1).value()["individuals"]) ==
          std::vector<std::string>{"x@amplitude.com"});
  }

  // Edit: the curl, then the example request body.
  r = m.client.request("PATCH", "/api/1/mutexes/" + id, R"({"name": "updated name"})", curl_json);
  CHECK(r.status == 200);
  r = m.client.request("PATCH", "/api/1/mutexes/" + id,
                       "{\n    \"name\": \"updated name\",\n    \"description\": \"updated "
                       "description\"\n}",
                       curl_json);
  CHECK(r.status == 200);

  // Edit slots: the curl, then the example request body.
  r = m.client.request("PATCH", "/api/1/mutexes/" + id + "/slots/1",
                       R"({"experiments": [123, 456]})", curl_json);
  CHECK(r.status == 200);
  r = m.client.request("PATCH", "/api/1/mutexes/" + id + "/slots/2",
                       "{\n    \"experiments\": [123, 456],\n    \"individuals\": "
                       "[\"x@amplitude.com\", \"y@amplitude.com\", \"abcde-12345\"]\n}",
                       curl_json);
  CHECK(r.status == 200);

  Json group{m.client.request("GET", "/api/1/mutexes/" + id, "", curl_get).body};
  CHECK(str(group["name"]) == "updated name");
  CHECK(str(group["description"]) == "updated description");
  auto slots = group["slots"].get_array();
  CHECK(ints(slots.at(0).value()["experiments"]) == std::vector<std::int64_t>{123, 456});
  CHECK(ints(slots.at(1).value()["experiments"]) == std::vector<std::int64_t>{123, 456});
  CHECK(strings(slots.at(1).value()["individuals"]) ==
        std::vector<std::string>{"x@amplitude.com", "y@amplitude.com", "abcde-12345"});
}

TEST_CASE("individuals given as numbers are kept as strings, on create and on slot edits",
          "[e2e][mgmt][contract]") {
  Mgmt m;
  const HttpResponse created = m.post(
      "/api/1/mutexes",
      R"({"projectId":"1","name":"Numbers","slots":[{"percentage":40,"experiments":["123"],"individuals":[12345,"x@amplitude.com"]},{"percentage":60,"experiments":[7]}]})");
  INFO(created.body);
  REQUIRE(created.status == 200);
  const std::string path = "/api/1/mutexes/" + std::to_string(num(Json{created.body}["id"]));
  Json group{m.get(path).body};
  simdjson::dom::element first = group["slots"].at(0).value();
  CHECK(strings(first["individuals"]) == std::vector<std::string>{"12345", "x@amplitude.com"});
  CHECK(ints(first["experiments"]) == std::vector<std::int64_t>{123});

  HttpResponse r = m.patch(path + "/slots/2", R"({"individuals":[-4,9007199254740991,"y"]})");
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(strings(Json{r.body}["slots"].at(1).value()["individuals"]) ==
        std::vector<std::string>{"-4", "9007199254740991", "y"});
  for (const char* bad : {"[1.5]", "[true]", "[9007199254740992]", "[null]"}) {
    INFO(bad);
    r = m.patch(path + "/slots/2", std::string{R"({"individuals":)"} + bad + "}");
    CHECK(r.status == 400);
    CHECK(error_message(r).starts_with("individuals[0]: "));
  }
}

TEST_CASE("a group created without a description answers null, through chained mutex-edges too",
          "[e2e][mgmt][contract][proxy]") {
  Mgmt m;
  const std::int64_t bare = m.create("Bare");
  const std::int64_t nulled = m.create("Nulled", R"("description":null,)");
  const std::int64_t empty = m.create("Empty", R"("description":"",)");
  auto description_at = [](HttpClient& client, std::int64_t id) {
    const HttpResponse r = client.get("/api/1/mutexes/" + std::to_string(id), auth());
    REQUIRE(r.status == 200);
    Json group{r.body};
    return group["description"].is_null() ? std::string{"null"}
                                          : "\"" + str(group["description"]) + "\"";
  };
  CHECK(description_at(m.client, bare) == "null");
  CHECK(description_at(m.client, nulled) == "null");
  CHECK(description_at(m.client, empty) == "\"\"");

  // mutex-edge polling mutex-mgmt, and a second one polling the first, serve the same.
  const Env edge_env = {{"MUTEX_EDGE_API_KEY", kKey}};
  EdgeProcess edge{fast_polling("http://127.0.0.1:" + std::to_string(m.server.port())), edge_env};
  EdgeProcess chained{fast_polling("http://127.0.0.1:" + std::to_string(edge.port())), edge_env};
  HttpClient first{edge.port()};
  HttpClient second{chained.port()};
  REQUIRE(eventually(
      [&] { return second.get("/api/1/mutexes/" + std::to_string(empty)).status == 200; }));
  for (HttpClient* client : {&first, &second}) {
    CHECK(description_at(*client, bare) == "null");
    CHECK(description_at(*client, nulled) == "null");
    CHECK(description_at(*client, empty) == "\"\"");
  }
  // An edit to null reaches the chain as well.
  REQUIRE(m.patch("/api/1/mutexes/" + std::to_string(empty), R"({"description":null})").status ==
          200);
  CHECK(eventually([&] { return description_at(second, empty) == "null"; }));
}
