#include "http/etag.hpp"

namespace mutex_edge::http {
namespace {

constexpr std::string_view kWeak = "W/";

constexpr bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

/// etagc (RFC 9110, section 8.8.3): %x21 / %x23-7E / obs-text.
constexpr bool is_etagc(char ch) noexcept {
  const auto c = static_cast<unsigned char>(ch);
  return c == 0x21 || (c >= 0x23 && c != 0x7f);
}

/// The opaque tag of an entity tag: weak comparison ignores the `W/`.
constexpr std::string_view opaque(std::string_view tag) noexcept {
  return tag.starts_with(kWeak) ? tag.substr(kWeak.size()) : tag;
}

}  // namespace

bool etag_matches(std::string_view if_none_match, std::string_view etag) noexcept {
  const std::string_view current = opaque(etag);
  if (current.empty()) {
    return false;
  }
  std::string_view field = if_none_match;
  while (!field.empty() && is_ows(field.front())) {
    field.remove_prefix(1);
  }
  while (!field.empty() && is_ows(field.back())) {
    field.remove_suffix(1);
  }
  if (field == "*") {
    return true;
  }
  // The whole list is read before answering, so that a malformed value matches nothing
  // wherever the served tag is in it.
  bool matched = false;
  std::size_t i = 0;
  while (i < field.size()) {
    if (field[i] == ',' || is_ows(field[i])) {
      ++i;  // empty list elements are allowed (RFC 9110, section 5.6.1)
      continue;
    }
    if (field.substr(i).starts_with(kWeak)) {
      i += kWeak.size();
    }
    if (i == field.size() || field[i] != '"') {
      return false;
    }
    const std::size_t open = i++;
    while (i < field.size() && field[i] != '"') {
      if (!is_etagc(field[i])) {
        return false;
      }
      ++i;
    }
    if (i == field.size()) {
      return false;  // unterminated
    }
    ++i;
    matched = matched || field.substr(open, i - open) == current;
    while (i < field.size() && is_ows(field[i])) {
      ++i;
    }
    if (i < field.size() && field[i] != ',') {
      return false;
    }
  }
  return matched;
}

}  // namespace mutex_edge::http
