#include "cache/config_parser.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <set>

#include <simdjson.h>

#include "cache/json_text.hpp"

namespace mutex_edge::cache {
namespace {

namespace dom = simdjson::dom;


bool value_is_string(dom::object object, std::string_view name) {
  dom::element value;
  return object[name].get(value) == simdjson::SUCCESS && value.is_string();
}

/// Decodes one group, collecting every problem with its field path.
class GroupDecoder {
 public:
  GroupDecoder(const ParseOptions& options, std::vector<ConfigError>& errors)
      : limits_{options.limits}, errors_{errors} {}

  void decode(dom::element element, GroupConfig& group) {
    dom::object object;
    if (element.get_object().get(object)) {
      fail("", std::string{"must be an object, got "}.append(json_type_name(element.type())));
      return;
    }
    bool has_id = false, has_key = false, has_bucketing_key = false, has_salt = false,
         has_slots = false;
    for (dom::key_value_pair field : object) {
      const std::string_view name = field.key;
      const dom::element value = field.value;
      if (name == "id") {
        has_id = true;
        read_id(value, "id", group.id);
      } else if (name == "projectId") {
        if (!value.is_null()) {
          read_id(value, "projectId", group.project_id);
        }
      } else if (name == "name") {
        read_optional_string(value, "name", limits_.max_string_bytes, group.name);
      } else if (name == "key") {
        has_key = true;
        read_string(value, "key", limits_.max_string_bytes, group.key);
      } else if (name == "description") {
        read_optional_string(value, "description", limits_.max_description_bytes,
                             group.description);
      } else if (name == "evaluationMode") {
        read_optional_string(value, "evaluationMode", limits_.max_string_bytes,
                             group.evaluation_mode);
      } else if (name == "bucketingKey") {
        has_bucketing_key = true;
        read_string(value, "bucketingKey", limits_.max_string_bytes, group.bucketing_key);
      } else if (name == "bucketingSalt") {
        has_salt = true;
        read_string(value, "bucketingSalt", limits_.max_string_bytes, group.bucketing_salt);
      } else if (name == "slots") {
        has_slots = true;
        read_slots(value, group.slots);
      }
      // Other fields (archived, createdAt, ...) are ignored: the upstream may add fields.
    }
    require(has_id, "id");
    require(has_key, "key");
    require(has_bucketing_key, "bucketingKey");
    require(has_salt, "bucketingSalt");
    require(has_slots, "slots");
    if (has_key && group.key.empty() && value_is_string(object, "key")) {
      fail("key", "must not be empty");
    }
    if (has_bucketing_key && group.bucketing_key.empty() && value_is_string(object, "bucketingKey")) {
      fail("bucketingKey", "must not be empty");
    }
  }

 private:
  void fail(std::string field, std::string message) {
    errors_.push_back(ConfigError{"", std::move(field), std::move(message)});
  }

  void require(bool present, std::string_view field) {
    if (!present) {
      fail(std::string{field}, "is required");
    }
  }

  void wrong_type(const std::string& field, std::string_view expected, dom::element value) {
    fail(field, std::string{"must be "}.append(expected).append(", got ").append(
                    json_type_name(value.type())));
  }

  bool read_string(dom::element value, const std::string& field, std::size_t limit,
                   std::string& out) {
    std::string_view s;
    if (value.get_string().get(s)) {
      wrong_type(field, "a string", value);
      return false;
    }
    if (s.size() > limit) {
      fail(field, "is " + std::to_string(s.size()) + " bytes long, the limit is " +
                      std::to_string(limit));
      return false;
    }
    out.assign(s);
    return true;
  }

  void read_optional_string(dom::element value, const std::string& field, std::size_t limit,
                            std::string& out) {
    if (!value.is_null()) {
      read_string(value, field, limit, out);
    }
  }

  /// Ids are numbers in responses; numeric strings are accepted too (design.md section 1).
  bool read_id(dom::element value, const std::string& field, std::int64_t& out) {
    std::int64_t number = 0;
    std::string_view text;
    if (value.get_int64().get(number) == simdjson::SUCCESS) {
      // checked below
    } else if (value.get_string().get(text) == simdjson::SUCCESS) {
      const auto* end = text.data() + text.size();
      auto [ptr, ec] = std::from_chars(text.data(), end, number);
      if (text.empty() || ec != std::errc{} || ptr != end) {
        fail(field, "must be an integer id (a number or a string of digits), got " +
                        excerpt(text));
        return false;
      }
    } else {
      wrong_type(field, "an integer id", value);
      return false;
    }
    if (number < 0) {
      fail(field, "must not be negative, got " + std::to_string(number));
      return false;
    }
    out = number;
    return true;
  }

