#include "config/paging.hpp"

#include <charconv>
#include <cstdint>

namespace mutex_edge::config {

std::optional<std::size_t> parse_page_limit(std::string_view text) noexcept {
  std::uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  const bool too_big = ec == std::errc::result_out_of_range;
  if (text.empty() || ptr != text.data() + text.size() || (ec != std::errc{} && !too_big) ||
      (!too_big && n == 0)) {
    return std::nullopt;
  }
  return too_big || n > kMaxPageSize ? kMaxPageSize : static_cast<std::size_t>(n);
}

}  // namespace mutex_edge::config
