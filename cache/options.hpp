#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mutex_edge::cache {

/// Parses "500ms", "10s", "1m", "2h" (also "0"). No unit, a negative or fractional value fails.
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Parses "host:port", "[v6]:port" or ":port" (all interfaces).
[[nodiscard]] bool parse_listen(std::string_view text, std::string& host, std::uint16_t& port);

}  // namespace mutex_edge::cache
