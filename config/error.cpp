#include "config/error.hpp"

#include "common/text.hpp"

namespace mutex_edge::config {

std::string ConfigError::field_message() const {
  return field.empty() ? message : field + ": " + message;
}

std::string ConfigError::to_string() const {
  std::string out = group;
  if (!field.empty()) {
    out += out.empty() ? "field " : " field ";
    out += field;
  }
  if (!out.empty()) {
    out += ": ";
  }
  out += message;
  return out;
}

std::string describe_group(std::optional<std::size_t> position, std::int64_t id,
                           std::string_view key) {
  std::string out = position ? "mutexes[" + std::to_string(*position) + "]" : "group";
  std::string detail;
  if (id != 0) {
    detail = "id " + std::to_string(id);
  }
  if (!key.empty()) {
    detail += (detail.empty() ? "key " : ", key ") + common::excerpt(key);
  }
  if (!detail.empty()) {
    out += " (" + detail + ")";
  }
  return out;
}

}  // namespace mutex_edge::config
