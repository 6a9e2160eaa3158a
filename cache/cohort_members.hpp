#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>
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
  void add_key(std::uint64_t key) { keys_.insert(key); }
  [[nodiscard]] bool contains(std::uint64_t key) const noexcept { return keys_.contains(key); }
  [[nodiscard]] std::size_t size() const noexcept { return keys_.size(); }
  /// Bytes held by the set's table.
  [[nodiscard]] std::size_t memory_bytes() const noexcept;
  /// Calls `each(key)` for every member's key (e.g. to persist them).
  template <typename Each>
  void for_each_key(Each&& each) const {
    for (const std::uint64_t k : keys_) {
      each(k);
    }
  }

 private:
  boost::unordered_flat_set<std::uint64_t> keys_;
};

/// A 200 answer of Amplitude's cohort download API, GET /sdk/v1/cohort/{id}: `{"cohortId",
/// "groupType", "groupTypeId", "lastComputed", "lastModified", "size", "memberIds": [...]}`.
struct CohortDownload {
  std::string id;
  std::string group_type;
  std::int64_t group_type_id = 0;
  std::int64_t last_computed = 0;  // ms since the epoch
  std::int64_t last_modified = 0;
  std::size_t size = 0;  // as the answer says; `members` holds the distinct ids
  CohortMembers members;
};

/// Parses a download's body; members may be strings or integers (kept as their decimal text, as
/// the SDKs compare user ids). Refuses more than `max_members` members, a missing or mistyped
/// field, and invalid JSON, with a message that names the problem.
[[nodiscard]] boost::system::result<CohortDownload, std::string> parse_cohort_download(
    std::string_view body, std::size_t max_members);

}  // namespace mutex_edge::cache
