#include "config/json_fields.hpp"

#include <cstring>

#include "common/text.hpp"

namespace mutex_edge::config::detail {

std::string_view json_type_name(dom::element_type type) noexcept {
  switch (type) {
    case dom::element_type::ARRAY:
      return "an array";
    case dom::element_type::OBJECT:
      return "an object";
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE:
      return "a number";
    case dom::element_type::STRING:
      return "a string";
    case dom::element_type::BOOL:
      return "a boolean";
    case dom::element_type::NULL_VALUE:
      return "null";
  }
  return "unknown";
}

namespace {

void digest_into(dom::element value, common::Hasher& h) noexcept {
  switch (value.type()) {
    case dom::element_type::ARRAY: {
      h.add(1);
      std::uint64_t count = 0;
      const dom::array array = value.get_array().value_unsafe();
      for (dom::element item : array) {
        digest_into(item, h);
        ++count;
      }
      h.add(count);
      break;
    }
    case dom::element_type::OBJECT: {
      h.add(2);
      std::uint64_t count = 0;
      const dom::object object = value.get_object().value_unsafe();
      for (dom::key_value_pair field : object) {
        h.add(field.key);
        digest_into(field.value, h);
        ++count;
      }
      h.add(count);
      break;
    }
    case dom::element_type::STRING:
      h.add(3);
      h.add(value.get_string().value_unsafe());
      break;
    case dom::element_type::INT64:
      h.add(4);
      h.add(static_cast<std::uint64_t>(value.get_int64().value_unsafe()));
      break;
    case dom::element_type::UINT64:
      h.add(5);
      h.add(value.get_uint64().value_unsafe());
      break;
    case dom::element_type::DOUBLE: {
      const double number = value.get_double().value_unsafe();
      std::uint64_t bits = 0;
      std::memcpy(&bits, &number, sizeof bits);
      h.add(6);
      h.add(bits);
      break;
    }
    case dom::element_type::BOOL:
      h.add(value.get_bool().value_unsafe() ? 7 : 8);
      break;
    case dom::element_type::NULL_VALUE:
      h.add(9);
      break;
  }
}

}  // namespace

common::Digest digest_of(dom::element value) noexcept {
  common::Hasher h;
  digest_into(value, h);
  return h.digest();
}

std::string Field::str() const {
  std::string out{prefix};
  if (!prefix.empty() && !name.empty()) {
    out += '.';
  }
  out += name;
  if (index != kNoIndex) {
    out += '[' + std::to_string(index) + ']';
  }
  return out;
}

void FieldReader::fail(Problem problem, const Field& field, std::string message) {
  if (stopped()) {
    return;
  }
  errors_.push_back(ConfigError{problem, "", field.str(), std::move(message)});
}

void FieldReader::wrong_type(const Field& field, std::string_view expected, dom::element value) {
  fail(Problem::kWrongType, field,
       std::string{"must be "}.append(expected).append(", got ").append(
           json_type_name(value.type())));
}

bool FieldReader::body_object(dom::parser& parser, std::string_view body, dom::object& out) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    fail(Problem::kNotJson, "", "the request body is empty; send a JSON object");
    return false;
  }
  dom::element root;
  if (auto code = parser.parse(body.data(), body.size()).get(root)) {
    fail(Problem::kNotJson, "",
         std::string{"the request body is not valid JSON: "} + simdjson::error_message(code));
    return false;
  }
  if (root.get_object().get(out)) {
    fail(Problem::kWrongType, "",
         std::string{"the request body must be a JSON object, got "}.append(
             json_type_name(root.type())));
    return false;
  }
  return true;
}

bool FieldReader::string(dom::element value, const Field& field, std::size_t limit,
                         std::string& out) {
  if (stopped()) {
    return false;
  }
  std::string_view s;
  if (value.get_string().get(s)) {
    wrong_type(field, "a string", value);
    return false;
  }
  if (s.size() > limit) {
    fail(Problem::kTooLong, field,
         "is " + std::to_string(s.size()) + " bytes long, at most " + std::to_string(limit) +
             " are allowed");
    return false;
  }
  out.assign(s);
  return true;
}

