#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace boost::program_options {
class options_description;
}  // namespace boost::program_options

namespace mutex_edge::cache {

/// Parses "500ms", "10s", "1m", "2h" (also "0"). No unit, a negative or fractional value fails.
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Parses "host:port", "[v6]:port" or ":port" (all interfaces).
[[nodiscard]] bool parse_listen(std::string_view text, std::string& host, std::uint16_t& port);

/// The option an environment variable stands for: `<PREFIX>FAULT_500_PERCENT` ->
/// `fault-500-percent`; empty for a variable that names no option (so it is ignored).
/// For boost::program_options::parse_environment.
[[nodiscard]] std::string env_to_option(const boost::program_options::options_description& options,
                                        std::string_view prefix, const std::string& variable);

/// The environment variable of an option: `config-file` -> `<PREFIX>CONFIG_FILE`.
[[nodiscard]] std::string env_name(std::string_view prefix, std::string_view option);

}  // namespace mutex_edge::cache
