#include "config/parser.hpp"

#include <algorithm>
#include <set>

#include "common/file.hpp"
#include "common/text.hpp"
#include "config/json_fields.hpp"

namespace mutex_edge::config {
namespace {

using detail::FieldReader;
using detail::json_type_name;
namespace dom = detail::dom;

std::optional<ConfigError> too_large(std::string_view json, const ConfigLimits& limits) {
  if (json.size() <= limits.max_document_bytes) {
    return std::nullopt;
  }
  return ConfigError{Problem::kTooLarge, "", "",
                     "document is " + std::to_string(json.size()) + " bytes, the limit is " +
                         std::to_string(limits.max_document_bytes)};
}

ConfigError not_json(simdjson::error_code code) {
  return {Problem::kNotJson, "", "",
          std::string{"document is not valid JSON: "} + simdjson::error_message(code)};
}

/// Whether a listed group is marked "archived": true (any other value is not archived). `key` is
/// then its key, "" when it has none that is a string.
bool archived(dom::element element, std::string_view& key) {
  bool marked = false;
  if (element["archived"].get_bool().get(marked) != simdjson::SUCCESS || !marked) {
    return false;
  }
  if (element["key"].get_string().get(key) != simdjson::SUCCESS) {
    key = {};
  }
  return true;
}

/// Decodes and validates one group; returns false (with `errors` labelled) if it is rejected.
bool decode_group(dom::element element, std::size_t position, const ParseOptions& options,
                  GroupConfig& group, std::vector<ConfigError>& errors) {
  const std::size_t first = errors.size();
  FieldReader reader{options.limits, FieldReader::Policy::kCollectAll, errors};
  reader.group(element,
               options.identity_optional ? detail::GroupShape::kSeed : detail::GroupShape::kServed,
               group);
  if (reader.ok()) {
    std::stable_sort(group.slots.begin(), group.slots.end(),
                     [](const SlotConfig& a, const SlotConfig& b) { return a.index < b.index; });
    for (ConfigError& e : validate_group(group, options)) {
      errors.push_back(std::move(e));
    }
  }
  if (errors.size() == first) {
    return true;
  }
  const std::string label = describe_group(position, group.id, group.key);
  for (std::size_t i = first; i < errors.size(); ++i) {
    errors[i].group = label;
  }
  return false;
}

}  // namespace

namespace {

static_assert(kParsePadding == simdjson::SIMDJSON_PADDING);

boost::system::result<ListPage, ConfigError> parse_page(std::string_view json, bool padded,
                                                        const ParseOptions& options);

}  // namespace

std::vector<ConfigError> validate_group(const GroupConfig& group, const ParseOptions& options) {
  std::vector<ConfigError> errors;
  auto fail = [&](Problem problem, std::string field, std::string message) {
    errors.push_back(ConfigError{problem, "", std::move(field), std::move(message)});
  };
  if (group.slots.empty()) {
    fail(Problem::kNoSlots, "slots", "must hold at least one slot");
  }
  if (group.slots.size() > options.limits.max_slots) {
    fail(Problem::kTooManySlots, "slots",
         "has " + std::to_string(group.slots.size()) + " slots, at most " +
             std::to_string(options.limits.max_slots) + " are allowed");
  }
  if (!group.evaluation_mode.empty() && group.evaluation_mode != "local" &&
      group.evaluation_mode != "remote") {
    fail(Problem::kEvaluationMode, "evaluationMode",
         "must be \"local\" or \"remote\", got " + common::excerpt(group.evaluation_mode));
  }
  std::set<int> indexes;
  for (const SlotConfig& slot : group.slots) {
    if (!indexes.insert(slot.index).second) {
      fail(Problem::kDuplicateIndex, "slots",
           "slot index " + std::to_string(slot.index) + " appears more than once");
    }
    // /sdk/v2/flags gives every flag these two variants beside the slots' (wire/sdk_api.cpp): a
    // slot of either key would be a second variant of that key. Compared as the SDKs compare.
    if (!options.allow_reserved_variant_keys &&
        (slot.variant_key == "off" || slot.variant_key == "unallocated")) {
      fail(Problem::kBadValue, "slots",
           "slot " + std::to_string(slot.index) + " has variantKey " +
               common::excerpt(slot.variant_key) +
               ", a variant /sdk/v2/flags gives every flag (\"off\" and \"unallocated\" are "
               "reserved)");
    }
    if (slot.percentage < 1 || slot.percentage > 100) {
      fail(Problem::kBadPercentage, "slots",
           "slot " + std::to_string(slot.index) + " has percentage " +
               std::to_string(slot.percentage) + ", it must be an integer in 1..100");
    }
  }
  const int sum = group.percentage_sum();
  if (sum > 100) {
    fail(Problem::kAllocation, "slots",
         "percentages sum to " + std::to_string(sum) + ", at most 100 is allowed");
  } else if (options.require_full_allocation && sum != 100 && !group.slots.empty()) {
    fail(Problem::kAllocation, "slots",
         "percentages sum to " + std::to_string(sum) + ", they must sum to 100");
  }
  return errors;
}

boost::system::result<ListPage, ConfigError> parse_list_page(std::string_view json,
                                                             const ParseOptions& options) {
  return parse_page(json, false, options);
}

boost::system::result<ListPage, ConfigError> parse_padded_list_page(std::string_view json,
                                                                    const ParseOptions& options) {
  return parse_page(json, true, options);
}

namespace {

boost::system::result<ListPage, ConfigError> parse_page(std::string_view json, bool padded,
                                                        const ParseOptions& options) {
  if (auto error = too_large(json, options.limits)) {
    return *error;
  }
  dom::parser parser;
  dom::element root;
  // With the padding there already, simdjson reads the bytes where they are (no copy).
  if (auto code = parser.parse(json.data(), json.size(), !padded).get(root)) {
    return not_json(code);
  }
  dom::object object;
  if (root.get_object().get(object)) {
    return ConfigError{Problem::kWrongType, "", "",
                       std::string{"document must be an object {\"mutexes\": [...]}, got "}.append(
                           json_type_name(root.type()))};
  }
  ListPage page;
  dom::element mutexes;
  if (object["mutexes"].get(mutexes)) {
    return ConfigError{Problem::kMissing, "", "mutexes", "is required"};
  }
  dom::array groups;
  if (mutexes.get_array().get(groups)) {
    return ConfigError{
        Problem::kWrongType, "", "mutexes",
        std::string{"must be an array, got "}.append(json_type_name(mutexes.type()))};
  }
  if (groups.size() > options.limits.max_groups) {
    return ConfigError{Problem::kTooManyItems, "", "mutexes",
                       "holds " + std::to_string(groups.size()) + " groups, the limit is " +
                           std::to_string(options.limits.max_groups)};
  }
  dom::element cursor;
  if (object["nextCursor"].get(cursor) == simdjson::SUCCESS && !cursor.is_null()) {
    std::string_view text;
    std::int64_t number = 0;
    if (cursor.get_string().get(text) == simdjson::SUCCESS) {
      page.next_cursor.emplace(text);
    } else if (cursor.get_int64().get(number) == simdjson::SUCCESS) {
      page.next_cursor = std::to_string(number);
    } else {
      return ConfigError{Problem::kWrongType, "", "nextCursor",
                         std::string{"must be a string, a number or null, got "}.append(
                             json_type_name(cursor.type()))};
    }
    if (page.next_cursor->size() > options.limits.max_string_bytes) {
      return ConfigError{
          Problem::kTooLong, "", "nextCursor",
          "is longer than " + std::to_string(options.limits.max_string_bytes) + " bytes"};
    }
  }
  page.groups.reserve(groups.size());
  std::size_t position = 0;
  for (dom::element element : groups) {
    // Archived groups get no assignment (the list endpoint never lists one): left out, and not
    // an error either.
    if (std::string_view key; archived(element, key)) {
      page.archived.emplace_back(key);
      ++position;
      continue;
    }
    common::Digest digest;
    if (options.known) {
      digest = detail::digest_of(element);
      if (options.known(digest)) {
        page.known.push_back({page.groups.size() + page.known.size(), digest});
        ++position;
        continue;
      }
    }
    GroupConfig group;
    if (decode_group(element, position++, options, group, page.rejected)) {
      page.groups.push_back(std::move(group));
      if (options.known) {
        page.digests.push_back(digest);
      }
    }
  }
  return page;
}

}  // namespace

void ListPage::append(ListPage&& page) {
  const std::size_t offset = groups.size() + known.size();
  for (Known& k : page.known) {
    k.position += offset;
    known.push_back(k);
  }
  for (GroupConfig& group : page.groups) {
    groups.push_back(std::move(group));
  }
  digests.insert(digests.end(), page.digests.begin(), page.digests.end());
  for (ConfigError& error : page.rejected) {
    rejected.push_back(std::move(error));
  }
  for (std::string& key : page.archived) {
    archived.push_back(std::move(key));
  }
}

boost::system::result<GroupConfig, std::vector<ConfigError>> parse_group(
    std::string_view json, const ParseOptions& options) {
  if (auto error = too_large(json, options.limits)) {
    return std::vector<ConfigError>{*error};
  }
  dom::parser parser;
  dom::element root;
  if (auto code = parser.parse(json.data(), json.size()).get(root)) {
    return std::vector<ConfigError>{not_json(code)};
  }
  std::vector<ConfigError> errors;
  GroupConfig group;
  if (!decode_group(root, 0, options, group, errors)) {
    return errors;
  }
  return group;
}

common::Result<ListPage> load_list_file(const std::filesystem::path& path,
                                        const ParseOptions& options) {
  auto data = common::read_file(path, options.limits.max_document_bytes, kParsePadding);
  if (!data) {
    return data.error();
  }
  auto page = parse_padded_list_page(*data, options);
  if (!page) {
    return common::Error{path.string() + ": " + page.error().to_string()};
  }
  return std::move(*page);
}

}  // namespace mutex_edge::config
