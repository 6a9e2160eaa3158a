#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace mutex_edge::common {

/// Appends compact JSON to a caller-owned string, so a connection or a loop can reuse one
/// buffer. The caller writes structure in order; commas are placed automatically. Its string
/// escaper is the project's only one: logs, error bodies and documents all go through it.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) noexcept : out_{out} {}

  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }

  /// An object member's name; the next value call writes its value.
  JsonWriter& key(std::string_view name) {
    separate();
    append_string(name);
    out_ += ':';
    after_key_ = true;
    return *this;
  }

  JsonWriter& value(std::string_view s) {
    separate();
    append_string(s);
    return *this;
  }
  JsonWriter& value(const char* s) { return value(std::string_view{s}); }
  JsonWriter& value(bool b) {
    separate();
    out_ += b ? "true" : "false";
    return *this;
  }
  template <typename Int>
  requires std::is_integral_v<Int> &&(!std::is_same_v<Int, bool>)JsonWriter& value(Int n) {
    separate();
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
    out_.append(buf, end);
    return *this;
  }
  JsonWriter& null() {
    separate();
    out_ += "null";
    return *this;
  }
  /// Already-serialised JSON, written as one value.
  JsonWriter& raw(std::string_view json) {
    separate();
    out_ += json;
    return *this;
  }

  /// Appends `s` as a JSON string literal (quotes and escapes).
  static void append_string(std::string& out, std::string_view s);

 private:
  JsonWriter& open(char c) {
    separate();
    out_ += c;
    first_ = true;
    return *this;
  }
  JsonWriter& close(char c) {
    out_ += c;
    first_ = false;
    return *this;
  }
  void separate() {
    if (after_key_) {
      after_key_ = false;
    } else if (!first_) {
      out_ += ',';
    }
    first_ = false;
  }
  void append_string(std::string_view s) { append_string(out_, s); }

  std::string& out_;
  bool first_ = true;
  bool after_key_ = false;
};

}  // namespace mutex_edge::common
