#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "cache/group_entry.hpp"
#include "cache/snapshot.hpp"

namespace mutex_edge::integrity {

/// What happened to one group between two versions of a configuration (groups matched by key).
enum class ChangeKind : std::uint8_t { kChanged, kAdded, kRemoved, kArchived };
[[nodiscard]] std::string_view to_string(ChangeKind kind) noexcept;

/// Individuals (or cohorts) whose inclusion changed: each listed value counts once, in the first
/// slot (index order) that lists it, as the engine reads them.
struct InclusionChange {
  std::size_t added = 0;    // listed now, not before
  std::size_t removed = 0;  // listed before, not now
  std::size_t moved = 0;    // listed both times, in slots of different indexes
  [[nodiscard]] bool any() const noexcept { return added + removed + moved != 0; }
};

/// One group's change. Shares are of the bucketing space (users with a bucketing value, whom no
/// individual or cohort includes): exact counts of hash values when the salt and the bucketing
/// key stay, expected shares when either changes (`rerandomized`).
struct GroupChange {
  std::string key;
  ChangeKind kind = ChangeKind::kChanged;
  bool rerandomized = false;
  std::uint64_t moved_hashes = 0;  // exact (not rerandomized): hash values whose slot changes
  double moved = 0;                // share whose slot index changes (between + entered + left)
  double between = 0;              // from one slot to a slot of another index
  double entered = 0;              // from the unallocated share into a slot
  double left = 0;                 // from a slot into the unallocated share
  // Users without a bucketing value change slot: one version is a single 100% slot (which
  // takes everyone) and the other is not. How many they are the configuration cannot say.
  bool unbucketed_moved = false;
  InclusionChange individuals;
  InclusionChange cohorts;
  std::vector<std::string_view> fields;  // the fields that differ, in the API's names

  /// True when some user's slot in this group changes (a group added or removed moves its users
  /// into or out of its slots).
  [[nodiscard]] bool moves_users() const noexcept;
};

/// Everything that differs between two configurations.
struct ConfigChange {
  std::uint64_t from_version = 0;
  std::uint64_t to_version = 0;
  std::size_t groups_before = 0;
  std::size_t groups_after = 0;
  std::size_t unchanged = 0;
  std::size_t changed = 0;
  std::size_t added = 0;
  std::size_t removed = 0;
  std::size_t archived = 0;
  /// Changed and added groups in the new configuration's order, then removed and archived ones
  /// in the old one's.
  std::vector<GroupChange> groups;

  [[nodiscard]] bool moves_users() const noexcept;
  /// Up to `n` changed groups with the largest moved shares, largest first (ties by key).
  [[nodiscard]] std::vector<const GroupChange*> largest_moves(std::size_t n) const;
};

/// Compares two versions of one group.
[[nodiscard]] GroupChange compare_groups(const cache::GroupEntry& before,
                                         const cache::GroupEntry& after);

/// Compares two snapshots. A group of `after` holding the very entry of `before` (shared because
/// its content did not change), or an entry of the same content hash, is unchanged without
/// another look: beyond one lookup per group, the work is that of the groups that changed.
/// Keys in `archived_after` are groups the new configuration marks archived: they are left out
/// of `after` by the caller and reported as archived rather than removed.
[[nodiscard]] ConfigChange compare_snapshots(
    const cache::Snapshot& before, const cache::Snapshot& after,
    const std::unordered_set<std::string>* archived_after = nullptr);

}  // namespace mutex_edge::integrity
