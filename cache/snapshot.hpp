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
#include <unordered_map>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "cache/group_entry.hpp"
#include "config/error.hpp"
#include "config/model.hpp"
#include "config/parser.hpp"

namespace mutex_edge::cache {

/// Where a snapshot's configuration came from and when.
struct SnapshotOrigin {
  std::string source;  // "file:/etc/groups.json", "upstream:https://...", "persisted:..."
  std::chrono::system_clock::time_point loaded_at = std::chrono::system_clock::now();
  /// When the first mutex-edge of a chain fetched this configuration from the origin (the
  /// Management API, or read it from its file), and how many mutex-edges fetched it one from
  /// another on the way here: 0 for a file, 1 for the instance that polls the origin, 2 for one
  /// chained to it, and so on.
  std::chrono::system_clock::time_point origin_at = loaded_at;
  std::uint32_t depth = 0;
};

/// What a build did: groups compiled afresh, and groups whose entry it took from the previous
/// snapshot because their content had not changed (`known`: recognised by digest before even
/// being decoded).
struct BuildStats {
  std::size_t compiled = 0;
  std::size_t reused = 0;
  std::size_t known = 0;  // of `reused`
};

/// An immutable, validated set of groups with everything `/assign` needs precomputed.
/// Built once per configuration change, then only read (from any number of threads).
class Snapshot {
 public:
  using EntryPtr = std::shared_ptr<const GroupEntry>;

  /// Builds a snapshot from a parsed page: its decoded groups (which passed validation) and its
  /// known groups (entries of `previous`, by digest), in page order. A group whose key or id
  /// repeats an earlier group's is left out and reported in `rejected`. A decoded group whose
  /// content equals one of `previous` shares that group's entry instead of being compiled again.
  [[nodiscard]] static std::unique_ptr<const Snapshot> build(
      const config::ListPage& page, std::uint64_t version, SnapshotOrigin origin,
      std::vector<config::ConfigError>& rejected, const Snapshot* previous = nullptr,
      BuildStats* stats = nullptr);
  /// The same for groups alone.
  [[nodiscard]] static std::unique_ptr<const Snapshot> build(
      std::vector<config::GroupConfig> groups, std::uint64_t version, SnapshotOrigin origin,
      std::vector<config::ConfigError>& rejected, const Snapshot* previous = nullptr,
      BuildStats* stats = nullptr);

  /// True when a group whose JSON had `digest` is in this snapshot (its entry can be reused
  /// without decoding that JSON: config::ParseOptions::known).
  [[nodiscard]] bool knows(const common::Digest& digest) const noexcept {
    return by_digest_.contains(digest);
  }

  [[nodiscard]] std::uint64_t version() const noexcept { return version_; }
  /// A hash of every group's content in order: equal configurations have equal hashes.
  [[nodiscard]] std::uint64_t content_hash() const noexcept { return content_hash_; }
  [[nodiscard]] const SnapshotOrigin& origin() const noexcept { return origin_; }

  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
  [[nodiscard]] const GroupEntry& group(std::size_t i) const noexcept { return *entries_[i]; }
  [[nodiscard]] const eval::CompiledGroup& compiled(std::size_t i) const noexcept {
    return entries_[i]->compiled();
  }
  [[nodiscard]] std::optional<std::size_t> find_key(std::string_view key) const noexcept;
  [[nodiscard]] std::optional<std::size_t> find_id(std::int64_t id) const noexcept;

  /// The positions of the groups named by `keys`, in the order asked, into `groups` (cleared
  /// first); keys it does not hold into `unknown`. Without keys, every group in order.
  void select(std::optional<std::span<const std::string_view>> keys,
              std::vector<std::size_t>& groups, std::vector<std::string_view>& unknown) const;

  /// Every group as configured, in order (for persistence and comparisons).
  [[nodiscard]] std::vector<config::GroupConfig> configs() const;
  /// Bytes held by this snapshot's groups (shared groups counted here too).
  [[nodiscard]] std::size_t memory_bytes() const noexcept;

 private:
  Snapshot() = default;

  std::uint64_t version_ = 0;
  std::uint64_t content_hash_ = 0;
  SnapshotOrigin origin_;
  std::vector<EntryPtr> entries_;
  // Views into the entries' own strings, which live as long as the entries. An open-addressing
  // table: in a large configuration, which is rarely in the cache, a lookup loads the table and
  // the key, where a node-based map chases a bucket, a node and the key one after another.
  boost::unordered_flat_map<std::string_view, std::size_t> by_key_;
  std::unordered_map<std::int64_t, std::size_t> by_id_;
  std::unordered_multimap<std::uint64_t, std::size_t> by_hash_;
  std::unordered_map<common::Digest, std::size_t, common::DigestHash> by_digest_;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace mutex_edge::cache
