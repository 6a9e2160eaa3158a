// A Prefer header value, as mutex-edge's read API reads a watch request's wait
// (api::preferred_wait, for GET /api/1/mutexes with If-None-Match). The answer is nothing or a
// wait of 1 s to kMaxWatchWait, and the one a reference reader of RFC 7240 preferences gives.
//
// The reference reads the header character by character as RFC 7240 section 2 writes it:
// preferences separated by commas, each `token [BWS "=" BWS word] *(OWS ";" [OWS parameter])`, a
// word a token or a quoted-string, so a comma or a ';' inside quotes separates nothing (an
// unterminated quote runs to the end). Only the first preference named `wait` counts ("only the
// first instance is to be considered"): its value must be delta-seconds, bare or quoted without
// escapes, followed only by parameters (which are not read); anything else there asks for no
// wait. A number past 64 bits is a very long wait, capped like any other at kMaxWatchWait.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/watchers.hpp"

#include "tests/fuzz/fuzz_support.hpp"

using namespace mutex_edge;

namespace {

bool tchar(char c) noexcept {
  constexpr std::string_view kMarks = "!#$%&'*+-.^_`|~";
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c != '\0' && kMarks.find(c) != std::string_view::npos);
}

/// A word's content: a token, or a quoted-string unescaped.
struct Word {
  std::string text;
  bool escaped = false;  // a quoted-string with a quoted-pair
};

/// Reads RFC 7240 preferences from a header value, one list element at a time.
class Preferences {
 public:
  explicit Preferences(std::string_view text) : text_{text} {}

  /// The seconds of the first `wait` preference (UINT64_MAX past 64 bits), or nothing when it
  /// is absent or malformed.
  std::optional<std::uint64_t> first_wait() {
    while (at_ <= text_.size()) {
      bool is_wait = false;
      std::optional<std::uint64_t> seconds = element(is_wait);
      if (is_wait) {
        return seconds;
      }
      skip_to_comma();
      ++at_;  // past the comma (or the end)
    }
    return std::nullopt;
  }

 private:
  [[nodiscard]] bool end() const noexcept { return at_ == text_.size(); }
  [[nodiscard]] bool at(char c) const noexcept { return !end() && text_[at_] == c; }

  void ows() {
    while (at(' ') || at('\t')) {
      ++at_;
    }
  }

  std::string_view token() {
    const std::size_t from = at_;
    while (!end() && tchar(text_[at_])) {
      ++at_;
    }
    return text_.substr(from, at_ - from);
  }

  /// A token or a quoted-string (RFC 9110 section 5.6.4); false when neither.
  bool word(Word& out) {
    out = {};
    if (!at('"')) {
      const std::string_view t = token();
      out.text = t;
      return !t.empty();
    }
    ++at_;
    while (!end()) {
      const auto c = static_cast<unsigned char>(text_[at_]);
      if (c == '"') {
        ++at_;
        return true;
      }
      if (c == '\\') {
        if (at_ + 1 == text_.size()) {
          return false;
        }
        const auto next = static_cast<unsigned char>(text_[at_ + 1]);
        if (next != '\t' && next < 0x20) {  // HTAB, SP, VCHAR, obs-text
          return false;
        }
        if (next == 0x7f) {
          return false;
        }
        out.text += static_cast<char>(next);
        out.escaped = true;
        at_ += 2;
        continue;
      }
      // qdtext: HTAB, SP, VCHAR but the quote and the backslash, obs-text.
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        return false;
      }
      out.text += static_cast<char>(c);
      ++at_;
    }
    return false;  // no closing quote
  }

  /// Moves at_ to the comma outside quotes that ends this element, or to the end.
  void skip_to_comma() {
    bool quoted = false;
    for (; !end(); ++at_) {
      const char c = text_[at_];
      if (quoted && c == '\\') {
        if (at_ + 1 == text_.size()) {
          break;
        }
        ++at_;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (!quoted && c == ',') {
        return;
      }
    }
    at_ = text_.size();
  }

  /// One list element from at_: `is_wait` when its name is `wait`, and then its seconds, or
  /// nothing when the preference is malformed.
  std::optional<std::uint64_t> element(bool& is_wait) {
    ows();
    const std::string_view name = token();
    ows();
    if (lower(name) != "wait" || !(end() || at(',') || at(';') || at('='))) {
      return std::nullopt;
    }
    is_wait = true;
    if (!at('=')) {
      return std::nullopt;
    }
    ++at_;
    ows();
    Word value;
    if (!word(value) || value.escaped) {
      return std::nullopt;
    }
    ows();
    if (!(end() || at(',') || at(';'))) {
      return std::nullopt;
    }
    return delta_seconds(value.text);
  }

  static std::string lower(std::string_view s) {
    std::string out{s};
    for (char& c : out) {
      if (c >= 'A' && c <= 'Z') {
        c = static_cast<char>(c - 'A' + 'a');
      }
    }
    return out;
  }

  /// 1*DIGIT as a number (UINT64_MAX past it), or nothing when not digits.
  static std::optional<std::uint64_t> delta_seconds(std::string_view digits) {
    if (digits.empty()) {
      return std::nullopt;
    }
    std::uint64_t n = 0;
    for (const char c : digits) {
      if (c < '0' || c > '9') {
        return std::nullopt;
      }
      const auto digit = static_cast<std::uint64_t>(c - '0');
      n = n > (UINT64_MAX - digit) / 10 ? UINT64_MAX : n * 10 + digit;
    }
    return n;
  }

  std::string_view text_;
  std::size_t at_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view prefer = fuzz::text(data, size);
  const std::optional<std::chrono::seconds> wait = api::preferred_wait(prefer);
  if (wait && (*wait < std::chrono::seconds{1} || *wait > api::kMaxWatchWait)) {
    fuzz::fail("a wait outside 1 s to kMaxWatchWait", std::to_string(wait->count()));
  }
  std::optional<std::int64_t> expected;
  if (const auto seconds = Preferences{prefer}.first_wait(); seconds && *seconds != 0) {
    const auto cap = static_cast<std::uint64_t>(api::kMaxWatchWait.count());
    expected = static_cast<std::int64_t>(*seconds < cap ? *seconds : cap);
  }
  const std::optional<std::int64_t> got =
      wait ? std::optional<std::int64_t>{wait->count()} : std::nullopt;
  if (got != expected) {
    fuzz::fail("preferred_wait and the reference disagree",
               std::string{prefer} +
                   "\nimplementation: " + (got ? std::to_string(*got) : std::string{"none"}) +
                   ", reference: " + (expected ? std::to_string(*expected) : std::string{"none"}));
  }
  return 0;
}
