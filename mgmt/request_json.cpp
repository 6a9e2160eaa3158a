#include "mgmt/request_json.hpp"

#include <charconv>

#include <simdjson.h>

#include "cache/json_text.hpp"

namespace mutex_edge::mgmt {
namespace {

namespace dom = simdjson::dom;

/// Reads fields of a request body; keeps the first problem, later reads then do nothing.
class Reader {
 public:
  explicit Reader(const cache::ConfigLimits& limits) : limits_{limits} {}

  [[nodiscard]] bool ok() const noexcept { return !error_; }
  [[nodiscard]] ApiError error() const { return *error_; }

  void fail(std::string_view code, std::string message) {
    if (!error_) {
      error_ = ApiError{400, std::string{code}, std::move(message)};
    }
  }

  /// The body as a JSON object.
  bool object(std::string_view body, dom::object& out) {
    // One parser per thread, reused: it keeps its buffers from one request to the next.
    thread_local dom::parser parser;
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
      fail("invalid_json", "the request body is empty; send a JSON object");
      return false;
    }
    dom::element root;
    if (auto code = parser.parse(body.data(), body.size()).get(root)) {
      fail("invalid_json",
           std::string{"the request body is not valid JSON: "} + simdjson::error_message(code));
      return false;
    }
    if (root.get_object().get(out)) {
      fail("invalid_type",
           std::string{"the request body must be a JSON object, got "}.append(cache::json_type_name(root.type())));
      return false;
    }
    return true;
  }

  void wrong_type(std::string_view field, std::string_view expected, dom::element value) {
    fail("invalid_type", std::string{field} + " must be " + std::string{expected} + ", got " +
                             std::string{cache::json_type_name(value.type())});
  }

  /// Ids are numbers in responses and numbers or strings of digits on input.
  bool id(dom::element value, std::string_view field, std::int64_t& out) {
    std::string_view text;
    if (value.get_int64().get(out) == simdjson::SUCCESS) {
      if (out < 0) {
        fail("invalid_value", std::string{field} + " must not be negative, got " +
                                  std::to_string(out));
        return false;
      }
      return true;
    }
    if (value.get_string().get(text) == simdjson::SUCCESS) {
      if (auto parsed = parse_id(text)) {
        out = *parsed;
        return true;
      }
      fail("invalid_value", std::string{field} +
                                " must be an integer id (a number or a string of digits), got " +
                                cache::excerpt(text));
      return false;
    }
    wrong_type(field, "an integer id (a number or a string of digits)", value);
    return false;
  }

  bool string(dom::element value, std::string_view field, std::size_t limit, std::string& out) {
    std::string_view s;
    if (value.get_string().get(s)) {
      wrong_type(field, "a string", value);
      return false;
    }
    if (s.size() > limit) {
      fail("value_too_long", std::string{field} + " is " + std::to_string(s.size()) +
                                 " bytes long, at most " + std::to_string(limit) +
                                 " are allowed");
      return false;
    }
    out.assign(s);
    return true;
  }

  /// A string that, when given, is not empty.
  bool non_empty_string(dom::element value, std::string_view field, std::size_t limit,
                        std::string& out) {
    if (!string(value, field, limit, out)) {
      return false;
    }
    if (out.empty()) {
      fail("invalid_value", std::string{field} + " must not be empty");
      return false;
    }
    return true;
  }

  template <typename Each>
  bool list(dom::element value, std::string_view field, std::string_view items, Each each) {
    if (value.is_null()) {
      return true;
    }
    dom::array array;
    if (value.get_array().get(array)) {
      wrong_type(field, std::string{"an array of "} + std::string{items}, value);
      return false;
    }
    if (array.size() > limits_.max_list_items) {
      fail("too_many_items", std::string{field} + " has " + std::to_string(array.size()) +
                                 " items, at most " + std::to_string(limits_.max_list_items) +
                                 " are allowed");
      return false;
    }
    std::size_t i = 0;
    for (dom::element item : array) {
      if (!each(item, std::string{field} + "[" + std::to_string(i++) + "]")) {
        return false;
      }
    }
    return true;
  }

