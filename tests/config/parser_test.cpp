#include "config/parser.hpp"

#include <string>

#include <catch2/catch.hpp>

#include "config/paging.hpp"
#include "config/serialize.hpp"

using namespace mutex_edge::config;

namespace {

/// A valid group with the given key, id and slot JSON.
std::string group_json(std::string key, int id, std::string slots) {
  return R"({"id":)" + std::to_string(id) + R"(,"projectId":1,"name":"n","key":")" + key +
         R"(","description":"","evaluationMode":"local","bucketingKey":"device_id",)"
         R"("bucketingSalt":"aB3dE5gH","slots":)" +
         slots + "}";
}

std::string two_slots(int a = 40, int b = 60) {
  return R"([{"name":"SLOT 1","index":1,"variantKey":"slot-1","percentage":)" + std::to_string(a) +
         R"(,"experiments":[11],"holdouts":[],"individuals":["qa"],"cohorts":["c"]},)"
         R"({"name":"SLOT 2","index":2,"variantKey":"slot-2","percentage":)" +
         std::to_string(b) +
         R"(,"experiments":[12,"13"],"holdouts":[99],"individuals":[],"cohorts":[]}])";
}

std::string list(std::string groups, std::string extra = "") {
  return R"({"mutexes":[)" + groups + "]" + extra + "}";
}

/// Parses a page that must hold exactly one rejected group; returns the error text.
std::string rejection(const std::string& json) {
  auto page = parse_list_page(json);
  REQUIRE(page.has_value());
  REQUIRE(page->groups.empty());
  REQUIRE(page->rejected.size() >= 1);
  return page->rejected.front().to_string();
}

}  // namespace

TEST_CASE("a list page parses into the model", "[config][parser]") {
  auto page =
      parse_list_page(list(group_json("checkout", 7, two_slots()), R"(,"nextCursor":"abc")"));
  REQUIRE(page.has_value());
  REQUIRE(page->rejected.empty());
  REQUIRE(page->groups.size() == 1);
  const GroupConfig& g = page->groups[0];
  CHECK(g.id == 7);
  CHECK(g.project_id == 1);
  CHECK(g.key == "checkout");
  CHECK(g.evaluation_mode == "local");
  CHECK(g.bucketing_key == "device_id");
  CHECK(g.bucketing_salt == "aB3dE5gH");
  REQUIRE(g.slots.size() == 2);
  CHECK(g.slots[0].percentage == 40);
  CHECK(g.slots[0].individuals == std::vector<std::string>{"qa"});
  CHECK(g.slots[0].cohorts == std::vector<std::string>{"c"});
  CHECK(g.slots[1].experiments == std::vector<std::int64_t>{12, 13});  // "13": ids as strings
  CHECK(g.slots[1].holdouts == std::vector<std::int64_t>{99});
  CHECK(page->next_cursor == "abc");
}

TEST_CASE("nextCursor may be absent, null, a string or a number", "[config][parser]") {
  CHECK_FALSE(parse_list_page(list(""))->next_cursor);
  CHECK_FALSE(parse_list_page(list("", R"(,"nextCursor":null)"))->next_cursor);
  CHECK(parse_list_page(list("", R"(,"nextCursor":1000)"))->next_cursor == "1000");
  auto bad = parse_list_page(list("", R"(,"nextCursor":{})"));
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().field == "nextCursor");
}

TEST_CASE("slots are put in index order and defaults filled in", "[config][parser]") {
  const std::string slots =
      R"([{"index":2,"percentage":60},{"index":1,"percentage":40,"experiments":null}])";
  auto page = parse_list_page(list(group_json("k", 1, slots)));
  REQUIRE(page.has_value());
  REQUIRE(page->groups.size() == 1);
  const auto& s = page->groups[0].slots;
  CHECK(s[0].index == 1);
  CHECK(s[1].index == 2);
  CHECK(s[1].variant_key == "slot-2");
  CHECK(s[1].name == "SLOT 2");
}

