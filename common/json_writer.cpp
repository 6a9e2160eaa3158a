#include "common/json_writer.hpp"

#include <cmath>

namespace mutex_edge::common {

JsonWriter& JsonWriter::value(double d) {
  separate();
  if (!std::isfinite(d)) {
    out_ += "null";
    return *this;
  }
  char buf[32];  // the longest shortest form has 24 bytes: -2.2250738585072014e-308
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  out_.append(buf, end);
  return *this;
}

void JsonWriter::append_escaped(std::string& out, std::string_view s) {
  const std::size_t at = out.size();
  out.resize(at + max_string_bytes(s));
  char* const end = put_escaped(out.data() + at, s);
  out.resize(static_cast<std::size_t>(end - out.data()));
}

char* JsonWriter::put_escaped(char* at, std::string_view s) noexcept {
  static constexpr char kHex[] = "0123456789abcdef";
  *at++ = '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != '"' && c != '\\') {
      *at++ = ch;
      continue;
    }
    *at++ = '\\';
    switch (c) {
      case '"':
      case '\\':
        *at++ = ch;
        break;
      case '\n':
        *at++ = 'n';
        break;
      case '\r':
        *at++ = 'r';
        break;
      case '\t':
        *at++ = 't';
        break;
      default:
        at = put(at, "u00");
        *at++ = kHex[c >> 4];
        *at++ = kHex[c & 0xf];
    }
  }
  *at++ = '"';
  return at;
}

}  // namespace mutex_edge::common
