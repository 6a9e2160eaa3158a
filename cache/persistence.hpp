#pragma once

#include <chrono>
#include <filesystem>
#include <span>
#include <string>

#include <boost/system/result.hpp>

#include "cache/config_parser.hpp"
#include "cache/model.hpp"

namespace mutex_edge::cache {

/// The last good configuration kept on disk, so a restart serves at once, even with the
/// upstream down.
struct PersistedConfig {
  ListPage page;
  std::string source;                               // where it was fetched from
  std::chrono::system_clock::time_point fetched_at;  // when the source last confirmed it
};

struct PersistenceError {
  std::string message;
};

/// `<state-dir>/mutexes.json`: the list endpoint's shape plus "source" and "fetchedAtMs".
[[nodiscard]] std::filesystem::path persisted_path(const std::filesystem::path& state_dir);

/// Writes atomically and durably: a temporary file, fsync, rename over the old file, fsync of
/// the directory. A crash at any moment leaves the old file or the new one, never a mix.
[[nodiscard]] boost::system::result<void, PersistenceError> save_config(
    const std::filesystem::path& state_dir, std::span<const GroupConfig> groups,
    const std::string& source, std::chrono::system_clock::time_point fetched_at);

/// Reads the persisted configuration back; groups are validated as any other input.
[[nodiscard]] boost::system::result<PersistedConfig, PersistenceError> load_config(
    const std::filesystem::path& state_dir, const ParseOptions& options = {});

}  // namespace mutex_edge::cache
