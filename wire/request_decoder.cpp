#include "wire/request_decoder.hpp"

#include <optional>
#include <span>

#include <simdjson.h>

#include "common/query.hpp"
#include "common/text.hpp"

namespace mutex_edge::wire {
namespace {

namespace dom = simdjson::dom;
using Result = boost::system::result<AssignRequest, ApiError>;

/// Where a decoded value lives until the views are fixed up: a view into the parser's string
/// buffer (stable for this parse), a static literal, or a range of the scratch buffer (which may
/// still grow, so it is resolved after decoding).
struct Slice {
  std::string_view view;   // set unless in scratch
  std::size_t offset = 0;  // into scratch
  std::size_t length = 0;
  bool in_scratch = false;
};

struct PendingField {
  std::string_view name;
  std::optional<Slice> value;
};

ApiError invalid(std::string message) {
  return {ErrorCode::kInvalidRequest, std::move(message)};
}
ApiError invalid_user(std::string message) {
  return {ErrorCode::kInvalidUser, std::move(message)};
}

bool truthy(std::string_view value) {
  return value == "1" || value == "true" || value.empty();
}

/// True when params[i]'s key came earlier in the query (a query has a few fields: the pairs
/// cost less than a set).
bool repeated(std::span<const common::QueryParams::Param> params, std::size_t i) noexcept {
  for (std::size_t j = 0; j < i; ++j) {
    if (params[j].key == params[i].key) {
      return true;
    }
  }
  return false;
}

}  // namespace

struct RequestDecoder::Impl {
  enum class Kind : std::uint8_t { kQuery, kRequest, kDocument };

  RequestLimits limits;
  Kind kind = Kind::kRequest;
  dom::parser parser;
  common::QueryParams query;
  std::vector<dom::element> users;  // a parsed body's user objects
  std::vector<std::string_view> mutexes;
  eval::User query_user;
  bool has_query_user = false;  // the last parse_query succeeded: query_user is its user
  std::vector<Exposure> exposures;
  bool user_context_only = false;  // an event: only the engine's user context is the user

  std::string scratch;
  std::vector<PendingField> pending_fields, pending_properties;
  std::vector<Slice> pending_cohorts;
  std::vector<eval::Field> fields, properties;
  std::vector<std::string_view> cohorts;

  /// The engine's coerceString: strings as-is, numbers as JavaScript prints them, booleans as
  /// words, objects and arrays as compact JSON. Null is "no value".
  std::optional<Slice> coerce(dom::element value) {
    switch (value.type()) {
      case dom::element_type::NULL_VALUE:
        return std::nullopt;
      case dom::element_type::STRING:
        return Slice{value.get_string().value_unsafe()};
      case dom::element_type::BOOL:
        return Slice{value.get_bool().value_unsafe() ? "true" : "false"};
      case dom::element_type::INT64:
      case dom::element_type::UINT64:
      case dom::element_type::DOUBLE: {
        const double number = value.get_double().value_unsafe();
        const std::size_t offset = scratch.size();
        scratch.resize(offset + eval::kMaxJsNumberChars);
        const std::size_t length = eval::format_js_number(number, scratch.data() + offset);
        scratch.resize(offset + length);
        return Slice{{}, offset, length, true};
      }
      case dom::element_type::ARRAY:
      case dom::element_type::OBJECT: {
        const std::size_t offset = scratch.size();
        scratch += simdjson::minify(value);
        return Slice{{}, offset, scratch.size() - offset, true};
      }
    }
    return std::nullopt;
  }

  [[nodiscard]] std::string_view resolve(const Slice& slice) const {
    return slice.in_scratch ? std::string_view{scratch}.substr(slice.offset, slice.length)
                            : slice.view;
  }

  [[nodiscard]] std::optional<std::string_view> resolve(const std::optional<Slice>& slice) const {
    return slice ? std::optional{resolve(*slice)} : std::nullopt;
  }

  std::optional<std::string> decode_properties(dom::element value) {
    if (value.is_null()) {
      return std::nullopt;
    }
    dom::object object;
    if (value.get_object().get(object)) {
      return "user_properties must be an object";
    }
    for (dom::key_value_pair property : object) {
      if (pending_properties.size() == limits.max_properties) {
        return "user_properties has more than " + std::to_string(limits.max_properties) +
               " entries";
      }
      pending_properties.push_back({property.key, coerce(property.value)});
    }
    return std::nullopt;
  }

