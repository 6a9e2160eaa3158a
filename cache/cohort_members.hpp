#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/unordered/unordered_flat_set.hpp>

namespace mutex_edge::cache {

/// The members of one cohort, held compactly for the assignment path: a 64-bit hash of each
/// member's user id in an open-addressing set (boost::unordered_flat_set: 8 bytes a slot plus 1
/// byte of metadata, at most 87.5% full), so a lookup costs one hash of the user id per answer
/// and one probe per cohort. The ids themselves are not kept.
///
/// Two different ids share a hash with probability 2^-64: a cohort of n members matches a given
/// non-member with probability n * 2^-64 (5.4e-13 for ten million members).
class CohortMembers {
 public:
  /// The hash a user id is looked up by: a fixed function (equal in every process, so a set can
  /// be persisted), computed once per answer for all the cohorts.
  [[nodiscard]] static std::uint64_t key(std::string_view user_id) noexcept;

  void reserve(std::size_t members) { keys_.reserve(members); }
  void add(std::string_view user_id) { keys_.insert(key(user_id)); }
  [[nodiscard]] bool contains(std::uint64_t key) const noexcept { return keys_.contains(key); }
  [[nodiscard]] std::size_t size() const noexcept { return keys_.size(); }
  /// Bytes held by the set's table.
  [[nodiscard]] std::size_t memory_bytes() const noexcept;

 private:
  boost::unordered_flat_set<std::uint64_t> keys_;
};

/// What is known of one cohort a served slot references. Immutable once published.
struct CohortState {
  enum class Status : std::uint8_t {
    kPending,   // not downloaded yet: its inclusions match no one
    kReady,     // members downloaded (maybe refreshed since)
    kTooLarge,  // over --max-cohort-size (413, or a bigger answer): no member is served
  };
  std::string id;
  Status status = Status::kPending;
  std::string group_type;          // "User" is the only one matched against user ids
  std::int64_t last_modified = 0;  // of the served members, as the cohort server said
  std::size_t size = 0;
  std::shared_ptr<const CohortMembers> members;        // null unless ready
  std::shared_ptr<const std::string> body;             // the download as received (--serve-cohorts)
  std::string error;                                   // the last failure, if the last poll failed
  std::chrono::system_clock::time_point fetched_at{};  // when the members were last confirmed
};
[[nodiscard]] std::string_view to_string(CohortState::Status status) noexcept;

/// Every referenced cohort, by id; what the assignment path reads (through a SnapshotStore).
struct CohortTable {
  std::map<std::string, std::shared_ptr<const CohortState>, std::less<>> cohorts;
  /// The ready User cohorts with their members, for the per-answer lookups.
  struct Lookup {
    std::string_view id;
    const CohortMembers* members;
  };
  std::vector<Lookup> lookups;

  /// Fills `lookups` from `cohorts`.
  void index();
};

}  // namespace mutex_edge::cache
