#include "cache/json_text.hpp"

namespace mutex_edge::cache {

namespace dom = simdjson::dom;

std::string excerpt(std::string_view s, std::size_t max) {
  std::string out = "\"";
  out.append(s.substr(0, max));
  if (s.size() > max) {
    out += "...";
  }
  out += '"';
  return out;
}

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

}  // namespace mutex_edge::cache