  std::optional<std::string> decode_cohorts(dom::element value, bool& has_cohort_ids) {
    if (value.is_null()) {
      return std::nullopt;
    }
    dom::array array;
    if (value.get_array().get(array)) {
      return "cohort_ids must be an array of strings";
    }
    if (array.size() > limits.max_cohorts) {
      return "cohort_ids has more than " + std::to_string(limits.max_cohorts) + " entries";
    }
    has_cohort_ids = true;
    for (dom::element item : array) {
      if (item.is<dom::array>() || item.is<dom::object>()) {
        return "cohort_ids must be an array of strings";
      }
      // The engine drops null and empty entries (filter(Boolean) after coercion).
      std::optional<Slice> slice = coerce(item);
      if (slice && (slice->in_scratch ? slice->length : slice->view.size()) != 0) {
        pending_cohorts.push_back(*slice);
      }
    }
    return std::nullopt;
  }

  /// Decodes one user object of the last parsed document.
  boost::system::result<eval::User, ApiError> decode_user(dom::element root) {
    dom::object object;
    if (root.get_object().get(object)) {
      return invalid_user("user must be a JSON object");
    }
    scratch.clear();
    pending_fields.clear();
    pending_properties.clear();
    pending_cohorts.clear();

    std::optional<Slice> user_id, device_id;
    bool has_cohort_ids = false;
    for (dom::key_value_pair field : object) {
      const std::string_view name = field.key;
      if (name == "user_id") {
        user_id = coerce(field.value);
      } else if (name == "device_id") {
        device_id = coerce(field.value);
      } else if (name == "user_properties") {
        if (auto error = decode_properties(field.value)) {
          return invalid_user(std::move(*error));
        }
      } else if (name == "cohort_ids") {
        if (auto error = decode_cohorts(field.value, has_cohort_ids)) {
          return invalid_user(std::move(*error));
        }
      } else if (!user_context_only || eval::is_top_level_user_field(name)) {
        if (pending_fields.size() == limits.max_fields) {
          return invalid_user("user has more than " + std::to_string(limits.max_fields) +
                              " fields");
        }
        pending_fields.push_back({name, coerce(field.value)});
      }
    }

    // Scratch no longer grows: turn every slice into a view.
    auto resolve_fields = [this](const std::vector<PendingField>& from,
                                 std::vector<eval::Field>& to) {
      to.clear();
      for (const PendingField& f : from) {
        to.push_back({f.name, resolve(f.value)});
      }
    };
    resolve_fields(pending_fields, fields);
    resolve_fields(pending_properties, properties);
    cohorts.clear();
    for (const Slice& slice : pending_cohorts) {
      cohorts.push_back(resolve(slice));
    }
    eval::User user;
    user.user_id = resolve(user_id);
    user.device_id = resolve(device_id);
    user.fields = fields;
    user.properties = properties;
    user.has_cohort_ids = has_cohort_ids;
    user.cohort_ids = cohorts;
    return {boost::system::in_place_value, user};
  }

  Result parse_query(std::string_view text) {
    kind = Kind::kQuery;
    has_query_user = false;
    std::string error;
    if (!query.parse(text, limits.max_query_params, error)) {
      return ApiError{ErrorCode::kInvalidQuery, std::move(error)};
    }
    AssignRequest request;
    eval::User user;
    fields.clear();
    properties.clear();
    cohorts.clear();
    mutexes.clear();
    bool any_user_field = false;
    const auto params = query.params();
    for (std::size_t i = 0; i < params.size(); ++i) {
      const std::string_view key = params[i].key;
      const std::string_view value = params[i].value;
      // A field given twice has no one meaning: refuse it rather than take one of the values.
      // (mutex may repeat: its values are a list.)
      if (!key.empty() && key != "mutex" && repeated(params, i)) {
        return ApiError{ErrorCode::kInvalidQuery,
                        "the query gives '" + common::excerpt(key) +
                            "' more than once; give each field once (list values are "
                            "comma-separated)"};
      }
      if (key == "mutex") {
        request.has_mutexes = true;
        common::for_each_item(value, ',', [this](std::string_view k) { mutexes.push_back(k); });
      } else if (key == "explain") {
        request.explain = truthy(value);
      } else if (key == "user_id") {
        user.user_id = value;
        any_user_field = true;
      } else if (key == "device_id") {
        user.device_id = value;
        any_user_field = true;
      } else if (key == "cohort_ids") {
        user.has_cohort_ids = true;
        any_user_field = true;
        common::for_each_item(value, ',', [this](std::string_view c) { cohorts.push_back(c); });
      } else if (key.starts_with("gp:") || key.starts_with("user_properties.")) {
        properties.push_back({key.substr(key.find_first_of(":.") + 1), value});
        any_user_field = true;
      } else if (!key.empty()) {
        fields.push_back({key, value});
        any_user_field = true;
      }
    }
    if (!any_user_field) {
      return ApiError{ErrorCode::kEmptyUser,
                      "give the user in the query: user_id, device_id, amplitude_id, other user "
                      "fields, gp:<property> or cohort_ids"};
    }
    user.fields = fields;
    user.properties = properties;
    user.cohort_ids = cohorts;
    query_user = user;
    has_query_user = true;
    request.mutexes = mutexes;
    request.user_count = 1;
    return request;
  }

