// The SDK routes without sockets: the flags we serve, the variants we answer, their keys and
// their errors. The SDK itself runs against the binary in tests/e2e/sdk.
#include "wire/sdk_api.hpp"

#include <string>
#include <vector>

#include "api/router.hpp"
#include "serving/service.hpp"

#include <catch2/catch.hpp>
#include <simdjson.h>

#include "common/text.hpp"
#include "config/parser.hpp"
#include "tests/support/checks.hpp"
#include "tests/support/groups.hpp"

using namespace mutex_edge;
using http::Method;
using http::Request;
using http::Response;

namespace {

config::GroupConfig three_slots() {
  config::GroupConfig group = testing::make_group(7, "checkout", 30, "salt1");
  group.bucketing_key = "gp:plan";
  group.slots = {};
  for (int i = 1; i <= 3; ++i) {
    config::SlotConfig slot;
    slot.index = i;
    slot.name = "SLOT " + std::to_string(i);
    slot.variant_key = "slot-" + std::to_string(i);
    slot.percentage = i == 1 ? 30 : 20;  // 70 in all: 30% unallocated
    slot.experiments = {7000 + i, 100 + i};
    group.slots.push_back(slot);
  }
  group.slots[1].individuals = {"vip-1"};
  group.slots[2].cohorts = {"cohortA"};
  return group;
}

struct Fixture {
  serving::ServiceOptions options;
  api::ApiOptions api;
  serving::EdgeMetrics metrics{1};
  std::unique_ptr<serving::Service> service;
  std::vector<std::string> captured{2};

  explicit Fixture(std::string_view sdk_keys = "") {
    api.sdk_keys = http::BearerKeys::parse(sdk_keys);
    service = std::make_unique<serving::Service>(options, metrics);
  }
  void apply(std::vector<config::GroupConfig> groups) {
    auto page = config::parse_list_page(testing::list_json(groups));
    REQUIRE(page.has_value());
    service->apply(std::move(*page), cache::SourceKind::kFile, "test");
  }
  static Request make(Method method, std::string_view target) {
    Request request;
    request.method = method;
    request.target = target;
    return request;
  }
  Response get(api::Router& router, std::string_view target, std::string_view user_header,
               std::string_view authorization = "", std::string_view keys_header = "") {
    captured[api::kAmpUserHeader] = user_header;
    captured[api::kAmpFlagKeysHeader] = keys_header;
    Request request = Fixture::make(Method::kGet, target);
    request.authorization = authorization;
    request.captured = captured;
    Response response;
    router.handle(request, response);
    return response;
  }
};

std::string b64(std::string_view text) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (const char c : text) {
    bits = (bits << 8) | static_cast<unsigned char>(c);
    count += 8;
    while (count >= 6) {
      out += kAlphabet[(bits >> (count - 6)) & 63];
      count -= 6;
    }
  }
  if (count > 0) {
    out += kAlphabet[(bits << (6 - count)) & 63];
  }
  return out;  // unpadded, URL-safe: what the SDKs send
}

}  // namespace

