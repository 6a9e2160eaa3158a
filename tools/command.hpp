#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/snapshot.hpp"
#include "common/error.hpp"
#include "common/flags.hpp"
#include "config/error.hpp"

namespace mutex_edge::tools {

// What the offline commands share: how they parse their flags (their own only: a Flags with no
// prefix reads no environment variable) and how they read a configuration file.

/// Parses `flags`: nullopt to go on; else the exit status, 0 once --help's text (after `usage`)
/// is on `out`, 2 once the error is on `err` as "mutex-edge <name>: ...".
[[nodiscard]] std::optional<int> parse_command(common::Flags& flags, int argc,
                                               const char* const* argv, std::string_view name,
                                               std::string_view usage, std::ostream& out,
                                               std::ostream& err);

/// --config-file FILE (required) and --mutex KEY[,KEY] (repeatable; `mutex_help` says what the
/// keys select).
void add_config_flags(common::Flags& flags, std::string& config_file,
                      std::vector<std::string>& mutex_values, const std::string& mutex_help);

/// A configuration file in the list endpoint's shape, as the offline commands read it: the
/// server's limits, the groups marked "archived": true left out (and named), the invalid ones
/// left out (and said why).
struct LoadedConfig {
  std::unique_ptr<const cache::Snapshot> snapshot;
  std::vector<config::ConfigError> rejected;
  std::vector<std::string> archived;  // their keys
};

/// Reads and builds `path` as snapshot `version` (its source "file:<path>"); an error for a file
/// that cannot be read or is not the list shape.
[[nodiscard]] common::Result<LoadedConfig> load_config_file(const std::string& path,
                                                            std::uint64_t version = 1);

/// load_config_file for command `name`: each group left out said on `err`; null, with the error
/// on `err`, when the file cannot be used.
[[nodiscard]] std::unique_ptr<const cache::Snapshot> load_for_command(const std::string& path,
                                                                      std::string_view name,
                                                                      std::ostream& err);

}  // namespace mutex_edge::tools