  Result parse_body(std::string_view body, bool batch) {
    kind = Kind::kRequest;
    user_context_only = false;
    users.clear();
    mutexes.clear();
    dom::element root;
    if (auto code = parser.parse(body.data(), body.size()).get(root)) {
      return ApiError{ErrorCode::kInvalidJson,
                      std::string{"body is not valid JSON: "} + simdjson::error_message(code)};
    }
    dom::object object;
    if (root.get_object().get(object)) {
      return invalid(batch ? R"(body must be an object {"users": [...], "mutexes": [...]})"
                           : R"(body must be an object {"user": {...}, "mutexes": [...]})");
    }
    AssignRequest request;
    bool has_users = false;
    for (dom::key_value_pair field : object) {
      const std::string_view name = field.key;
      if (name == "mutexes") {
        if (field.value.is_null()) {
          continue;
        }
        dom::array keys;
        if (field.value.get_array().get(keys)) {
          return invalid("mutexes must be an array of group keys");
        }
        if (keys.size() > limits.max_mutexes) {
          return invalid("mutexes may list at most " + std::to_string(limits.max_mutexes) +
                         " keys");
        }
        request.has_mutexes = true;
        mutexes.clear();
        for (dom::element key : keys) {
          std::string_view text;
          if (key.get_string().get(text)) {
            return invalid("mutexes must be an array of group keys (strings)");
          }
          mutexes.push_back(text);
        }
      } else if (name == "explain") {
        if (field.value.get_bool().get(request.explain)) {
          return invalid("explain must be true or false");
        }
      } else if (!batch && name == "user") {
        has_users = true;
        users.assign(1, field.value);
      } else if (batch && name == "users") {
        has_users = true;
        dom::array list;
        if (field.value.get_array().get(list)) {
          return invalid("users must be an array of user objects");
        }
        if (list.size() > limits.max_users) {
          return ApiError{ErrorCode::kTooManyUsers,
                          "a batch may hold at most " + std::to_string(limits.max_users) +
                              " users, this one has " + std::to_string(list.size())};
        }
        users.clear();
        for (dom::element user : list) {
          users.push_back(user);
        }
      }
    }
    if (!has_users) {
      return invalid(batch ? "users is required" : "user is required");
    }
    request.mutexes = mutexes;
    request.user_count = users.size();
    return request;
  }

  Result parse_document(std::string_view json) {
    kind = Kind::kDocument;
    user_context_only = false;
    users.clear();
    mutexes.clear();
    if (json.size() > limits.max_document_bytes) {
      return invalid_user("user document is " + std::to_string(json.size()) +
                          " bytes, the limit is " + std::to_string(limits.max_document_bytes));
    }
    dom::element root;
    if (auto code = parser.parse(json.data(), json.size()).get(root)) {
      return invalid_user(std::string{"user is not valid JSON: "} + simdjson::error_message(code));
    }
    users.push_back(root);
    AssignRequest request;
    request.user_count = 1;
    return request;
  }