TEST_CASE("a group's SDK flag has the engine's variants, segments and bounds", "[proxy][sdk]") {
  std::string json;
  common::JsonWriter writer{json};
  wire::write_sdk_flag(writer, three_slots());
  simdjson::dom::parser parser;
  const simdjson::dom::element flag = parser.parse(json);
  CHECK(std::string_view{flag["key"]} == "checkout");
  CHECK(std::string_view{flag["metadata"]["flagType"]} == "mutual-exclusion-group");
  CHECK(bool{flag["metadata"]["deployed"]});
  CHECK(bool{flag["variants"]["off"]["metadata"]["default"]});
  CHECK(std::string_view{flag["variants"]["slot-2"]["payload"]["flagIds"].at(0)} == "7002");
  CHECK(std::string_view{flag["variants"]["slot-2"]["payload"]["flagIds"].at(1)} == "102");
  CHECK(std::string_view{flag["variants"]["unallocated"]["value"]} == "unallocated");

  const simdjson::dom::array segments = flag["segments"];
  REQUIRE(segments.size() == 3);  // slot-2's individuals, slot-3's cohorts, All Other Users
  CHECK(std::string_view{segments.at(0)["variant"]} == "slot-2");
  CHECK(std::string_view{segments.at(0)["conditions"].at(1).at(0)["selector"].at(2)} ==
        "device_id");
  CHECK(std::string_view{segments.at(1)["conditions"].at(0).at(0)["op"]} == "set contains any");
  const simdjson::dom::element bucket = segments.at(2)["bucket"];
  CHECK(std::string_view{bucket["selector"].at(2)} == "user_properties");
  CHECK(std::string_view{bucket["selector"].at(3)} == "plan");
  CHECK(std::string_view{bucket["salt"]} == "salt1");
  const simdjson::dom::array d = bucket["allocations"].at(0)["distributions"];
  REQUIRE(d.size() == 4);
  // [0, C1), [floor(C1 * 42949672 / 100), ceil-ish(C2)), ...: design.md section 2.
  CHECK(std::uint64_t{d.at(0)["range"].at(0)} == 0);
  CHECK(std::uint64_t{d.at(0)["range"].at(1)} == (30ULL * 42949673 + 99) / 100);
  CHECK(std::uint64_t{d.at(1)["range"].at(0)} == 30ULL * 42949672 / 100);
  CHECK(std::uint64_t{d.at(2)["range"].at(1)} == (70ULL * 42949673 + 99) / 100);
  CHECK(std::string_view{d.at(3)["variant"]} == "unallocated");
  CHECK(std::uint64_t{d.at(3)["range"].at(1)} == 42949673);
}

TEST_CASE("GET /sdk/v2/flags serves one flag per group, with an ETag, a 304 and gzip",
          "[proxy][sdk]") {
  Fixture f;
  std::vector<config::GroupConfig> groups;
  for (int i = 1; i <= 30; ++i) {
    groups.push_back(testing::make_group(i, "g" + std::to_string(i), 40, "s" + std::to_string(i)));
  }
  f.apply(groups);
  api::Router router{*f.service, f.metrics, f.api, 0};
  Response plain = f.get(router, "/sdk/v2/flags", "");
  REQUIRE(plain.status == 200);
  REQUIRE(plain.shared_body);
  simdjson::dom::parser parser;
  const simdjson::dom::array flags = parser.parse(*plain.shared_body);
  CHECK(flags.size() == 30);
  CHECK_THAT(plain.headers, Catch::Contains("Vary: Accept-Encoding"));
  const std::string body = *plain.shared_body;

  const std::size_t at = plain.headers.find("ETag: ") + 6;
  const std::string etag = plain.headers.substr(at, plain.headers.find("\r\n", at) - at);
  Request conditional = Fixture::make(Method::kGet, "/sdk/v2/flags?v=0");
  conditional.if_none_match = etag;
  Response not_modified;
  router.handle(conditional, not_modified);
  CHECK(not_modified.status == 304);

  Request zipped = Fixture::make(Method::kGet, "/sdk/v2/flags");
  zipped.accept_encoding = "br;q=1, gzip;q=0.5";
  Response gz;
  router.handle(zipped, gz);
  CHECK_THAT(gz.headers, Catch::Contains("Content-Encoding: gzip"));
  CHECK(testing::gunzip(gz.payload()) == body);
  zipped.accept_encoding = "gzip;q=0";
  Response refused;
  router.handle(zipped, refused);
  CHECK(refused.payload() == body);

  // One group edited: the others' flags are copied, and the body equals one written afresh.
  groups[4].slots[0].percentage = 41;
  groups[4].slots[1].percentage = 59;
  f.apply(groups);
  router.refresh();
  Response edited = f.get(router, "/sdk/v2/flags", "");
  CHECK(*edited.shared_body != body);
  std::string fresh = "[";
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (i != 0) {
      fresh += ',';
    }
    common::JsonWriter writer{fresh};
    auto page = config::parse_list_page(testing::list_json({groups[i]}));
    wire::write_sdk_flag(writer, page->groups.at(0));
  }
  fresh += ']';
  CHECK(*edited.shared_body == fresh);
  // Its gzip joins the unchanged groups' compressed flags with the edited one's.
  zipped.accept_encoding = "gzip";
  Response edited_gz;
  router.handle(zipped, edited_gz);
  CHECK_THAT(edited_gz.headers, Catch::Contains("Content-Encoding: gzip"));
  CHECK(testing::gunzip(edited_gz.payload()) == fresh);
}

