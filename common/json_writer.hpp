#pragma once

#include <charconv>
#include <concepts>
#include <cstdint>
#include <cstring>
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

  /// An object member's name; the next value call writes its value. Always inlined: a literal
  /// name's check for escapes is then done by the compiler.
  [[gnu::always_inline]] JsonWriter& key(std::string_view name) {
    separate();
    append_string(name);
    out_ += ':';
    after_key_ = true;
    return *this;
  }

  /// A literal member name: quotes and colon appended with it in one piece.
  template <std::size_t N>
  [[gnu::always_inline]] JsonWriter& key(const char (&name)[N]) {
    const std::string_view text{name, N - 1};
    if (!plain(text)) {
      return key(text);
    }
    separate();
    char quoted[N + 2];
    quoted[0] = '"';
    std::memcpy(quoted + 1, name, N - 1);
    quoted[N] = '"';
    quoted[N + 1] = ':';
    out_.append(quoted, N + 2);
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
  /// A double in its shortest form that reads back to the same value (std::to_chars: 0.1,
  /// 1e+21); NaN and the infinities, which JSON has no number for, as null. Every double the
  /// project writes as JSON goes through here.
  JsonWriter& value(double d);
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
  /// The member `"error": {"code": code, "message": message}` of the object being written: the
  /// one shape of every error both binaries answer or print.
  JsonWriter& error_member(std::string_view code, std::string_view message) {
    key("error").begin_object().key("code").value(code).key("message").value(message);
    return end_object();
  }
  /// Already-serialised JSON, written as one value.
  JsonWriter& raw(std::string_view json) {
    separate();
    out_ += json;
    return *this;
  }

  /// Writes one value of at most `max_bytes` bytes in place, for a hot path that would otherwise
  /// append piece by piece: `fill(char* at)` writes it from `at` and returns its end.
  template <typename Fill>
  JsonWriter& value_in_place(std::size_t max_bytes, Fill fill) {
    separate();
    const std::size_t at = out_.size();
    out_.resize(at + max_bytes);
    char* const end = fill(out_.data() + at);
    out_.resize(static_cast<std::size_t>(end - out_.data()));
    return *this;
  }

  /// The most bytes put_string writes for `s`.
  [[nodiscard]] static constexpr std::size_t max_string_bytes(std::string_view s) noexcept {
    return 6 * s.size() + 2;
  }
  /// Writes `s` as a JSON string literal at `at` (room for max_string_bytes(s)); returns its end.
  [[gnu::always_inline]] static char* put_string(char* at, std::string_view s) noexcept {
    return plain(s) ? put_plain(at, s) : put_escaped(at, s);
  }
  /// put_string for a string known to be plain(): quotes and bytes, no check.
  [[gnu::always_inline]] static char* put_plain(char* at, std::string_view s) noexcept {
    *at++ = '"';
    std::memcpy(at, s.data(), s.size());
    at += s.size();
    *at++ = '"';
    return at;
  }
  /// Writes already-serialised JSON at `at`.
  [[gnu::always_inline]] static char* put_raw(char* at, std::string_view json) noexcept {
    std::memcpy(at, json.data(), json.size());
    return at + json.size();
  }
  /// Writes a literal that needs no escape (JSON punctuation and names) at `at`.
  template <std::size_t N>
  [[gnu::always_inline]] static char* put(char* at, const char (&text)[N]) noexcept {
    std::memcpy(at, text, N - 1);
    return at + N - 1;
  }
  /// Writes an integer at `at` (room for 20 bytes).
  template <std::integral Int>
  [[gnu::always_inline]] static char* put(char* at, Int n) noexcept {
    return std::to_chars(at, at + 20, n).ptr;
  }

  /// Appends `s` as a JSON string literal (quotes and escapes). Inline, so that a literal name
  /// is checked at compile time and a plain string costs one scan and one copy.
  [[gnu::always_inline]] static void append_string(std::string& out, std::string_view s) {
    if (plain(s)) [[likely]] {
      out += '"';
      out.append(s.data(), s.size());
      out += '"';
    } else {
      append_escaped(out, s);
    }
  }

  /// True when `s` needs no escape inside a JSON string: eight bytes at a time, as the writer
  /// checks every key and string it writes.
  [[nodiscard]] static bool plain(std::string_view s) noexcept {
    constexpr std::uint64_t kOnes = 0x0101010101010101U;
    constexpr std::uint64_t kHighs = 0x8080808080808080U;
    // Not zero exactly when some byte of `x` is zero (the classic zero-byte test).
    auto zero_bytes = [](std::uint64_t x) { return (x - kOnes) & ~x & kHighs; };
    auto clean = [&](std::uint64_t x) {
      // Bytes below 0x20 (only those borrow into a clear high bit), '"' and '\\'.
      const std::uint64_t control = (x - kOnes * 0x20) & ~x & kHighs;
      return (control | zero_bytes(x ^ (kOnes * '"')) | zero_bytes(x ^ (kOnes * '\\'))) == 0;
    };
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      std::uint64_t x = 0;
      std::memcpy(&x, s.data() + i, 8);
      if (!clean(x)) {
        return false;
      }
    }
    if (i == s.size()) {
      return true;
    }
    // The last bytes, padded with a byte that needs no escape.
    std::uint64_t tail = kOnes * 'a';
    std::memcpy(&tail, s.data() + i, s.size() - i);
    return clean(tail);
  }

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
  [[gnu::always_inline]] void append_string(std::string_view s) { append_string(out_, s); }
  static void append_escaped(std::string& out, std::string_view s);
  static char* put_escaped(char* at, std::string_view s) noexcept;

  std::string& out_;
  bool first_ = true;
  bool after_key_ = false;
};

}  // namespace mutex_edge::common
