#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

namespace boost::program_options {
class options_description;
class variables_map;
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

/// Reads `argv` against `options`, then every `<PREFIX><OPTION>` environment variable (a flag
/// wins over its variable), into `values`. The error is one line naming the bad option.
[[nodiscard]] boost::system::result<void, std::string> parse_flags_and_env(
    int argc, const char* const* argv, const boost::program_options::options_description& options,
    std::string_view prefix, boost::program_options::variables_map& values);

/// One line per option's environment variable (all but --help), for --help.
[[nodiscard]] std::string env_variables_help(
    const boost::program_options::options_description& options, std::string_view prefix);

}  // namespace mutex_edge::cache