  bool read_int(dom::element value, const std::string& field, int min, int max, int& out) {
    std::int64_t number = 0;
    if (value.get_int64().get(number)) {
      if (value.is_number()) {
        fail(field, "must be an integer in " + std::to_string(min) + ".." + std::to_string(max) +
                        ", got a fractional or out-of-range number");
      } else {
        wrong_type(field, "an integer", value);
      }
      return false;
    }
    if (number < min || number > max) {
      fail(field, "must be an integer in " + std::to_string(min) + ".." + std::to_string(max) +
                      ", got " + std::to_string(number));
      return false;
    }
    out = static_cast<int>(number);
    return true;
  }

  /// Reads an optional array; calls `each(element, path)` per item.
  template <typename Each>
  void read_array(dom::element value, const std::string& field, Each each) {
    if (value.is_null()) {
      return;
    }
    dom::array array;
    if (value.get_array().get(array)) {
      wrong_type(field, "an array", value);
      return;
    }
    if (array.size() > limits_.max_list_items) {
      fail(field, "has " + std::to_string(array.size()) + " items, the limit is " +
                      std::to_string(limits_.max_list_items));
      return;
    }
    std::size_t i = 0;
    for (dom::element item : array) {
      each(item, field + "[" + std::to_string(i++) + "]");
    }
  }

  void read_ids(dom::element value, const std::string& field, std::vector<std::int64_t>& out) {
    read_array(value, field, [&](dom::element item, const std::string& path) {
      std::int64_t id = 0;
      if (read_id(item, path, id)) {
        out.push_back(id);
      }
    });
  }

  void read_strings(dom::element value, const std::string& field, std::vector<std::string>& out) {
    read_array(value, field, [&](dom::element item, const std::string& path) {
      std::string s;
      if (read_string(item, path, limits_.max_string_bytes, s)) {
        out.push_back(std::move(s));
      }
    });
  }

  void read_slots(dom::element value, std::vector<SlotConfig>& slots) {
    dom::array array;
    if (value.get_array().get(array)) {
      wrong_type("slots", "an array", value);
      return;
    }
    if (array.size() > limits_.max_slots) {
      fail("slots", "has " + std::to_string(array.size()) + " slots, at most " +
                        std::to_string(limits_.max_slots) + " are allowed");
      return;
    }
    std::size_t i = 0;
    for (dom::element item : array) {
      const std::string path = "slots[" + std::to_string(i++) + "]";
      read_slot(item, path, slots.emplace_back());
    }
  }

  void read_slot(dom::element element, const std::string& path, SlotConfig& slot) {
    dom::object object;
    if (element.get_object().get(object)) {
      wrong_type(path, "an object", element);
      return;
    }
    // `present_*`: the field is there (a bad value is reported on its own, not as missing).
    bool has_index = false, present_index = false, present_percentage = false;
    for (dom::key_value_pair field : object) {
      const std::string_view name = field.key;
      const std::string sub = path + "." + std::string{name};
      if (name == "index") {
        has_index = read_int(field.value, sub, 1, 1000000, slot.index);
        present_index = true;
      } else if (name == "percentage") {
        present_percentage = true;
        read_int(field.value, sub, 1, 100, slot.percentage);
      } else if (name == "name") {
        read_optional_string(field.value, sub, limits_.max_string_bytes, slot.name);
      } else if (name == "variantKey") {
        read_optional_string(field.value, sub, limits_.max_string_bytes, slot.variant_key);
      } else if (name == "experiments") {
        read_ids(field.value, sub, slot.experiments);
      } else if (name == "holdouts") {
        read_ids(field.value, sub, slot.holdouts);
      } else if (name == "individuals") {
        read_strings(field.value, sub, slot.individuals);
      } else if (name == "cohorts") {
        read_strings(field.value, sub, slot.cohorts);
      }
    }
    require(present_index, path + ".index");
    require(present_percentage, path + ".percentage");
    if (has_index) {
      if (slot.name.empty()) {
        slot.name = "SLOT " + std::to_string(slot.index);
      }
      if (slot.variant_key.empty()) {
        slot.variant_key = "slot-" + std::to_string(slot.index);
      }
    }
  }