TEST_CASE("document-level problems fail the whole page with a clear message", "[config][parser]") {
  SECTION("truncated JSON") {
    const std::string full = list(group_json("k", 1, two_slots()));
    for (std::size_t cut : {std::size_t{1}, full.size() / 2, full.size() - 1}) {
      auto page = parse_list_page(full.substr(0, cut));
      REQUIRE_FALSE(page.has_value());
      CHECK_THAT(page.error().to_string(), Catch::Contains("not valid JSON"));
    }
  }
  SECTION("a bad token inside a group On Demand would never visit") {
    auto page = parse_list_page(R"({"mutexes":[],"extra":tru})");
    REQUIRE_FALSE(page.has_value());
  }
  SECTION("not an object") {
    CHECK_THAT(parse_list_page("[]").error().to_string(), Catch::Contains("must be an object"));
  }
  SECTION("no mutexes array") {
    CHECK(parse_list_page("{}").error().field == "mutexes");
    CHECK_THAT(parse_list_page(R"({"mutexes":{}})").error().to_string(),
               Catch::Contains("must be an array"));
  }
  SECTION("a document over the size limit") {
    ParseOptions options;
    options.limits.max_document_bytes = 100;
    auto page = parse_list_page(list(group_json("k", 1, two_slots())), options);
    REQUIRE_FALSE(page.has_value());
    CHECK_THAT(page.error().to_string(), Catch::Contains("the limit is 100"));
  }
  SECTION("more groups than allowed") {
    ParseOptions options;
    options.limits.max_groups = 1;
    const std::string two = group_json("a", 1, two_slots()) + "," + group_json("b", 2, two_slots());
    CHECK_FALSE(parse_list_page(list(two), options).has_value());
  }
}

TEST_CASE("an invalid group is left out and named, the others are kept", "[config][parser]") {
  const std::string groups = group_json("good", 1, two_slots()) + "," +
                             group_json("bad", 2, two_slots(50, 51)) + "," +
                             group_json("also-good", 3, two_slots(10, 20));
  auto page = parse_list_page(list(groups));
  REQUIRE(page.has_value());
  REQUIRE(page->groups.size() == 2);
  CHECK(page->groups[0].key == "good");
  CHECK(page->groups[1].key == "also-good");
  REQUIRE(page->rejected.size() == 1);
  CHECK(page->rejected[0].problem == Problem::kAllocation);
  const std::string error = page->rejected[0].to_string();
  CHECK_THAT(error, Catch::Contains("mutexes[1]") && Catch::Contains("id 2") &&
                        Catch::Contains("key \"bad\"") && Catch::Contains("field slots") &&
                        Catch::Contains("sum to 101"));
}