  bool ids(dom::element value, std::string_view field, std::vector<std::int64_t>& out) {
    out.clear();
    return list(value, field, "integer ids", [&](dom::element item, const std::string& path) {
      std::int64_t n = 0;
      if (!id(item, path, n)) {
        return false;
      }
      out.push_back(n);
      return true;
    });
  }

  bool strings(dom::element value, std::string_view field, std::vector<std::string>& out) {
    out.clear();
    return list(value, field, "strings", [&](dom::element item, const std::string& path) {
      std::string s;
      if (!string(item, path, limits_.max_string_bytes, s)) {
        return false;
      }
      out.push_back(std::move(s));
      return true;
    });
  }

  bool percentage(dom::element value, std::string_view field, int& out) {
    std::int64_t n = 0;
    if (value.get_int64().get(n)) {
      if (value.is_number()) {
        fail("invalid_percentage", std::string{field} +
                                       " must be an integer from 1 to 100, got a fractional or "
                                       "out-of-range number");
      } else {
        wrong_type(field, "an integer from 1 to 100", value);
      }
      return false;
    }
    if (n < 1 || n > 100) {
      fail("invalid_percentage", std::string{field} + " must be an integer from 1 to 100, got " +
                                     std::to_string(n));
      return false;
    }
    out = static_cast<int>(n);
    return true;
  }

  bool slot(dom::element element, std::size_t position, cache::SlotConfig& slot) {
    const std::string path = "slots[" + std::to_string(position) + "]";
    dom::object object;
    if (element.get_object().get(object)) {
      wrong_type(path, "an object", element);
      return false;
    }
    slot.index = static_cast<int>(position + 1);
    slot.name = "SLOT " + std::to_string(slot.index);
    slot.variant_key = "slot-" + std::to_string(slot.index);
    bool has_percentage = false;
    for (dom::key_value_pair field : object) {
      const std::string_view name = field.key;
      const std::string sub = path + "." + std::string{name};
      if (name == "percentage") {
        has_percentage = true;
        percentage(field.value, sub, slot.percentage);
      } else if (name == "experiments") {
        ids(field.value, sub, slot.experiments);
      } else if (name == "holdouts") {
        ids(field.value, sub, slot.holdouts);
      } else if (name == "individuals") {
        strings(field.value, sub, slot.individuals);
      } else if (name == "cohorts") {
        strings(field.value, sub, slot.cohorts);
      }
      // name, index, variantKey (as a get answers them) and unknown fields are ignored: a
      // slot's place in the array is its index.
      if (!ok()) {
        return false;
      }
    }
    if (!has_percentage) {
      fail("missing_field", path + ".percentage is required");
      return false;
    }
    return true;
  }

  bool slots(dom::element value, std::vector<cache::SlotConfig>& out) {
    dom::array array;
    if (value.get_array().get(array)) {
      wrong_type("slots", "an array of slot objects", value);
      return false;
    }
    if (array.size() == 0) {
      fail("no_slots", "slots must hold at least one slot");
      return false;
    }
    if (array.size() > limits_.max_slots) {
      fail("too_many_slots", "slots holds " + std::to_string(array.size()) + " slots, at most " +
                                 std::to_string(limits_.max_slots) + " are allowed");
      return false;
    }
    std::size_t position = 0;
    for (dom::element item : array) {
      if (!slot(item, position, out.emplace_back())) {
        return false;
      }
      ++position;
    }
    return true;
  }

  [[nodiscard]] const cache::ConfigLimits& limits() const noexcept { return limits_; }

 private:
  const cache::ConfigLimits& limits_;
  std::optional<ApiError> error_;
};

}  // namespace

