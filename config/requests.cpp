#include "config/requests.hpp"

#include "config/json_fields.hpp"

namespace mutex_edge::config {
namespace {

using detail::FieldReader;
namespace dom = detail::dom;

/// A reader that stops at the first problem, over a per-thread parser that keeps its buffers.
struct Request {
  std::vector<ConfigError> errors;
  FieldReader reader;
  dom::object object;

  Request(std::string_view body, const ConfigLimits& limits)
      : reader{limits, FieldReader::Policy::kStopAtFirst, errors} {
    thread_local dom::parser parser;
    reader.body_object(parser, body, object);
  }
  [[nodiscard]] ConfigError error() const { return errors.front(); }
};

}  // namespace

boost::system::result<GroupConfig, ConfigError> decode_create(std::string_view body,
                                                              const ConfigLimits& limits) {
  Request request{body, limits};
  if (!request.reader.ok()) {
    return request.error();
  }
  GroupConfig group;
  request.reader.group(request.object, detail::GroupShape::kCreate, group);
  if (!request.reader.ok()) {
    return request.error();
  }
  return group;
}

boost::system::result<GroupEdit, ConfigError> decode_group_edit(std::string_view body,
                                                                const ConfigLimits& limits) {
  Request request{body, limits};
  FieldReader& reader = request.reader;
  if (!reader.ok()) {
    return request.error();
  }
  GroupEdit edit;
  dom::element archive;
  if (request.object["archive"].get(archive) == simdjson::SUCCESS && !archive.is_null()) {
    bool value = false;
    if (archive.get_bool().get(value)) {
      reader.wrong_type("archive", "a boolean", archive);
      return request.error();
    }
    edit.archive = value;
    if (value) {
      return edit;  // archiving ignores every other field
    }
  }
  for (dom::key_value_pair field : request.object) {
    const std::string_view name = field.key;
    std::string text;
    if (name == "name") {
      if (reader.non_empty_string(field.value, "name", limits.max_string_bytes, text)) {
        edit.name = std::move(text);
      }
    } else if (name == "description") {
      if (field.value.is_null()) {
        edit.description.emplace(std::nullopt);
      } else if (reader.string(field.value, "description", limits.max_description_bytes, text)) {
        edit.description.emplace(std::move(text));
      }
    }
    if (!reader.ok()) {
      return request.error();
    }
  }
  return edit;
}

boost::system::result<SlotEdit, ConfigError> decode_slot_edit(std::string_view body,
                                                              const ConfigLimits& limits) {
  Request request{body, limits};
  FieldReader& reader = request.reader;
  if (!reader.ok()) {
    return request.error();
  }
  SlotEdit edit;
  for (dom::key_value_pair field : request.object) {
    const std::string_view name = field.key;
    if (name == "experiments") {
      reader.ids(field.value, "experiments", edit.experiments.emplace());
    } else if (name == "holdouts") {
      reader.ids(field.value, "holdouts", edit.holdouts.emplace());
    } else if (name == "individuals") {
      reader.identifiers(field.value, "individuals", edit.individuals.emplace());
    } else if (name == "cohorts") {
      reader.strings(field.value, "cohorts", edit.cohorts.emplace());
    }
    if (!reader.ok()) {
      return request.error();
    }
  }
  return edit;
}

}  // namespace mutex_edge::config