TEST_CASE("every rule of the group contract is checked", "[config][parser]") {
  SECTION("percentages must be integers in 1..100") {
    CHECK_THAT(rejection(list(group_json("k", 1, R"([{"index":1,"percentage":0}])"))),
               Catch::Contains("slots[0].percentage") && Catch::Contains("1..100"));
    CHECK_THAT(rejection(list(group_json("k", 1, R"([{"index":1,"percentage":101}])"))),
               Catch::Contains("got 101"));
    CHECK_THAT(rejection(list(group_json("k", 1, R"([{"index":1,"percentage":40.5}])"))),
               Catch::Contains("slots[0].percentage") && Catch::Contains("fractional"));
    CHECK_THAT(rejection(list(group_json("k", 1, R"([{"index":1,"percentage":"40"}])"))),
               Catch::Contains("must be an integer in 1..100, got a string"));
  }
  SECTION("1..20 slots") {
    CHECK_THAT(rejection(list(group_json("k", 1, "[]"))), Catch::Contains("at least one slot"));
    std::string slots = "[";
    for (int i = 1; i <= 21; ++i) {
      slots += (i > 1 ? "," : "") + std::string{R"({"index":)"} + std::to_string(i) +
               R"(,"percentage":1})";
    }
    slots += "]";
    CHECK_THAT(rejection(list(group_json("k", 1, slots))),
               Catch::Contains("21 slots") && Catch::Contains("at most 20"));
  }
  SECTION("unique slot indexes") {
    CHECK_THAT(rejection(list(group_json(
                   "k", 1, R"([{"index":1,"percentage":10},{"index":1,"percentage":10}])"))),
               Catch::Contains("slot index 1 appears more than once"));
  }
  SECTION("required fields") {
    CHECK_THAT(
        rejection(list(
            R"({"key":"k","bucketingKey":"device_id","bucketingSalt":"s","slots":[{"index":1,"percentage":100}]})")),
        Catch::Contains("field id: is required"));
    CHECK_THAT(
        rejection(list(
            R"({"id":1,"bucketingKey":"device_id","bucketingSalt":"s","slots":[{"index":1,"percentage":100}]})")),
        Catch::Contains("field key: is required"));
    CHECK_THAT(
        rejection(list(
            R"({"id":1,"key":"k","bucketingKey":"device_id","slots":[{"index":1,"percentage":100}]})")),
        Catch::Contains("field bucketingSalt: is required"));
    CHECK_THAT(
        rejection(list(R"({"id":1,"key":"k","bucketingSalt":"s","bucketingKey":"user_id"})")),
        Catch::Contains("field slots: is required"));
    CHECK_THAT(rejection(list(group_json("k", 1, R"([{"percentage":100}])"))),
               Catch::Contains("slots[0].index: is required"));
  }
  SECTION("wrong types name the field and the type") {
    CHECK_THAT(
        rejection(list(
            R"({"id":true,"key":"k","bucketingKey":"u","bucketingSalt":"s","slots":[{"index":1,"percentage":100}]})")),
        Catch::Contains("field id") && Catch::Contains("got a boolean"));
    CHECK_THAT(
        rejection(list(
            R"({"id":"12x","key":"k","bucketingKey":"u","bucketingSalt":"s","slots":[{"index":1,"percentage":100}]})")),
        Catch::Contains("string of digits"));
    CHECK_THAT(rejection(list(group_json("k", 1, R"({"index":1})"))),
               Catch::Contains("field slots: must be an array of slot objects, got an object"));
    CHECK_THAT(
        rejection(list(group_json("k", 1, R"([{"index":1,"percentage":100,"individuals":[1]}])"))),
        Catch::Contains("slots[0].individuals[0]: must be a string, got a number"));
    CHECK_THAT(
        rejection(list(group_json("k", 1, R"([{"index":1,"percentage":100,"experiments":"1"}])"))),
        Catch::Contains("slots[0].experiments: must be an array"));
    CHECK_THAT(rejection(list("42")),
               Catch::Contains("mutexes[0]") && Catch::Contains("must be an object"));
  }
  SECTION("evaluation mode") {
    std::string json = group_json("k", 1, two_slots());
    json.replace(json.find("\"local\""), 7, "\"edge\"");
    CHECK_THAT(rejection(list(json)), Catch::Contains("evaluationMode"));
  }
  SECTION("a 50 MB string is refused by size, naming the field") {
    const std::string huge(50 * 1024 * 1024, 'x');
    const std::string json = list(
        group_json("k", 1, R"([{"index":1,"percentage":100,"individuals":[")" + huge + R"("]}])"));
    CHECK_THAT(rejection(json), Catch::Contains("key \"k\"") &&
                                    Catch::Contains("slots[0].individuals[0]") &&
                                    Catch::Contains("52428800 bytes long"));
  }
  SECTION("a full allocation can be required") {
    ParseOptions options;
    options.require_full_allocation = true;
    auto page = parse_list_page(list(group_json("k", 1, two_slots(10, 20))), options);
    REQUIRE(page.has_value());
    CHECK(page->groups.empty());
    CHECK_THAT(page->rejected.at(0).to_string(), Catch::Contains("must sum to 100"));
  }
}

