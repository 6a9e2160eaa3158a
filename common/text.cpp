#include "common/text.hpp"

#include <algorithm>
#include <cstdint>

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
  // Control characters written as escapes, so that a message stays on one line.
  constexpr char kHex[] = "0123456789abcdef";
  for (const char c : s.substr(0, cut)) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20U || byte == 0x7fU) {
      out += "\\x";
      out += kHex[byte >> 4U];
      out += kHex[byte & 0xfU];
    } else {
      out += c;
    }
  }
  if (s.size() > max) {
    out += "...";
  }
  out += '"';
  return out;
}

Hex64 hex64(std::uint64_t value) noexcept {
  constexpr char kDigits[] = "0123456789abcdef";
  Hex64 out;
  for (std::size_t i = out.digits.size(); i-- > 0; value >>= 4U) {
    out.digits[i] = kDigits[value & 0xfU];
  }
  return out;
}

std::string content_etag(std::uint64_t hash, std::string_view kind) {
  std::string tag;
  tag.reserve(20 + kind.size());
  tag += '"';
  tag += hex64(hash).view();
  if (!kind.empty()) {
    tag += '-';
    tag += kind;
  }
  tag += '"';
  return tag;
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

bool decode_base64(std::string_view text, std::string& out) {
  std::size_t end = text.size();
  if (end % 4 == 0 && end >= 4) {  // padded: one or two '=' at the end only
    end -= text[end - 1] != '=' ? 0U : text[end - 2] == '=' ? 2U : 1U;
  }
  if (end % 4 == 1) {
    return false;  // 6 bits cannot make a byte
  }
  const std::size_t before = out.size();
  out.reserve(before + end / 4 * 3 + 2);
  std::uint32_t bits = 0;
  int count = 0;
  for (std::size_t i = 0; i < end; ++i) {
    const char c = text[i];
    int value = -1;
    if (c >= 'A' && c <= 'Z') {
      value = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      value = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      value = c - '0' + 52;
    } else if (c == '+' || c == '-') {
      value = 62;
    } else if (c == '/' || c == '_') {
      value = 63;
    } else {
      out.resize(before);
      return false;
    }
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    if (++count == 4) {
      out += static_cast<char>((bits >> 16) & 0xff);
      out += static_cast<char>((bits >> 8) & 0xff);
      out += static_cast<char>(bits & 0xff);
      bits = 0;
      count = 0;
    }
  }
  if (count == 2) {
    out += static_cast<char>((bits >> 4) & 0xff);
  } else if (count == 3) {
    out += static_cast<char>((bits >> 10) & 0xff);
    out += static_cast<char>((bits >> 2) & 0xff);
  }
  return true;
}

}  // namespace mutex_edge::common