bool FieldReader::non_empty_string(dom::element value, const Field& field, std::size_t limit,
                                   std::string& out) {
  if (!string(value, field, limit, out)) {
    return false;
  }
  if (out.empty()) {
    fail(Problem::kBadValue, field, "must not be empty");
    return false;
  }
  return true;
}

bool FieldReader::optional_string(dom::element value, const Field& field, std::size_t limit,
                                  bool non_empty, std::string& out) {
  if (value.is_null()) {
    return true;
  }
  return non_empty ? non_empty_string(value, field, limit, out) : string(value, field, limit, out);
}

bool FieldReader::id(dom::element value, const Field& field, std::int64_t& out) {
  if (stopped()) {
    return false;
  }
  std::int64_t number = 0;
  std::string_view text;
  if (value.get_int64().get(number) == simdjson::SUCCESS) {
    if (number < 0) {
      fail(Problem::kBadValue, field, "must not be negative, got " + std::to_string(number));
      return false;
    }
    out = number;
    return true;
  }
  if (value.get_string().get(text) == simdjson::SUCCESS) {
    if (auto parsed = parse_id(text)) {
      out = *parsed;
      return true;
    }
    fail(Problem::kBadValue, field,
         "must be an integer id (a number or a string of digits), got " + common::excerpt(text));
    return false;
  }
  wrong_type(field, "an integer id (a number or a string of digits)", value);
  return false;
}

bool FieldReader::integer(dom::element value, const Field& field, int min, int max, int& out,
                          Problem range_problem) {
  if (stopped()) {
    return false;
  }
  auto range = [&] { return "an integer in " + std::to_string(min) + ".." + std::to_string(max); };
  std::int64_t number = 0;
  if (value.get_int64().get(number)) {
    if (value.is_number()) {
      fail(range_problem, field,
           "must be " + range() + ", got a fractional or out-of-range number");
    } else {
      wrong_type(field, range(), value);
    }
    return false;
  }
  if (number < min || number > max) {
    fail(range_problem, field, "must be " + range() + ", got " + std::to_string(number));
    return false;
  }
  out = static_cast<int>(number);
  return true;
}

template <typename Each>
bool FieldReader::list(dom::element value, const Field& field, std::string_view items, Each each) {
  if (stopped()) {
    return false;
  }
  if (value.is_null()) {
    return true;
  }
  dom::array array;
  if (value.get_array().get(array)) {
    wrong_type(field, std::string{"an array of "}.append(items), value);
    return false;
  }
  if (array.size() > limits_.max_list_items) {
    fail(Problem::kTooManyItems, field,
         "has " + std::to_string(array.size()) + " items, at most " +
             std::to_string(limits_.max_list_items) + " are allowed");
    return false;
  }
  const std::size_t before = errors_.size();
  std::size_t i = 0;
  for (dom::element item : array) {
    each(item, field.at(i++));
    if (stopped()) {
      return false;
    }
  }
  return errors_.size() == before;
}

bool FieldReader::ids(dom::element value, const Field& field, std::vector<std::int64_t>& out) {
  out.clear();
  return list(value, field, "integer ids", [&](dom::element item, const Field& path) {
    std::int64_t n = 0;
    if (id(item, path, n)) {
      out.push_back(n);
    }
  });
}

bool FieldReader::strings(dom::element value, const Field& field, std::vector<std::string>& out) {
  out.clear();
  return list(value, field, "strings", [&](dom::element item, const Field& path) {
    std::string s;
    if (string(item, path, limits_.max_string_bytes, s)) {
      out.push_back(std::move(s));
    }
  });
}