  const ConfigLimits& limits_;
  std::vector<ConfigError>& errors_;
};

bool too_large(std::string_view json, const ConfigLimits& limits, ConfigError& error) {
  if (json.size() <= limits.max_document_bytes) {
    return false;
  }
  error = {"", "", "document is " + std::to_string(json.size()) + " bytes, the limit is " +
                       std::to_string(limits.max_document_bytes)};
  return true;
}

ConfigError not_json(simdjson::error_code code) {
  return {"", "", std::string{"document is not valid JSON: "} + simdjson::error_message(code)};
}

/// Decodes and validates one group; returns false (with `errors` labelled) if it is rejected.
bool decode_group(dom::element element, std::size_t position, const ParseOptions& options,
                  GroupConfig& group, std::vector<ConfigError>& errors) {
  const std::size_t first = errors.size();
  GroupDecoder{options, errors}.decode(element, group);
  if (errors.size() == first) {
    std::stable_sort(group.slots.begin(), group.slots.end(),
                     [](const SlotConfig& a, const SlotConfig& b) { return a.index < b.index; });
    for (ConfigError& e : validate_group(group, options)) {
      errors.push_back(std::move(e));
    }
  }
  const std::string label = describe_group(position, group);
  for (std::size_t i = first; i < errors.size(); ++i) {
    errors[i].group = label;
  }
  return errors.size() == first;
}

}  // namespace

std::string ConfigError::to_string() const {
  std::string out = group;
  if (!field.empty()) {
    out += out.empty() ? "" : " ";
    out += "field " + field;
  }
  if (!out.empty()) {
    out += ": ";
  }
  out += message;
  return out;
}

std::string describe_group(std::size_t position, const GroupConfig& group) {
  std::string out = "mutexes[" + std::to_string(position) + "]";
  std::string detail;
  if (group.id != 0) {
    detail = "id " + std::to_string(group.id);
  }
  if (!group.key.empty()) {
    detail += (detail.empty() ? "key " : ", key ") + excerpt(group.key);
  }
  if (!detail.empty()) {
    out += " (" + detail + ")";
  }
  return out;
}

std::vector<ConfigError> validate_group(const GroupConfig& group, const ParseOptions& options) {
  std::vector<ConfigError> errors;
  auto fail = [&](std::string field, std::string message) {
    errors.push_back(ConfigError{"", std::move(field), std::move(message)});
  };
  if (group.slots.empty()) {
    fail("slots", "must hold at least one slot");
  }
  if (group.slots.size() > options.limits.max_slots) {
    fail("slots", "has " + std::to_string(group.slots.size()) + " slots, at most " +
                      std::to_string(options.limits.max_slots) + " are allowed");
  }
  if (!group.evaluation_mode.empty() && group.evaluation_mode != "local" &&
      group.evaluation_mode != "remote") {
    fail("evaluationMode", "must be \"local\" or \"remote\", got " + excerpt(group.evaluation_mode));
  }
  std::set<int> indexes;
  for (const SlotConfig& slot : group.slots) {
    if (!indexes.insert(slot.index).second) {
      fail("slots", "slot index " + std::to_string(slot.index) + " appears more than once");
    }
    if (slot.percentage < 1 || slot.percentage > 100) {
      fail("slots", "slot " + std::to_string(slot.index) + " has percentage " +
                        std::to_string(slot.percentage) + ", it must be an integer in 1..100");
    }
  }
  const int sum = group.percentage_sum();
  if (sum > 100) {
    fail("slots", "percentages sum to " + std::to_string(sum) + ", at most 100 is allowed");
  } else if (options.require_full_allocation && sum != 100 && !group.slots.empty()) {
    fail("slots", "percentages sum to " + std::to_string(sum) + ", they must sum to 100");
  }
  return errors;
}

boost::system::result<ListPage, ConfigError> parse_list_page(std::string_view json,
                                                             const ParseOptions& options) {
  ConfigError error;
  if (too_large(json, options.limits, error)) {
    return error;
  }
  dom::parser parser;
  dom::element root;
  if (auto code = parser.parse(json.data(), json.size()).get(root)) {
    return not_json(code);
  }
  dom::object object;
  if (root.get_object().get(object)) {
    return ConfigError{"", "", std::string{"document must be an object {\"mutexes\": [...]}, got "}
                                   .append(json_type_name(root.type()))};
  }
  ListPage page;
  dom::element mutexes;
  if (object["mutexes"].get(mutexes)) {
    return ConfigError{"", "mutexes", "is required"};
  }
  dom::array groups;
  if (mutexes.get_array().get(groups)) {
    return ConfigError{"", "mutexes",
                       std::string{"must be an array, got "}.append(json_type_name(mutexes.type()))};
  }
  if (groups.size() > options.limits.max_groups) {
    return ConfigError{"", "mutexes",
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
      return ConfigError{"", "nextCursor", std::string{"must be a string, a number or null, got "}
                                               .append(json_type_name(cursor.type()))};
    }
    if (page.next_cursor->size() > options.limits.max_string_bytes) {
      return ConfigError{"", "nextCursor", "is longer than " +
                                               std::to_string(options.limits.max_string_bytes) +
                                               " bytes"};
    }
  }
  std::size_t position = 0;
  for (dom::element element : groups) {
    GroupConfig group;
    if (decode_group(element, position++, options, group, page.rejected)) {
      page.groups.push_back(std::move(group));
    }
  }
  return page;
}

boost::system::result<GroupConfig, std::vector<ConfigError>> parse_group(
    std::string_view json, const ParseOptions& options) {
  std::vector<ConfigError> errors(1);
  if (too_large(json, options.limits, errors[0])) {
    return errors;
  }
  dom::parser parser;
  dom::element root;
  if (auto code = parser.parse(json.data(), json.size()).get(root)) {
    errors[0] = not_json(code);
    return errors;
  }
  errors.clear();
  GroupConfig group;
  if (!decode_group(root, 0, options, group, errors)) {
    return errors;
  }
  return group;
}

}  // namespace mutex_edge::cache