  boost::system::result<ExposureLine, ApiError> parse_exposure(std::string_view json) {
    kind = Kind::kDocument;
    users.clear();
    mutexes.clear();
    exposures.clear();
    user_context_only = false;
    if (json.size() > limits.max_document_bytes) {
      return invalid("line is " + std::to_string(json.size()) + " bytes, the limit is " +
                     std::to_string(limits.max_document_bytes));
    }
    dom::element root;
    if (auto code = parser.parse(json.data(), json.size()).get(root)) {
      return ApiError{ErrorCode::kInvalidJson,
                      std::string{"line is not valid JSON: "} + simdjson::error_message(code)};
    }
    dom::object object;
    if (root.get_object().get(object)) {
      return invalid(
          R"(an exposure must be an object {"user": {...}, "mutex": "key", "slot": ...})");
    }
    ExposureLine line;
    dom::element user_element;
    if (object["user"].get(user_element) == simdjson::SUCCESS) {
      std::string_view mutex;
      if (object["mutex"].get_string().get(mutex)) {
        return invalid("mutex is required: the group's key, a string");
      }
      dom::element slot;
      if (object["slot"].get(slot)) {
        return invalid(R"(slot is required: "slot-N", or null for no slot)");
      }
      std::string_view slot_text;
      if (!slot.is_null() && slot.get_string().get(slot_text)) {
        return invalid(R"(slot must be "slot-N" or null)");
      }
      exposures.push_back(
          {mutex, slot.is_null() ? std::nullopt : std::optional<std::string_view>{slot_text}});
      users.push_back(user_element);
      line.shape = ExposureLine::Shape::kLine;
      line.exposures = exposures;
      return line;
    }
    std::string_view event_type;
    if (object["event_type"].get_string().get(event_type)) {
      return invalid(
          R"(an exposure needs "user", "mutex" and "slot", or is an Amplitude event with "event_type")");
    }
    const bool exposure = event_type == "$exposure" || event_type == "[Experiment] Exposure";
    const bool assignment = event_type == "$assignment" || event_type == "[Experiment] Assignment";
    if (!exposure && !assignment) {
      line.shape = ExposureLine::Shape::kOtherEvent;
      return line;
    }
    dom::object event_properties;
    if (object["event_properties"].get_object().get(event_properties)) {
      return invalid("an " + std::string{event_type} + " event needs event_properties (an object)");
    }
    // The engine's variants of a mutex group beside the slots: the default "off", "unallocated".
    auto variant = [](dom::element value) -> std::optional<std::optional<std::string_view>> {
      if (value.is_null()) {
        return std::optional<std::string_view>{};
      }
      std::string_view text;
      if (value.get_string().get(text)) {
        return std::nullopt;
      }
      if (text == "off" || text == "unallocated") {
        return std::optional<std::string_view>{};
      }
      return std::optional<std::string_view>{text};
    };
    if (exposure) {
      std::string_view flag;
      if (event_properties["flag_key"].get_string().get(flag)) {
        return invalid("an exposure event needs event_properties.flag_key (a string)");
      }
      std::optional<std::string_view> slot;
      dom::element value;
      if (event_properties["variant"].get(value) == simdjson::SUCCESS) {
        auto read = variant(value);
        if (!read) {
          return invalid("event_properties.variant must be a string or null");
        }
        slot = *read;
      }
      exposures.push_back({flag, slot});
      line.shape = ExposureLine::Shape::kExposureEvent;
    } else {
      constexpr std::string_view kSuffix = ".variant";
      for (dom::key_value_pair property : event_properties) {
        const std::string_view name = property.key;
        if (name.size() <= kSuffix.size() || !name.ends_with(kSuffix)) {
          continue;
        }
        auto read = variant(property.value);
        if (!read) {
          return invalid("event_properties[\"" + common::excerpt(name) +
                         "\"] must be a string or null");
        }
        exposures.push_back({name.substr(0, name.size() - kSuffix.size()), *read});
      }
      line.shape = ExposureLine::Shape::kAssignmentEvent;
    }
    users.push_back(root);
    user_context_only = true;
    line.exposures = exposures;
    return line;
  }

  boost::system::result<eval::User, ApiError> user(std::size_t i) {
    // Refused rather than thrown: an index past the last parse's users, or a parse that failed.
    if (kind == Kind::kQuery ? i != 0 || !has_query_user : i >= users.size()) {
      return ApiError{ErrorCode::kInvalidRequest,
                      "there is no user " + std::to_string(i) + " in the last request read"};
    }
    if (kind == Kind::kQuery) {
      return {boost::system::in_place_value, query_user};
    }
    const dom::element element = users[i];
    dom::object object;
    if (kind == Kind::kRequest && element.get_object().get(object) == simdjson::SUCCESS &&
        object.size() == 0) {
      return ApiError{ErrorCode::kEmptyUser,
                      "the user has no fields: give at least a user_id, device_id or amplitude_id"};
    }
    return decode_user(element);
  }
};

RequestDecoder::RequestDecoder(RequestLimits limits) : impl_{std::make_unique<Impl>()} {
  impl_->limits = limits;
}

RequestDecoder::~RequestDecoder() = default;

Result RequestDecoder::parse_query(std::string_view query) {
  return impl_->parse_query(query);
}

Result RequestDecoder::parse_assign(std::string_view body) {
  return impl_->parse_body(body, false);
}

Result RequestDecoder::parse_batch(std::string_view body) {
  return impl_->parse_body(body, true);
}

Result RequestDecoder::parse_user(std::string_view json) {
  return impl_->parse_document(json);
}

boost::system::result<ExposureLine, ApiError> RequestDecoder::parse_exposure(
    std::string_view json) {
  return impl_->parse_exposure(json);
}

boost::system::result<eval::User, ApiError> RequestDecoder::user(std::size_t i) {
  return impl_->user(i);
}

}  // namespace mutex_edge::wire