TEST_CASE("a single group parses, or reports every problem", "[config][parser]") {
  auto group = parse_group(group_json("solo", 5, two_slots()));
  REQUIRE(group.has_value());
  CHECK(group->key == "solo");

  auto bad = parse_group(R"({"id":5,"key":"","slots":[{"index":0,"percentage":500}]})");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().size() >= 4);  // index, percentage, bucketingKey, bucketingSalt, key
  CHECK_FALSE(parse_group("{\"id\":").has_value());
}

TEST_CASE("serialising and parsing a list gives the same groups back", "[config][parser]") {
  const std::string groups =
      group_json("a", 1, two_slots()) + "," + group_json(R"(b\"\\\n☃)", 2, two_slots(10, 20));
  auto page = parse_list_page(list(groups));
  REQUIRE(page.has_value());
  REQUIRE(page->groups.size() == 2);
  std::string text;
  mutex_edge::common::JsonWriter writer{text};
  write_list_page(
      writer, page->groups.size(),
      [&](mutex_edge::common::JsonWriter& w, std::size_t i) { write_group(w, page->groups[i]); },
      "next");
  auto again = parse_list_page(text);
  REQUIRE(again.has_value());
  CHECK(again->groups == page->groups);
  CHECK(again->next_cursor == "next");
  CHECK(parse_list_page(serialize_list(page->groups))->groups == page->groups);
}

TEST_CASE("a null description stays null through parsing and serialising", "[config][parser]") {
  // group_json's group with its description field replaced by `field` ("" drops it).
  auto described = [](const std::string& key, int id, const std::string& field) {
    std::string json = group_json(key, id, two_slots());
    const std::string given = R"("description":"",)";
    return json.replace(json.find(given), given.size(), field);
  };
  auto page = parse_list_page(list(described("n", 1, R"("description":null,)") + "," +
                                   group_json("e", 3, two_slots()) + "," + described("a", 2, "")));
  REQUIRE(page.has_value());
  REQUIRE(page->groups.size() == 3);
  CHECK_FALSE(page->groups[0].description.has_value());
  CHECK(page->groups[1].description == std::optional<std::string>{""});
  // A served group without the field reads as "" (as it always did), not as null.
  CHECK(page->groups[2].description == std::optional<std::string>{""});
  const std::string text = serialize_list(page->groups);
  CHECK_THAT(text, Catch::Contains(R"("key":"n","description":null,)"));
  CHECK_THAT(text, Catch::Contains(R"("key":"e","description":"",)"));
  auto again = parse_list_page(text);
  REQUIRE(again.has_value());
  CHECK(again->groups == page->groups);
  CHECK_THAT(rejection(list(described("k", 1, R"("description":7,)"))),
             Catch::Contains("description: must be a string, got a number"));
}

TEST_CASE("problems carry their kind, so each API can name them its own way", "[config][parser]") {
  auto kind = [](const std::string& json) {
    auto page = parse_list_page(json);
    REQUIRE(page.has_value());
    REQUIRE_FALSE(page->rejected.empty());
    return page->rejected.front().problem;
  };
  CHECK(kind(list(group_json("k", 1, R"([{"index":1,"percentage":0}])"))) ==
        Problem::kBadPercentage);
  CHECK(kind(list(group_json("k", 1, "[]"))) == Problem::kNoSlots);
  CHECK(kind(list(group_json("k", 1, R"([{"index":1,"percentage":"x"}])"))) == Problem::kWrongType);
  CHECK(kind(list(group_json("", 1, two_slots()))) == Problem::kBadValue);
  CHECK(kind(list(R"({"id":1,"key":"k","bucketingKey":"d","bucketingSalt":"s"})")) ==
        Problem::kMissing);
  CHECK(parse_list_page("{").error().problem == Problem::kNotJson);
}

