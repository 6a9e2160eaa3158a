#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cache/snapshot.hpp"
#include "common/error.hpp"
#include "config/error.hpp"

namespace mutex_edge::tools {

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

}  // namespace mutex_edge::tools
