#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mutex_edge::common {

/// `s` in double quotes, cut to `max` bytes with "..." when longer (never inside a UTF-8
/// character), its control characters written as \n, \r, \t or \xNN: safe to put in a
/// one-line message.
[[nodiscard]] std::string excerpt(std::string_view s, std::size_t max = 64);

/// The 16 lowercase hexadecimal digits of `value` (content hashes in ETags, cursors and
/// /status), held in the result: nothing is allocated.
struct Hex64 {
  std::array<char, 16> digits{};
  [[nodiscard]] std::string_view view() const noexcept { return {digits.data(), digits.size()}; }
};
[[nodiscard]] Hex64 hex64(std::uint64_t value) noexcept;

/// The ETag of content whose hash is `hash`: the quoted strong tag `"<hex64>"`, or
/// `"<hex64>-<kind>"` for another representation of the same content.
[[nodiscard]] std::string content_etag(std::uint64_t hash, std::string_view kind = {});

/// `s` without leading and trailing blanks (spaces and tabs).
[[nodiscard]] std::string_view trim(std::string_view s) noexcept;

/// ASCII case-insensitive equality.
[[nodiscard]] bool iequals(std::string_view a, std::string_view b) noexcept;

/// Decodes base64 in either alphabet (standard `+/` or URL-safe `-_`, even mixed), with or
/// without `=` padding, appending the bytes to `out`. False (and `out` as it was) on any other
/// character, on padding anywhere but the end, and on a length no encoder produces.
[[nodiscard]] bool decode_base64(std::string_view text, std::string& out);

/// Calls `each(item)` for every non-empty item of a `separator`-separated list ("a,,b" gives
/// "a" and "b").
template <typename Each>
void for_each_item(std::string_view list, char separator, Each&& each) {
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t end = std::min(list.find(separator, start), list.size());
    if (end > start) {
      each(list.substr(start, end - start));
    }
    start = end + 1;
  }
}

}  // namespace mutex_edge::common