TEST_CASE("/sdk/v2/vardata answers the engine's variants for the user in X-Amp-Exp-User",
          "[proxy][sdk]") {
  Fixture f;
  f.apply({three_slots(), testing::make_group(8, "other", 100, "s8")});
  api::Router router{*f.service, f.metrics, f.api, 0};
  simdjson::dom::parser parser;

  Response vip = f.get(router, "/sdk/v2/vardata?v=0", b64(R"({"user_id":"vip-1"})"));
  REQUIRE(vip.status == 200);
  const simdjson::dom::element a = parser.parse(vip.body);
  CHECK(std::string_view{a["checkout"]["key"]} == "slot-2");
  CHECK(std::string_view{a["checkout"]["payload"]["flagIds"].at(0)} == "7002");
  CHECK(std::string_view{a["checkout"]["metadata"]["segmentName"]} == "slot-2 inclusions");
  CHECK(std::string_view{a["other"]["key"]} == "slot-1");  // one slot of 100%

  Response none = f.get(router, "/sdk/v2/vardata", b64(R"({"device_id":"d"})"));
  const simdjson::dom::element b = parser.parse(none.body);
  CHECK(std::string_view{b["checkout"]["key"]} == "off");  // no plan: no bucketing value
  CHECK(bool{b["checkout"]["metadata"]["default"]});
  CHECK(std::string_view{b["checkout"]["metadata"]["segmentName"]} == "All Other Users");

  Response cohort = f.get(router, "/sdk/v2/vardata", b64(R"({"cohort_ids":["cohortA"]})"), "",
                          b64(R"(["checkout","missing"])"));
  const simdjson::dom::object c = parser.parse(cohort.body);
  CHECK(c.size() == 1);
  CHECK(std::string_view{c["checkout"]["key"]} == "slot-3");

  // Bucketed users land in slots or in the unallocated 30%, never in "off".
  int unallocated = 0;
  for (int i = 0; i < 200; ++i) {
    Response r = f.get(router, "/sdk/v2/vardata?flag_key=checkout",
                       b64(R"({"user_properties":{"plan":"p)" + std::to_string(i) + "\"}}"));
    const std::string_view key = parser.parse(r.body)["checkout"]["key"];
    CHECK((key == "slot-1" || key == "slot-2" || key == "slot-3" || key == "unallocated"));
    unallocated += key == "unallocated" ? 1 : 0;
  }
  CHECK(unallocated > 20);
  CHECK(unallocated < 110);
}

