#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "cache/snapshot.hpp"
#include "common/error.hpp"
#include "config/model.hpp"
#include "config/parser.hpp"

namespace mutex_edge::sources {

/// The last good configuration kept on disk, so a restart serves at once, even with the
/// upstream down.
struct PersistedConfig {
  config::ListPage page;
  std::string source;                                // where it was fetched from
  std::chrono::system_clock::time_point fetched_at;  // when the source last confirmed it
  // When the chain's first mutex-edge fetched it from the origin, and the chain depth here
  // (SnapshotOrigin); a file saved before they were kept: fetched_at, and 1.
  std::chrono::system_clock::time_point origin_at;
  std::uint32_t depth = 1;
};

/// `<state-dir>/mutexes.json`: the list endpoint's shape plus "source", "fetchedAtMs",
/// "originAtMs" and "chainDepth" (the last two from the snapshot's origin).
[[nodiscard]] std::filesystem::path persisted_path(const std::filesystem::path& state_dir);

/// Writes the snapshot's groups atomically and durably (see common::write_file_atomically).
[[nodiscard]] common::Result<void> save_config(const std::filesystem::path& state_dir,
                                               const cache::Snapshot& snapshot,
                                               const std::string& source,
                                               std::chrono::system_clock::time_point fetched_at);

/// Reads the persisted configuration back; groups are validated as any other input.
[[nodiscard]] common::Result<PersistedConfig> load_config(const std::filesystem::path& state_dir,
                                                          const config::ParseOptions& options = {});

}  // namespace mutex_edge::sources
