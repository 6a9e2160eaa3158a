#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/error.hpp"
#include "config/model.hpp"
#include "eval/group.hpp"

namespace mutex_edge::cache {

/// Where a snapshot's configuration came from and when.
struct SnapshotOrigin {
  std::string source;  // "file:/etc/groups.json", "upstream:https://...", "persisted:..."
  std::chrono::system_clock::time_point loaded_at = std::chrono::system_clock::now();
};

/// An immutable, validated set of groups with everything `/assign` needs precomputed.
/// Built once per configuration change, then only read (from any number of threads).
class Snapshot {
 public:
  /// Builds a snapshot from groups that passed validation. A group whose key or id repeats an
  /// earlier group's is left out and reported in `rejected`.
  [[nodiscard]] static std::unique_ptr<const Snapshot> build(
      std::vector<config::GroupConfig> groups, std::uint64_t version, SnapshotOrigin origin,
      std::vector<config::ConfigError>& rejected);

  [[nodiscard]] std::uint64_t version() const noexcept { return version_; }
  /// FNV-1a 64 of the groups' canonical JSON: equal configurations have equal hashes.
  [[nodiscard]] std::uint64_t content_hash() const noexcept { return content_hash_; }
  [[nodiscard]] const SnapshotOrigin& origin() const noexcept { return origin_; }

  [[nodiscard]] std::span<const config::GroupConfig> groups() const noexcept { return groups_; }
  [[nodiscard]] const eval::CompiledGroup& compiled(std::size_t i) const noexcept {
    return compiled_[i];
  }
  [[nodiscard]] std::optional<std::size_t> find_key(std::string_view key) const noexcept;
  [[nodiscard]] std::optional<std::size_t> find_id(std::int64_t id) const noexcept;

  /// The positions of the groups named by `keys`, in the order asked, into `groups` (cleared
  /// first); keys it does not hold into `unknown`. Without keys, every group in order.
  void select(std::optional<std::span<const std::string_view>> keys,
              std::vector<std::size_t>& groups, std::vector<std::string_view>& unknown) const;

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  Snapshot() = default;

  std::uint64_t version_ = 0;
  std::uint64_t content_hash_ = 0;
  SnapshotOrigin origin_;
  std::vector<config::GroupConfig> groups_;
  std::vector<eval::CompiledGroup> compiled_;
  std::unordered_map<std::string, std::size_t, StringHash, std::equal_to<>> by_key_;
  std::unordered_map<std::int64_t, std::size_t> by_id_;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

/// FNV-1a 64 over bytes.
[[nodiscard]] std::uint64_t fnv1a64(std::string_view data) noexcept;

/// Compiles one validated group into the engine's form.
[[nodiscard]] eval::CompiledGroup compile_group(const config::GroupConfig& group);

}  // namespace mutex_edge::cache
