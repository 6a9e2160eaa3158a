#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mutex_edge::common {

/// `s` in double quotes, cut to `max` bytes with "..." when longer (never inside a UTF-8
/// character), its control characters written as \n, \r, \t or \xNN: safe to put in a
/// one-line message.
[[nodiscard]] std::string excerpt(std::string_view s, std::size_t max = 64);

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
