#include "cache/user_json.hpp"

#include <optional>
#include <vector>

#include <simdjson.h>

namespace mutex_edge::cache {
namespace {

namespace dom = simdjson::dom;

/// Where a decoded value lives until the views are fixed up: a view into the parser's string
/// buffer (stable for this parse), a static literal, or a range of the scratch buffer (which may
/// still grow, so it is resolved after decoding).
struct Slice {
  std::string_view view;         // set unless in scratch
  std::size_t offset = 0;        // into scratch
  std::size_t length = 0;
  bool in_scratch = false;
};

struct PendingField {
  std::string_view name;
  std::optional<Slice> value;
};

}  // namespace

struct UserDecoder::Impl {
  UserLimits limits;
  dom::parser parser;
  std::vector<dom::element> users;  // a parsed request's user objects
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

  std::string_view resolve(const Slice& slice) const {
    return slice.in_scratch ? std::string_view{scratch}.substr(slice.offset, slice.length)
                            : slice.view;
  }

  std::optional<std::string_view> resolve(const std::optional<Slice>& slice) const {
    return slice ? std::optional{resolve(*slice)} : std::nullopt;
  }

  boost::system::result<eval::User, UserError> decode(std::string_view json) {
    if (json.size() > limits.max_document_bytes) {
      return UserError{"user document is " + std::to_string(json.size()) +
                       " bytes, the limit is " + std::to_string(limits.max_document_bytes)};
    }
    dom::element root;
    if (auto code = parser.parse(json.data(), json.size()).get(root)) {
      return UserError{std::string{"user is not valid JSON: "} + simdjson::error_message(code)};
    }
    return decode_element(root);
  }

  /// Decodes one user object of the last parsed document.
  boost::system::result<eval::User, UserError> decode_element(dom::element root) {
    dom::object object;
    if (root.get_object().get(object)) {
      return UserError{"user must be a JSON object"};
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
          return UserError{std::move(*error)};
        }
      } else if (name == "cohort_ids") {
        if (auto error = decode_cohorts(field.value, has_cohort_ids)) {
          return UserError{std::move(*error)};
        }
      } else {
        if (pending_fields.size() == limits.max_fields) {
          return UserError{"user has more than " + std::to_string(limits.max_fields) + " fields"};
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
};

UserDecoder::UserDecoder(UserLimits limits) : impl_{std::make_unique<Impl>()} {
  impl_->limits = limits;
}

UserDecoder::~UserDecoder() = default;

boost::system::result<eval::User, UserError> UserDecoder::decode(std::string_view json) {
  return impl_->decode(json);
}

RequestDecoder::RequestDecoder(RequestLimits limits)
    : limits_{limits}, impl_{std::make_unique<UserDecoder::Impl>()} {
  impl_->limits = limits.user;
}

RequestDecoder::~RequestDecoder() = default;

boost::system::result<AssignRequest, UserError> RequestDecoder::parse_assign(
    std::string_view body) {
  return parse(body, false);
}

boost::system::result<AssignRequest, UserError> RequestDecoder::parse_batch(
    std::string_view body) {
  return parse(body, true);
}

boost::system::result<AssignRequest, UserError> RequestDecoder::parse(std::string_view body,
                                                                      bool batch) {
  auto invalid = [](std::string message) {
    return UserError{std::move(message), "invalid_request"};
  };
  dom::element root;
  if (auto code = impl_->parser.parse(body.data(), body.size()).get(root)) {
    return UserError{std::string{"body is not valid JSON: "} + simdjson::error_message(code),
                     "invalid_json"};
  }
  dom::object object;
  if (root.get_object().get(object)) {
    return invalid(batch ? R"(body must be an object {"users": [...], "mutexes": [...]})"
                         : R"(body must be an object {"user": {...}, "mutexes": [...]})");
  }
  AssignRequest request;
  impl_->users.clear();
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
      if (keys.size() > limits_.max_mutexes) {
        return invalid("mutexes may list at most " + std::to_string(limits_.max_mutexes) +
                       " keys");
      }
      request.has_mutexes = true;
      request.mutexes.clear();
      for (dom::element key : keys) {
        std::string_view text;
        if (key.get_string().get(text)) {
          return invalid("mutexes must be an array of group keys (strings)");
        }
        request.mutexes.push_back(text);
      }
    } else if (name == "explain") {
      if (field.value.get_bool().get(request.explain)) {
        return invalid("explain must be true or false");
      }
    } else if (!batch && name == "user") {
      has_users = true;
      impl_->users.push_back(field.value);
    } else if (batch && name == "users") {
      has_users = true;
      dom::array users;
      if (field.value.get_array().get(users)) {
        return invalid("users must be an array of user objects");
      }
      if (users.size() > limits_.max_users) {
        return UserError{"a batch may hold at most " + std::to_string(limits_.max_users) +
                             " users, this one has " + std::to_string(users.size()),
                         "too_many_users"};
      }
      for (dom::element user : users) {
        impl_->users.push_back(user);
      }
    }
  }
  if (!has_users) {
    return invalid(batch ? "users is required" : "user is required");
  }
  request.user_count = impl_->users.size();
  return request;
}

boost::system::result<eval::User, UserError> RequestDecoder::user(std::size_t i) {
  dom::element element = impl_->users.at(i);
  dom::object object;
  if (element.get_object().get(object) == simdjson::SUCCESS && object.size() == 0) {
    return UserError{"the user has no fields: give at least a user_id, device_id or amplitude_id",
                     "empty_user"};
  }
  return impl_->decode_element(element);
}

}  // namespace mutex_edge::cache