TEST_CASE("the SDK routes refuse bad users, bad flag keys and wrong deployment keys",
          "[proxy][sdk]") {
  Fixture f{"k1, k2"};
  f.apply({three_slots()});
  api::Router router{*f.service, f.metrics, f.api, 0};
  const std::string user = b64(R"({"user_id":"u"})");
  auto code = [&](const Response& r) {
    simdjson::dom::parser parser;
    std::string_view text;
    if (parser.parse(r.body)["error"]["code"].get_string().get(text) != simdjson::SUCCESS) {
      return std::string{"(no error code)"};
    }
    return std::string{text};
  };
  CHECK(f.get(router, "/sdk/v2/vardata", user, "Api-Key k2").status == 200);
  CHECK(f.get(router, "/sdk/v2/flags", "", "api-key k1").status == 200);
  for (std::string_view bad : {"", "Api-Key k3", "Bearer k1", "Api-Key"}) {
    INFO(bad);
    const Response r = f.get(router, "/sdk/v2/vardata", user, bad);
    CHECK(r.status == 401);
    CHECK(code(r) == "unauthorized");
    CHECK(r.body.find("k1") == std::string::npos);
    CHECK(f.get(router, "/sdk/v2/flags", "", bad).status == 401);
  }
  const std::string_view key = "Api-Key k1";
  CHECK(code(f.get(router, "/sdk/v2/vardata", "%%%", key)) == "invalid_user");
  CHECK(code(f.get(router, "/sdk/v2/vardata", b64("[1]"), key)) == "invalid_user");
  CHECK(code(f.get(router, "/sdk/v2/vardata", b64("{\"a\":"), key)) == "invalid_user");
  CHECK(code(f.get(router, "/sdk/v2/vardata", "", key)) == "invalid_user");
  CHECK(code(f.get(router, "/sdk/v2/vardata", user, key, "***")) == "invalid_request");
  CHECK(code(f.get(router, "/sdk/v2/vardata", user, key, b64("[1]"))) == "invalid_request");
  CHECK(f.get(router, "/sdk/v2/vardata", "%%%", key).status == 400);

  Request put = Fixture::make(Method::kPatch, "/sdk/v2/vardata");
  put.authorization = key;
  Response refused;
  router.handle(put, refused);
  CHECK(refused.status == 405);
}

TEST_CASE("Accept-Encoding: gzip and * accept gzip unless q is 0", "[proxy][sdk]") {
  CHECK(wire::accepts_gzip("gzip"));
  CHECK(wire::accepts_gzip("deflate, GZIP"));
  CHECK(wire::accepts_gzip("*"));
  CHECK(wire::accepts_gzip("gzip;q=0.001"));
  CHECK_FALSE(wire::accepts_gzip(""));
  CHECK_FALSE(wire::accepts_gzip("identity"));
  CHECK_FALSE(wire::accepts_gzip("gzip;q=0"));
  CHECK_FALSE(wire::accepts_gzip("gzip; q=0.000"));
  CHECK_FALSE(wire::accepts_gzip("x-gzip"));
  // gzip named with q=0 refuses it whatever "*" says; a weight is found among any parameters.
  CHECK_FALSE(wire::accepts_gzip("gzip;q=0, *"));
  CHECK_FALSE(wire::accepts_gzip("*, gzip;q=0"));
  CHECK_FALSE(wire::accepts_gzip("*;q=0"));
  CHECK_FALSE(wire::accepts_gzip("gzip;level=1;q=0"));
  CHECK(wire::accepts_gzip("gzip;q=0.5, *;q=0"));
  CHECK(wire::accepts_gzip("br, *;q=0.1"));
}

TEST_CASE("with --require-key and no deployment keys, the SDK routes take a client key",
          "[proxy][sdk]") {
  Fixture f;
  f.api.require_key = true;
  f.api.client_keys = http::BearerKeys::parse("client-1");
  f.apply({three_slots()});
  api::Router router{*f.service, f.metrics, f.api, 0};
  const std::string user = b64(R"({"user_id":"u"})");
  CHECK(f.get(router, "/sdk/v2/vardata", user, "Api-Key client-1").status == 200);
  CHECK(f.get(router, "/sdk/v2/vardata", user, "Api-Key client-2").status == 401);
  CHECK(f.get(router, "/sdk/v2/vardata", user, "").status == 401);
  CHECK(f.get(router, "/sdk/v2/flags", "", "Api-Key client-1").status == 200);
}