TEST_CASE("a seed may leave out ids, keys, bucketing keys, salts and modes", "[config][parser]") {
  ParseOptions options;
  options.identity_optional = true;
  const std::string json = list(
      R"({"name":"n","slots":[{"index":1,"percentage":100}]},)"
      R"({"id":null,"key":null,"bucketingKey":null,"bucketingSalt":null,"evaluationMode":null,)"
      R"("slots":[{"index":1,"percentage":50}]})");
  auto page = parse_list_page(json, options);
  REQUIRE(page.has_value());
  INFO((page->rejected.empty() ? "" : page->rejected.front().to_string()));
  REQUIRE(page->groups.size() == 2);
  CHECK(page->groups[0].id == 0);
  CHECK(page->groups[0].key.empty());
  CHECK(page->groups[1].bucketing_salt.empty());
  // Served, the same groups are refused.
  auto served = parse_list_page(json);
  REQUIRE(served.has_value());
  CHECK(served->groups.empty());
  CHECK(served->rejected.size() >= 2);
}

TEST_CASE("page limits are whole numbers from 1, capped at 1000", "[config][paging]") {
  CHECK(parse_page_limit("1") == 1);
  CHECK(parse_page_limit("1000") == 1000);
  CHECK(parse_page_limit("1001") == 1000);
  CHECK(parse_page_limit("99999999999999999999999") == 1000);
  for (const char* bad : {"", "0", "-1", "1x", "+1", " 1"}) {
    INFO(bad);
    CHECK_FALSE(parse_page_limit(bad).has_value());
  }
  CHECK(parse_id("12") == 12);
  CHECK_FALSE(parse_id("").has_value());
  CHECK_FALSE(parse_id("-1").has_value());
  CHECK_FALSE(parse_id("+1").has_value());
  CHECK_FALSE(parse_id("1x").has_value());
  CHECK_FALSE(parse_id("99999999999999999999").has_value());
}

TEST_CASE("groups the caller already holds are recognised by digest and not decoded",
          "[config][parser][known]") {
  const std::string a = group_json("a", 1, two_slots());
  const std::string b = group_json("b", 2, two_slots());
  const std::string c = group_json("c", 3, two_slots(10, 20));
  ParseOptions collect;
  collect.known = [](const mutex_edge::common::Digest&) { return false; };
  auto first = parse_list_page(list(a + "," + b + "," + c), collect);
  REQUIRE(first.has_value());
  REQUIRE(first->digests.size() == 3);
  CHECK(first->known.empty());
  CHECK_FALSE(first->digests[0] == first->digests[1]);

  // The digest follows the content, not the formatting.
  std::string spaced = b;
  for (std::size_t at = spaced.find(':'); at != std::string::npos; at = spaced.find(':', at + 2)) {
    spaced.insert(at + 1, " ");
  }
  auto reformatted = parse_list_page(list(a + ",\n  " + spaced + "," + c), collect);
  REQUIRE(reformatted.has_value());
  CHECK(reformatted->digests[1] == first->digests[1]);

  ParseOptions skip;
  skip.known = [&](const mutex_edge::common::Digest& d) { return d == first->digests[1]; };
  auto second = parse_list_page(list(a + "," + b + "," + c), skip);
  REQUIRE(second.has_value());
  REQUIRE(second->groups.size() == 2);
  CHECK(second->groups[0].key == "a");
  CHECK(second->groups[1].key == "c");
  REQUIRE(second->known.size() == 1);
  CHECK(second->known[0].position == 1);
  CHECK(second->known[0].digest == first->digests[1]);

  // An edited group is decoded again; a page appended after another keeps the order.
  const std::string b2 = group_json("b", 2, two_slots(30, 70));
  auto third = parse_list_page(list(b2 + "," + b), skip);
  REQUIRE(third.has_value());
  CHECK(third->groups.size() == 1);
  REQUIRE(third->known.size() == 1);
  CHECK(third->known[0].position == 1);
  ListPage merged = std::move(*second);
  merged.append(std::move(*third));
  CHECK(merged.groups.size() == 3);
  REQUIRE(merged.known.size() == 2);
  CHECK(merged.known[1].position == 4);  // after a, (b), c of the first page and b2
  CHECK(merged.digests.size() == merged.groups.size());
}

