#include "config/cohorts.hpp"

#include <set>
#include <unordered_set>

#include "common/file.hpp"
#include "common/text.hpp"
#include "config/json_fields.hpp"
#include "config/parser.hpp"

namespace mutex_edge::config {
namespace {

using detail::Field;
using detail::FieldReader;
namespace dom = detail::dom;

/// The field readers' limits for cohort input: lists are member lists, strings are members.
ConfigLimits reader_limits(const CohortLimits& limits) {
  ConfigLimits out;
  out.max_list_items = limits.max_members;
  out.max_string_bytes = limits.max_member_bytes;
  return out;
}

/// Drops repeated members, keeping the first of each in place.
void drop_duplicates(std::vector<std::string>& members) {
  std::vector<bool> keep(members.size());
  {
    // Views of the strings as they are: nothing moves until the set is gone.
    std::unordered_set<std::string_view> seen;
    seen.reserve(members.size());
    for (std::size_t i = 0; i < members.size(); ++i) {
      keep[i] = seen.insert(members[i]).second;
    }
  }
  std::size_t kept = 0;
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (keep[i]) {
      if (kept != i) {
        members[kept] = std::move(members[i]);
      }
      ++kept;
    }
  }
  members.resize(kept);
}

bool read_members(FieldReader& reader, dom::element value, std::vector<std::string>& out) {
  if (value.is_null()) {
    reader.wrong_type("memberIds", "an array of strings or integers (the members' user ids)",
                      value);
    return false;
  }
  if (!reader.identifiers(value, "memberIds", out)) {
    return false;
  }
  drop_duplicates(out);
  return true;
}

bool read_group_type(FieldReader& reader, dom::element value, const CohortLimits& limits,
                     std::string& out) {
  return reader.non_empty_string(value, "groupType", limits.max_group_type_bytes, out);
}

bool read_group_type_id(FieldReader& reader, dom::element value, std::int64_t& out) {
  if (value.get_int64().get(out) != simdjson::SUCCESS) {
    reader.wrong_type("groupTypeId", "an integer", value);
    return false;
  }
  return true;
}

/// One cohort of a seed file.
void read_cohort(FieldReader& reader, dom::object object, const CohortLimits& limits,
                 Cohort& cohort) {
  bool has_id = false, has_members = false;
  for (dom::key_value_pair field : object) {
    const std::string_view name = field.key;
    const dom::element value = field.value;
    if (name == "cohortId") {
      has_id = true;
      std::string_view id;
      if (value.get_string().get(id) != simdjson::SUCCESS) {
        reader.wrong_type("cohortId", "a string", value);
      } else if (!valid_cohort_id(id)) {
        reader.fail(
            Problem::kBadValue, "cohortId",
            std::string{"must be "}.append(kCohortIdRule).append(", got ") + common::excerpt(id));
      } else {
        cohort.id = id;
      }
    } else if (name == "memberIds") {
      has_members = true;
      read_members(reader, value, cohort.members);
    } else if (name == "groupType") {
      read_group_type(reader, value, limits, cohort.group_type);
    } else if (name == "groupTypeId") {
      read_group_type_id(reader, value, cohort.group_type_id);
    } else if (name == "lastComputed" || name == "lastModified") {
      std::int64_t ms = 0;
      if (reader.id(value, name, ms)) {
        (name == "lastComputed" ? cohort.last_computed : cohort.last_modified) = ms;
      }
    }
    if (!reader.ok()) {
      return;
    }
  }
  if (!has_id) {
    reader.fail(Problem::kMissing, "cohortId", "is required");
  } else if (!has_members) {
    reader.fail(Problem::kMissing, "memberIds",
                "is required (an array of the members' user ids, strings)");
  }
}

}  // namespace

bool valid_cohort_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 256 || id == "." || id == "..") {
    return false;
  }
  for (const char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '~' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

boost::system::result<CohortPut, ConfigError> decode_cohort_put(std::string_view body,
                                                                const CohortLimits& limits) {
  const ConfigLimits field_limits = reader_limits(limits);
  std::vector<ConfigError> errors;
  FieldReader reader{field_limits, FieldReader::Policy::kStopAtFirst, errors};
  dom::parser parser;  // not kept: a cohort body can be hundreds of megabytes
  dom::object object;
  if (!reader.body_object(parser, body, object)) {
    return errors.front();
  }
  CohortPut put;
  bool has_members = false;
  for (dom::key_value_pair field : object) {
    const std::string_view name = field.key;
    if (name == "memberIds") {
      has_members = true;
      read_members(reader, field.value, put.members);
    } else if (name == "groupType") {
      if (!field.value.is_null()) {
        read_group_type(reader, field.value, limits, put.group_type.emplace());
      }
    } else if (name == "groupTypeId") {
      if (!field.value.is_null()) {
        read_group_type_id(reader, field.value, put.group_type_id.emplace());
      }
    }
    if (!reader.ok()) {
      return errors.front();
    }
  }
  if (!has_members) {
    return ConfigError{Problem::kMissing, "", "memberIds",
                       "is required (an array of the members' user ids, strings; [] empties the "
                       "cohort)"};
  }
  return put;
}

common::Result<std::vector<Cohort>> load_cohorts_file(const std::filesystem::path& path,
                                                      const CohortLimits& limits) {
  auto fail = [&](const std::string& why) {
    return common::Error{"cohorts seed " + path.string() + ": " + why};
  };
  auto data = common::read_file(path, limits.max_document_bytes, kParsePadding);
  if (!data) {
    return common::Error{"cohorts seed: " + data.error().message};
  }
  dom::parser parser;
  dom::element root;
  if (auto code = parser.parse(data->data(), data->size(), false).get(root)) {
    return fail(std::string{"not valid JSON: "} + simdjson::error_message(code));
  }
  dom::array cohorts;
  if (root["cohorts"].get_array().get(cohorts) != simdjson::SUCCESS) {
    return fail(R"(must be an object with a "cohorts" array: {"cohorts": [{"cohortId": "...", )"
                R"("memberIds": [...]}]})");
  }
  const ConfigLimits field_limits = reader_limits(limits);
  std::vector<Cohort> out;
  out.reserve(cohorts.size());
  std::set<std::string> ids;
  std::size_t position = 0;
  for (dom::element item : cohorts) {
    const std::string label = "cohorts[" + std::to_string(position++) + "]";
    std::vector<ConfigError> errors;
    FieldReader reader{field_limits, FieldReader::Policy::kStopAtFirst, errors};
    dom::object object;
    Cohort& cohort = out.emplace_back();
    if (item.get_object().get(object) != simdjson::SUCCESS) {
      reader.wrong_type("", "an object", item);
    } else {
      read_cohort(reader, object, limits, cohort);
    }
    if (!reader.ok()) {
      ConfigError error = errors.front();
      error.group =
          label + (cohort.id.empty() ? "" : " (cohortId " + common::excerpt(cohort.id) + ")");
      return fail(error.to_string());
    }
    if (!ids.insert(cohort.id).second) {
      return fail(label + ": cohortId " + common::excerpt(cohort.id) +
                  " is used by more than one cohort");
    }
  }
  return out;
}

}  // namespace mutex_edge::config
