#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace mutex_edge::common {

using Duration = std::chrono::milliseconds;

/// Parses "500ms", "10s", "1m", "2h" (also "0"). No unit, a negative or fractional value fails.
[[nodiscard]] std::optional<Duration> parse_duration(std::string_view text);
/// The shortest exact form parse_duration reads back: "0", "500ms", "10s", "1m", "2h".
[[nodiscard]] std::string format_duration(Duration duration);

/// Parses "host:port", "[v6]:port" or ":port" (all interfaces).
[[nodiscard]] bool parse_listen(std::string_view text, std::string& host, std::uint16_t& port);

/// The environment variable of an option: `config-file` -> `<PREFIX>CONFIG_FILE`.
[[nodiscard]] std::string env_name(std::string_view prefix, std::string_view option);

/// What a command line asks for: settings to run with, or the help to print instead.
template <typename Settings>
struct CommandLine {
  std::optional<Settings> settings;  // empty when --help was asked for
  std::string help;
  /// Variables of the binary's prefix that nothing reads (Flags::unknown_variables), for a
  /// warning at start: names only.
  std::vector<std::string> unknown_variables;
};

/// Logs a warning naming each of `names` (CommandLine::unknown_variables), once logging is set
/// up.
void warn_unknown_variables(std::span<const std::string> names);

/// A binary's command line: every flag is also read from the environment variable
/// `<prefix><NAME>` (a flag wins over its variable), and typed flags are checked with one
/// wording everywhere ("--idle-timeout: expected a duration such as 500ms, 10s or 1m, got '10'").
/// Each flag writes into a variable of the caller's that holds its default beforehand.
class Flags {
 public:
  /// `prefix`: "MUTEX_EDGE_"; `caption`: the heading of the options in --help. An empty
  /// prefix reads no environment variable at all (the offline commands take only their flags).
  Flags(std::string prefix, std::string caption);
  ~Flags();
  Flags(const Flags&) = delete;
  Flags& operator=(const Flags&) = delete;

  /// A string flag. `help` is printed as given.
  Flags& text(const char* name, std::string& out, const char* value_name, const std::string& help);
  /// A repeatable string flag: every occurrence is one item of `out`.
  Flags& texts(const char* name, std::vector<std::string>& out, const char* value_name,
               const std::string& help);
  /// The arguments that are no option, in order (e.g. `diff OLD NEW`); the caller checks how
  /// many came.
  Flags& positional(const char* name, std::vector<std::string>& out, const char* value_name,
                    const std::string& help);
  /// A duration of at least `min`; `help` gets " (default <out>)" or `default_text` appended.
  Flags& duration(const char* name, Duration& out, const std::string& help,
                  Duration min = Duration::zero(), std::string_view default_text = {});
  /// A whole number in [min, max].
  Flags& number(const char* name, std::size_t& out, const char* value_name, std::size_t min,
                std::size_t max, const std::string& help, std::string_view default_text = {});
  Flags& number(const char* name, unsigned& out, const char* value_name, unsigned min, unsigned max,
                const std::string& help, std::string_view default_text = {});
  /// true/false (also 1/0, yes/no, on/off); the flag alone means true.
  Flags& boolean(const char* name, bool& out, const std::string& help);
  /// HOST:PORT.
  Flags& listen(const char* name, std::string& host, std::uint16_t& port, const std::string& help);
  /// One of kLogLevels.
  Flags& log_level(std::string& out);
  /// Runs after every flag was converted, in the order added (cross-flag checks and defaults);
  /// an error it returns is the parse's error.
  Flags& check(std::function<std::optional<std::string>()> rule);

  /// Reads argv, then the environment, converts every flag and runs the checks. Returns false
  /// when --help was asked for (nothing is converted then). The error is one line naming the
  /// flag, ending in "(see --help)" for an unknown or malformed option.
  [[nodiscard]] Result<bool> parse(int argc, const char* const* argv);
  /// parse(), then `settings` (filled by the flags) to run with, or --help's text. `known`: the
  /// variables of the prefix read only from the environment (those `secrets` describes).
  template <typename Settings>
  [[nodiscard]] Result<CommandLine<Settings>> read(int argc, const char* const* argv,
                                                   const Settings& settings, std::string_view usage,
                                                   std::string_view secrets,
                                                   std::span<const std::string_view> known) {
    auto parsed = parse(argc, argv);
    if (!parsed) {
      return parsed.error();
    }
    if (!*parsed) {
      return CommandLine<Settings>{std::nullopt, help(usage, secrets), {}};
    }
    return CommandLine<Settings>{settings, {}, unknown_variables(known)};
  }
  /// The variables of `environment` ("NAME=value" entries, as `environ` holds them) with the
  /// prefix that stand for no flag and are not `known`: a misspelt one would be ignored without
  /// a word. Their names only, never a value (it may be a secret).
  [[nodiscard]] std::vector<std::string> unknown_variables(std::span<const std::string_view> known,
                                                           const char* const* environment) const;
  /// The same in this process's environment.
  [[nodiscard]] std::vector<std::string> unknown_variables(
      std::span<const std::string_view> known) const;
  /// True when the flag or its variable was given.
  [[nodiscard]] bool given(const char* name) const;
  /// --help: `usage` (lines above the options), the options, then the environment variables:
  /// `secrets` (variables read only from the environment, one "  NAME  what" line each) and one
  /// per flag.
  [[nodiscard]] std::string help(std::string_view usage, std::string_view secrets) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// What both servers take on their command line for their HTTP listener.
struct ServerFlags {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  std::size_t threads = 0;  // 0 picks one per core
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_connections = 10000;
  Duration idle_timeout = std::chrono::seconds{60};
  Duration read_timeout = std::chrono::seconds{10};
  Duration shutdown_grace = std::chrono::seconds{10};
};

/// Adds --listen, --threads, --max-header-bytes, --max-body-bytes, --max-connections,
/// --idle-timeout, --read-timeout and --shutdown-grace; `server` holds the defaults. --threads 0
/// becomes the number of cores.
void add_server_flags(Flags& flags, ServerFlags& server);

}  // namespace mutex_edge::common
