#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace mutex_edge::common {

/// `t` as UTC with milliseconds, "2026-01-31T12:00:00.123Z"; "" for the epoch itself, which
/// stands for "never" (a time point left at its default).
[[nodiscard]] std::string iso8601(std::chrono::system_clock::time_point t);

/// Milliseconds since the Unix epoch.
[[nodiscard]] std::int64_t unix_ms(std::chrono::system_clock::time_point t) noexcept;
[[nodiscard]] inline std::int64_t now_unix_ms() noexcept {
  return unix_ms(std::chrono::system_clock::now());
}

}  // namespace mutex_edge::common