bool FieldReader::identifier(dom::element value, const Field& field, std::size_t limit,
                             std::string& out) {
  if (stopped()) {
    return false;
  }
  constexpr std::int64_t kMaxSafe = (std::int64_t{1} << 53) - 1;  // Number.MAX_SAFE_INTEGER
  constexpr std::string_view kExpected = "a string or an integer";
  switch (value.type()) {
    case dom::element_type::STRING:
      return string(value, field, limit, out);
    case dom::element_type::INT64: {
      const std::int64_t n = value.get_int64().value_unsafe();
      if (n > kMaxSafe || n < -kMaxSafe) {
        fail(Problem::kBadValue, field,
             "is " + std::to_string(n) +
                 ", beyond JavaScript's safe integers (at most 2^53 - 1 either side of 0), "
                 "which lose digits; send it as a string");
        return false;
      }
      out = std::to_string(n);
      return true;
    }
    case dom::element_type::UINT64:
      fail(Problem::kBadValue, field,
           "is " + std::to_string(value.get_uint64().value_unsafe()) +
               ", beyond JavaScript's safe integers (at most 2^53 - 1), which lose digits; send "
               "it as a string");
      return false;
    case dom::element_type::DOUBLE:
      fail(Problem::kBadValue, field,
           std::string{"must be "}.append(kExpected).append(
               ", got a number with a fraction or an exponent; send it as a string"));
      return false;
    default:
      wrong_type(field, kExpected, value);
      return false;
  }
}

bool FieldReader::identifiers(dom::element value, const Field& field,
                              std::vector<std::string>& out) {
  out.clear();
  return list(value, field, "strings or integers", [&](dom::element item, const Field& path) {
    std::string s;
    if (identifier(item, path, limits_.max_string_bytes, s)) {
      out.push_back(std::move(s));
    }
  });
}

bool FieldReader::slot(dom::element element, GroupShape shape, std::size_t position,
                       SlotConfig& slot) {
  const Field slot_field{"", "slots", position};
  dom::object object;
  if (element.get_object().get(object)) {
    wrong_type(slot_field, "an object", element);
    return false;
  }
  const std::string path = "slots[" + std::to_string(position) + "]";  // short: no allocation
  const bool create = shape == GroupShape::kCreate;
  // `present_*`: the field is there (a bad value is reported on its own, not as missing).
  bool has_index = false, present_index = false, present_percentage = false;
  for (dom::key_value_pair field : object) {
    const std::string_view name = field.key;
    const Field sub{path, name};
    if (name == "index") {
      if (!create) {  // a created slot's index is its place in the array
        present_index = true;
        has_index = integer(field.value, sub, 1, 1000000, slot.index, Problem::kBadValue);
      }
    } else if (name == "percentage") {
      present_percentage = true;
      integer(field.value, sub, 1, 100, slot.percentage, Problem::kBadPercentage);
    } else if (name == "name") {
      if (!create) {
        optional_string(field.value, sub, limits_.max_string_bytes, false, slot.name);
      }
    } else if (name == "variantKey") {
      if (!create) {
        optional_string(field.value, sub, limits_.max_string_bytes, false, slot.variant_key);
      }
    } else if (name == "experiments") {
      ids(field.value, sub, slot.experiments);
    } else if (name == "holdouts") {
      ids(field.value, sub, slot.holdouts);
    } else if (name == "individuals") {
      // mutex-mgmt's input takes user ids as numbers too (the documentation's create table types
      // them so); what is served is strings, as the API answers them.
      shape == GroupShape::kServed ? strings(field.value, sub, slot.individuals)
                                   : identifiers(field.value, sub, slot.individuals);
    } else if (name == "cohorts") {
      strings(field.value, sub, slot.cohorts);
    }
    if (stopped()) {
      return false;
    }
  }
  if (create) {
    slot.index = static_cast<int>(position + 1);
    has_index = true;
  } else if (!present_index) {
    fail(Problem::kMissing, Field{path, "index"}, "is required");
  }
  if (!present_percentage) {
    fail(Problem::kMissing, Field{path, "percentage"}, "is required");
  }
  if (has_index) {
    if (slot.name.empty()) {
      slot.name = "SLOT " + std::to_string(slot.index);
    }
    if (slot.variant_key.empty()) {
      slot.variant_key = "slot-" + std::to_string(slot.index);
    }
  }
  return ok();
}

