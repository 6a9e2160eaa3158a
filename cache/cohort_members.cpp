#include "cache/cohort_members.hpp"

#include "common/hash.hpp"

namespace mutex_edge::cache {

std::uint64_t CohortMembers::key(std::string_view user_id) noexcept {
  common::Hasher hasher;
  hasher.add(user_id);
  return hasher.digest().a;
}

std::size_t CohortMembers::memory_bytes() const noexcept {
  // The table's slots and their one byte of metadata each (boost's flat containers).
  return keys_.bucket_count() * (sizeof(std::uint64_t) + 1);
}

std::string_view to_string(CohortState::Status status) noexcept {
  switch (status) {
    case CohortState::Status::kPending:
      return "pending";
    case CohortState::Status::kReady:
      return "ready";
    case CohortState::Status::kTooLarge:
      return "too_large";
  }
  return "pending";
}

void CohortTable::index() {
  lookups.clear();
  for (const auto& [id, state] : cohorts) {
    if (state->members && state->group_type == "User") {
      lookups.push_back({id, state->members.get()});
    }
  }
}

}  // namespace mutex_edge::cache