TEST_CASE("groups marked archived are left out, not rejected", "[config][parser][archived]") {
  auto archived = [](std::string json, std::string_view value) {
    return json.insert(1, R"("archived":)" + std::string{value} + ",");
  };
  const std::string groups = archived(group_json("gone", 1, two_slots()), "true") + "," +
                             group_json("live", 2, two_slots()) + "," +
                             archived(group_json("kept", 3, two_slots()), "false") + "," +
                             archived(group_json("odd", 4, two_slots()), R"("true")") + "," +
                             archived(group_json("gone-bad", 5, two_slots(50, 51)), "true") + "," +
                             group_json("bad", 6, two_slots(50, 51));
  auto page = parse_list_page(list(groups));
  REQUIRE(page.has_value());
  REQUIRE(page->groups.size() == 3);
  CHECK(page->groups[0].key == "live");
  CHECK(page->groups[1].key == "kept");
  CHECK(page->groups[2].key == "odd");  // only true archives
  CHECK(page->archived == std::vector<std::string>{"gone", "gone-bad"});
  // An archived group is no error even when it breaks a rule; the others keep their positions.
  REQUIRE(page->rejected.size() == 1);
  CHECK_THAT(page->rejected[0].to_string(), Catch::StartsWith("mutexes[5] (id 6"));

  // As for every caller: files (and so seeds), and merged pages of a listing.
  ParseOptions seed;
  seed.identity_optional = true;
  auto seeded =
      parse_list_page(list(archived(R"({"slots":[{"index":1,"percentage":100}]})", "true")), seed);
  REQUIRE(seeded.has_value());
  CHECK(seeded->groups.empty());
  CHECK(seeded->archived == std::vector<std::string>{""});
  ListPage merged = std::move(*page);
  merged.append(std::move(*seeded));
  CHECK(merged.archived.size() == 3);
}

TEST_CASE("a slot's variant key is never off or unallocated, the variants every flag has",
          "[config][parser]") {
  auto slot = [](std::string_view key) {
    return R"([{"index":1,"percentage":50,"variantKey":")" + std::string{key} +
           R"("},{"index":2,"percentage":50}])";
  };
  for (std::string_view reserved : {"off", "unallocated"}) {
    INFO(reserved);
    auto page = parse_list_page(list(group_json("k", 1, slot(reserved))));
    REQUIRE(page.has_value());
    CHECK(page->groups.empty());
    REQUIRE(page->rejected.size() == 1);
    CHECK(page->rejected[0].problem == Problem::kBadValue);
    CHECK_THAT(page->rejected[0].to_string(),
               Catch::Contains("key \"k\"") && Catch::Contains("field slots") &&
                   Catch::Contains("slot 1 has variantKey \"" + std::string{reserved} + "\"") &&
                   Catch::Contains("reserved"));
  }
  // Compared exactly, as the SDKs compare variant keys.
  for (std::string_view fine : {"Off", "OFF", "unallocated ", "off-1", "slot-1"}) {
    INFO(fine);
    auto page = parse_list_page(list(group_json("k", 1, slot(fine))));
    REQUIRE(page.has_value());
    CHECK(page->rejected.empty());
    CHECK(page->groups.size() == 1);
  }
  // The rule is validate_group's (mutex-mgmt checks edits with it); reading back what was
  // stored before it can be allowed.
  auto group = parse_group(group_json("k", 1, slot("slot-1")));
  REQUIRE(group.has_value());
  group->slots[1].variant_key = "unallocated";
  const auto errors = validate_group(*group);
  REQUIRE(errors.size() == 1);
  CHECK_THAT(errors[0].field_message(), Catch::StartsWith("slots: slot 2 has variantKey"));
  ParseOptions stored;
  stored.allow_reserved_variant_keys = true;
  CHECK(validate_group(*group, stored).empty());
  CHECK(parse_group(group_json("k", 1, slot("off")), stored).has_value());
  CHECK_FALSE(parse_group(group_json("k", 1, slot("off"))).has_value());
}
