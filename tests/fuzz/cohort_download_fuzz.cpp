// An answer of Amplitude's cohort download API (GET /sdk/v1/cohort/{id}), as mutex-edge's cohort
// sync reads it: sources::parse_cohort_download with a member limit. The same bytes are read here
// with simdjson as the header promises (cohortId a string; groupTypeId, lastComputed,
// lastModified and size integers or absent; memberIds strings or integers, at most the limit):
// both must accept the same answers, with the same fields and the same distinct members. What
// parsed is then written in the API's canonical form and must read back the same.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "sources/cohort_download.hpp"

#include <simdjson.h>

#include "common/json_writer.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace mutex_edge;

namespace {

namespace dom = simdjson::dom;

constexpr std::size_t kMaxMembers = 64;

/// The download as this harness reads it.
struct Expected {
  std::string id;
  std::string group_type;
  std::int64_t group_type_id = 0;
  std::int64_t last_computed = 0;
  std::int64_t last_modified = 0;
  std::int64_t size = 0;
  std::size_t listed = 0;         // memberIds' length, repeats included
  std::set<std::string> members;  // their texts: a string, or an integer's decimal form
};

/// An optional integer field: absent and null read as 0; false when it is something else.
bool optional_integer(dom::object object, std::string_view name, std::int64_t& out) {
  dom::element value;
  if (object[name].get(value) != simdjson::SUCCESS || value.is_null()) {
    out = 0;
    return true;
  }
  return value.get_int64().get(out) == simdjson::SUCCESS;
}

/// nullopt where parse_cohort_download must refuse `body` (a limit of `max` members).
std::optional<Expected> expect(std::string_view body, std::size_t max) {
  static dom::parser parser;
  dom::element root;
  dom::object object;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS ||
      root.get_object().get(object) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  Expected out;
  std::string_view text;
  if (object["cohortId"].get_string().get(text) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  out.id = text;
  if (object["groupType"].get_string().get(text) == simdjson::SUCCESS) {
    out.group_type = text;  // anything else (absent, null, a number) reads as ""
  }
  if (!optional_integer(object, "groupTypeId", out.group_type_id) ||
      !optional_integer(object, "lastComputed", out.last_computed) ||
      !optional_integer(object, "lastModified", out.last_modified) ||
      !optional_integer(object, "size", out.size)) {
    return std::nullopt;
  }
  dom::array members;
  if (object["memberIds"].get_array().get(members) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  out.listed = members.size();
  if (out.listed > max) {
    return std::nullopt;
  }
  for (dom::element member : members) {
    std::int64_t number = 0;
    if (member.get_string().get(text) == simdjson::SUCCESS) {
      out.members.emplace(text);
    } else if (member.get_int64().get(number) == simdjson::SUCCESS) {
      out.members.insert(std::to_string(number));
    } else {
      return std::nullopt;
    }
  }
  return out;
}

/// Aborts unless `got` holds what `expected` says (`what`: which reading, for the message).
void check_same(const sources::CohortDownload& got, const Expected& expected, std::string_view what,
                std::string_view body) {
  const std::size_t size = expected.size < 0 ? 0 : static_cast<std::size_t>(expected.size);
  if (got.id != expected.id || got.group_type != expected.group_type ||
      got.group_type_id != expected.group_type_id || got.last_computed != expected.last_computed ||
      got.last_modified != expected.last_modified || got.size != size) {
    fuzz::fail(std::string{what} + ": the fields differ from simdjson's reading", body);
  }
  if (got.members.size() != expected.members.size()) {
    fuzz::fail(std::string{what} + ": " + std::to_string(got.members.size()) +
                   " distinct members where simdjson reads " +
                   std::to_string(expected.members.size()),
               body);
  }
  for (const std::string& member : expected.members) {
    if (!got.members.contains(cache::CohortMembers::key(member))) {
      fuzz::fail(std::string{what} + ": a member is missing", member);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = fuzz::text(data, size);
  auto parsed = sources::parse_cohort_download(body, kMaxMembers);
  const std::optional<Expected> expected = expect(body, kMaxMembers);
  if (parsed.has_value() != expected.has_value()) {
    fuzz::fail(parsed ? "a download simdjson reads as malformed is accepted"
                      : "a well-formed download is refused: " + parsed.error(),
               body);
  }
  if (!parsed) {
    return 0;
  }
  check_same(*parsed, *expected, "the download", body);
  if (expected->listed > kMaxMembers) {
    fuzz::fail("a download over the member limit is accepted", body);
  }
  if (expected->listed != 0 && sources::parse_cohort_download(body, expected->listed - 1)) {
    fuzz::fail("a download is accepted with a limit below its member count", body);
  }

  // The canonical form of what parsed (members as strings) reads back the same.
  std::string json;
  common::JsonWriter writer{json};
  writer.begin_object();
  writer.key("cohortId").value(parsed->id);
  writer.key("groupType").value(parsed->group_type);
  writer.key("groupTypeId").value(parsed->group_type_id);
  writer.key("lastComputed").value(parsed->last_computed);
  writer.key("lastModified").value(parsed->last_modified);
  writer.key("size").value(parsed->size);
  writer.key("memberIds").begin_array();
  for (const std::string& member : expected->members) {
    writer.value(member);
  }
  writer.end_array();
  writer.end_object();
  auto again = sources::parse_cohort_download(json, kMaxMembers);
  if (!again) {
    fuzz::fail("a download written again does not read back: " + again.error(), json);
  }
  Expected canonical = *expected;
  canonical.size = static_cast<std::int64_t>(parsed->size);
  check_same(*again, canonical, "the download written again", json);
  return 0;
}
