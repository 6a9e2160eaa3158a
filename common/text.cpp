#include "common/text.hpp"

#include <algorithm>

namespace mutex_edge::common {

std::string excerpt(std::string_view s, std::size_t max) {
  std::string out = "\"";
  std::size_t cut = std::min(max, s.size());
  if (cut < s.size()) {
    // Never in the middle of a UTF-8 sequence: back up over its continuation bytes (10xxxxxx)
    // to the byte that starts it, and leave that character out.
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0U) == 0x80U) {
      --cut;
    }
  }
  out.append(s.substr(0, cut));
  if (s.size() > max) {
    out += "...";
  }
  out += '"';
  return out;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

}  // namespace mutex_edge::common
