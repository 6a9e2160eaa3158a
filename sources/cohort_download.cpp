#include "sources/cohort_download.hpp"

#include <charconv>

#include <simdjson.h>

namespace mutex_edge::sources {
namespace {

namespace dom = simdjson::dom;

/// An integer field of the download, or an error naming it.
bool read_int(dom::object object, std::string_view name, std::int64_t& out, std::string& error) {
  dom::element value;
  if (object[name].get(value) != simdjson::SUCCESS || value.is_null()) {
    out = 0;
    return true;  // optional: Amplitude sends them all, a missing one reads as 0
  }
  if (value.get_int64().get(out) != simdjson::SUCCESS) {
    error = std::string{name} + " must be an integer";
    return false;
  }
  return true;
}

using Parsed = boost::system::result<CohortDownload, std::string>;

Parsed fail(std::string message) {
  return Parsed{boost::system::in_place_error, std::move(message)};
}

}  // namespace

boost::system::result<CohortDownload, std::string> parse_cohort_download(std::string_view body,
                                                                         std::size_t max_members) {
  thread_local dom::parser parser;
  dom::element root;
  if (auto code = parser.parse(body.data(), body.size()).get(root)) {
    return fail(std::string{"the cohort is not valid JSON: "} + simdjson::error_message(code));
  }
  dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return fail(std::string{"the cohort must be a JSON object"});
  }
  CohortDownload out;
  std::string error;
  std::string_view text;
  if (object["cohortId"].get_string().get(text) != simdjson::SUCCESS) {
    return fail(std::string{"cohortId must be a string"});
  }
  out.id = text;
  if (object["groupType"].get_string().get(text) == simdjson::SUCCESS) {
    out.group_type = text;
  }
  std::int64_t size = 0;
  if (!read_int(object, "groupTypeId", out.group_type_id, error) ||
      !read_int(object, "lastComputed", out.last_computed, error) ||
      !read_int(object, "lastModified", out.last_modified, error) ||
      !read_int(object, "size", size, error)) {
    return fail(error);
  }
  out.size = size < 0 ? 0 : static_cast<std::size_t>(size);
  dom::array members;
  if (object["memberIds"].get_array().get(members) != simdjson::SUCCESS) {
    return fail(std::string{"memberIds must be an array"});
  }
  const std::size_t count = members.size();
  if (count > max_members) {
    return fail("the cohort lists " + std::to_string(count) + " members, over the limit of " +
                std::to_string(max_members));
  }
  out.members.reserve(count);
  char digits[24];
  for (dom::element member : members) {
    if (member.get_string().get(text) == simdjson::SUCCESS) {
      out.members.add(text);
      continue;
    }
    std::int64_t number = 0;
    if (member.get_int64().get(number) != simdjson::SUCCESS) {
      return fail(std::string{"memberIds must hold strings or integers"});
    }
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, number);
    out.members.add(std::string_view{digits, static_cast<std::size_t>(end - digits)});
  }
  return out;
}

}  // namespace mutex_edge::sources
