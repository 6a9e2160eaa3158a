#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "eval/group.hpp"

namespace mutex_edge::eval {

/// The bucketing space: every value of the 32-bit hash. A user with a bucketing value is a
/// uniformly random point of it (for the hash), so a set of hash values is a share of users.
inline constexpr std::uint64_t kHashSpace = std::uint64_t{1} << 32;

/// Hash values h whose d = h / 100 lies in [begin, end). Every d holds 100 hash values except
/// the last, 42949672, which holds 96 (2^32 = 42949672 * 100 + 96).
[[nodiscard]] constexpr std::uint64_t hashes_between(std::uint32_t begin,
                                                     std::uint32_t end) noexcept {
  if (end <= begin) {
    return 0;
  }
  const auto hashes_below = [](std::uint32_t d) noexcept {
    const std::uint64_t h = std::uint64_t{d} * 100;
    return h < kHashSpace ? h : kHashSpace;
  };
  return hashes_below(end) - hashes_below(begin);
}

/// A slot as a change's impact sees it: its index (slots of two versions are matched by index)
/// and its percentage. A group's slots are given in index order, indexes distinct, percentages
/// 1..100 summing to at most 100 (as validation leaves them).
struct SlotShare {
  int index = 0;
  int percentage = 0;
};

/// Hash values falling in slot `pos` of `slots` (pos == slots.size(): the unallocated share).
[[nodiscard]] std::uint64_t slot_hashes(std::span<const SlotShare> slots, std::size_t pos) noexcept;

/// Where the users with a bucketing value go when a group changes from `before` to `after`,
/// counted in hash values (they sum to kHashSpace). A user stays when the slot index is the same,
/// or when they are in the unallocated share both times.
struct Movement {
  std::uint64_t stayed = 0;
  std::uint64_t between = 0;  // from a slot into a slot of another index
  std::uint64_t entered = 0;  // from the unallocated share into a slot
  std::uint64_t left = 0;     // from a slot into the unallocated share
  [[nodiscard]] constexpr std::uint64_t moved() const noexcept { return between + entered + left; }
};

/// The exact movement of a change that keeps the salt and the bucketing key: every user keeps
/// their hash, so it is the overlap of the two versions' d ranges, by interval arithmetic.
[[nodiscard]] Movement exact_movement(std::span<const SlotShare> before,
                                      std::span<const SlotShare> after) noexcept;

/// The same as shares of users (0..1).
struct ExpectedMovement {
  double stayed = 0;
  double between = 0;
  double entered = 0;
  double left = 0;
  [[nodiscard]] constexpr double moved() const noexcept { return between + entered + left; }
};

/// The expected movement of a change of salt or bucketing key: every user is re-randomised
/// (independent hashes before and after), so a user stays in slot i with probability
/// p_before(i) * p_after(i), and moved = 1 - sum_i p_before(i) * p_after(i) over the slot indexes
/// and the unallocated share, with p the exact share of hash values.
[[nodiscard]] ExpectedMovement rerandomized_movement(std::span<const SlotShare> before,
                                                     std::span<const SlotShare> after) noexcept;

/// A count of hash values as a share of users.
[[nodiscard]] constexpr double share_of(std::uint64_t hashes) noexcept {
  return static_cast<double>(hashes) / static_cast<double>(kHashSpace);
}

}  // namespace mutex_edge::eval
