#include "config/model.hpp"

#include <charconv>

namespace mutex_edge::config {

std::optional<std::int64_t> parse_id(std::string_view text) noexcept {
  std::int64_t value = 0;
  if (text.empty() || text.front() < '0' || text.front() > '9') {
    return std::nullopt;
  }
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

}  // namespace mutex_edge::config