bool FieldReader::slots(dom::element value, GroupShape shape, std::vector<SlotConfig>& out) {
  dom::array array;
  if (value.get_array().get(array)) {
    wrong_type("slots", "an array of slot objects", value);
    return false;
  }
  if (array.size() == 0) {
    fail(Problem::kNoSlots, "slots", "must hold at least one slot");
    return false;
  }
  if (array.size() > limits_.max_slots) {
    fail(Problem::kTooManySlots, "slots",
         "has " + std::to_string(array.size()) + " slots, at most " +
             std::to_string(limits_.max_slots) + " are allowed");
    return false;
  }
  out.reserve(array.size());
  std::size_t position = 0;
  for (dom::element item : array) {
    slot(item, shape, position++, out.emplace_back());
    if (stopped()) {
      return false;
    }
  }
  return ok();
}

void FieldReader::group(dom::element element, GroupShape shape, GroupConfig& group) {
  dom::object object;
  if (element.get_object().get(object)) {
    wrong_type("", "an object", element);
    return;
  }
  this->group(object, shape, group);
}

void FieldReader::group(dom::object object, GroupShape shape, GroupConfig& group) {
  const bool create = shape == GroupShape::kCreate;
  const bool lenient = shape != GroupShape::kServed;  // identity fields may be absent or null
  const std::size_t max_string = limits_.max_string_bytes;
  bool has_id = false, has_project = false, has_name = false, has_key = false,
       has_bucketing_key = false, has_salt = false, has_slots = false, has_description = false;
  for (dom::key_value_pair field : object) {
    const std::string_view name = field.key;
    const dom::element value = field.value;
    if (name == "id") {
      if (!create && !(lenient && value.is_null())) {  // a create body's id is not read
        has_id = true;
        id(value, "id", group.id);
      }
    } else if (name == "projectId") {
      if (!value.is_null()) {
        has_project = true;
        id(value, "projectId", group.project_id);
      }
    } else if (name == "name") {
      has_name = !value.is_null();
      optional_string(value, "name", max_string, create, group.name);
    } else if (name == "key") {
      if (!(lenient && value.is_null())) {
        has_key = true;
        non_empty_string(value, "key", max_string, group.key);
      }
    } else if (name == "description") {
      has_description = true;
      std::string text;
      if (value.is_null()) {
        group.description.reset();
      } else if (string(value, "description", limits_.max_description_bytes, text)) {
        group.description = std::move(text);
      }
    } else if (name == "evaluationMode") {
      if (optional_string(value, "evaluationMode", max_string, false, group.evaluation_mode) &&
          create && !value.is_null() && group.evaluation_mode.empty()) {
        fail(Problem::kEvaluationMode, "evaluationMode", R"(must be "local" or "remote", got "")");
      }
    } else if (name == "bucketingKey") {
      if (!(lenient && value.is_null())) {
        has_bucketing_key = true;
        non_empty_string(value, "bucketingKey", max_string, group.bucketing_key);
      }
    } else if (name == "bucketingSalt") {
      if (!(lenient && value.is_null())) {
        has_salt = true;
        create ? non_empty_string(value, "bucketingSalt", max_string, group.bucketing_salt)
               : string(value, "bucketingSalt", max_string, group.bucketing_salt);
      }
    } else if (name == "slots") {
      if (!(create && value.is_null())) {
        has_slots = true;
        slots(value, shape, group.slots);
      }
    }
    // Other fields (archived, createdAt, ...) are ignored: the upstream may add fields.
    if (stopped()) {
      return;
    }
  }
  auto require = [this](bool present, const char* field, std::string_view hint = {}) {
    if (!present) {
      fail(Problem::kMissing, field, std::string{"is required"}.append(hint));
    }
  };
  if (shape == GroupShape::kServed) {
    // A served group without the field reads as one with "" (what it always did: its content
    // hash, and so the ETag of what is served, stay as they were); null is none.
    if (!has_description) {
      group.description = std::string{};
    }
    require(has_id, "id");
    require(has_key, "key");
    require(has_bucketing_key, "bucketingKey");
    require(has_salt, "bucketingSalt");
  }
  if (create) {  // a person writes these: say what is expected
    require(has_project, "projectId", " (the project's id, a number)");
    require(has_name, "name", " (the group's name, a string)");
    require(has_slots, "slots", " (1 to 20 slots such as {\"percentage\": 50}, summing to 100)");
  }
  require(has_slots, "slots");
}

}  // namespace mutex_edge::config::detail