std::optional<std::int64_t> parse_id(std::string_view text) {
  std::int64_t value = 0;
  if (text.empty() || text.front() < '0' || text.front() > '9') {
    return std::nullopt;
  }
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

boost::system::result<CreateRequest, ApiError> decode_create(std::string_view body,
                                                             const cache::ConfigLimits& limits) {
  Reader reader{limits};
  dom::object object;
  if (!reader.object(body, object)) {
    return reader.error();
  }
  CreateRequest request;
  cache::GroupConfig& group = request.group;
  bool has_project = false, has_name = false, has_slots = false;
  for (dom::key_value_pair field : object) {
    const std::string_view name = field.key;
    const dom::element value = field.value;
    if (name == "projectId") {
      has_project = !value.is_null();
      if (has_project) {
        reader.id(value, "projectId", group.project_id);
      }
    } else if (name == "name") {
      has_name = !value.is_null();
      if (has_name) {
        reader.non_empty_string(value, "name", limits.max_string_bytes, group.name);
      }
    } else if (name == "key") {
      if (!value.is_null()) {
        reader.non_empty_string(value, "key", limits.max_string_bytes, group.key);
      }
    } else if (name == "description") {
      if (!value.is_null()) {
        reader.string(value, "description", limits.max_description_bytes, group.description);
      }
    } else if (name == "evaluationMode") {
      if (!value.is_null() &&
          reader.string(value, "evaluationMode", limits.max_string_bytes, group.evaluation_mode) &&
          group.evaluation_mode.empty()) {
        reader.fail("invalid_evaluation_mode", "evaluationMode must be \"local\" or \"remote\", got \"\"");
      }
    } else if (name == "bucketingKey") {
      if (!value.is_null()) {
        reader.non_empty_string(value, "bucketingKey", limits.max_string_bytes,
                                group.bucketing_key);
      }
    } else if (name == "bucketingSalt") {
      if (!value.is_null()) {
        reader.non_empty_string(value, "bucketingSalt", limits.max_string_bytes,
                                group.bucketing_salt);
      }
    } else if (name == "slots") {
      has_slots = !value.is_null();
      if (has_slots) {
        reader.slots(value, group.slots);
      }
    }
    // id, archived and unknown fields are ignored, as a copy of a get answer may carry them.
    if (!reader.ok()) {
      return reader.error();
    }
  }
  if (!has_project) {
    reader.fail("missing_field", "projectId is required (the project's id, a number)");
  } else if (!has_name) {
    reader.fail("missing_field", "name is required (the group's name, a string)");
  } else if (!has_slots) {
    reader.fail("missing_field",
                "slots is required (1 to 20 slots such as {\"percentage\": 50}, summing to 100)");
  }
  if (!reader.ok()) {
    return reader.error();
  }
  return request;
}

boost::system::result<GroupEdit, ApiError> decode_group_edit(std::string_view body,
                                                             const cache::ConfigLimits& limits) {
  Reader reader{limits};
  dom::object object;
  if (!reader.object(body, object)) {
    return reader.error();
  }
  GroupEdit edit;
  dom::element archive;
  if (object["archive"].get(archive) == simdjson::SUCCESS && !archive.is_null()) {
    bool value = false;
    if (archive.get_bool().get(value)) {
      reader.wrong_type("archive", "a boolean", archive);
      return reader.error();
    }
    edit.archive = value;
    if (value) {
      return edit;  // archiving ignores every other field
    }
  }
  for (dom::key_value_pair field : object) {
    const std::string_view name = field.key;
    if (name == "name") {
      std::string s;
      if (reader.non_empty_string(field.value, "name", limits.max_string_bytes, s)) {
        edit.name = std::move(s);
      }
    } else if (name == "description") {
      std::string s;
      if (field.value.is_null() ||
          reader.string(field.value, "description", limits.max_description_bytes, s)) {
        edit.description = std::move(s);
      }
    }
    if (!reader.ok()) {
      return reader.error();
    }
  }
  return edit;
}

boost::system::result<SlotEdit, ApiError> decode_slot_edit(std::string_view body,
                                                           const cache::ConfigLimits& limits) {
  Reader reader{limits};
  dom::object object;
  if (!reader.object(body, object)) {
    return reader.error();
  }
  SlotEdit edit;
  for (dom::key_value_pair field : object) {
    const std::string_view name = field.key;
    if (name == "experiments") {
      reader.ids(field.value, "experiments", edit.experiments.emplace());
    } else if (name == "holdouts") {
      reader.ids(field.value, "holdouts", edit.holdouts.emplace());
    } else if (name == "individuals") {
      reader.strings(field.value, "individuals", edit.individuals.emplace());
    } else if (name == "cohorts") {
      reader.strings(field.value, "cohorts", edit.cohorts.emplace());
    }
    if (!reader.ok()) {
      return reader.error();
    }
  }
  return edit;
}

}  // namespace mutex_edge::mgmt
