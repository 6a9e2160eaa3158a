#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace mutex_edge::config {

/// The list endpoint's page sizes (design.md section 1: `limit` capped at 1000).
inline constexpr std::size_t kDefaultPageSize = 100;
inline constexpr std::size_t kMaxPageSize = 1000;

/// A `limit` query value: a whole number from 1; above kMaxPageSize (however large) it is
/// kMaxPageSize. Nothing for anything else.
[[nodiscard]] std::optional<std::size_t> parse_page_limit(std::string_view text) noexcept;

/// The message for a refused `limit`.
inline constexpr std::string_view kBadLimitMessage =
    "limit must be a whole number from 1 (above 1000 it is capped at 1000)";

}  // namespace mutex_edge::config
