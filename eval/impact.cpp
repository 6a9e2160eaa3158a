#include "eval/impact.hpp"

#include <algorithm>

namespace mutex_edge::eval {
namespace {

/// The d range [begin, end) of slot `pos` (pos == slots.size(): the unallocated share), found by
/// summing the percentages before it: slots are at most a few dozen, and nothing is allocated.
struct Range {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
};

Range range_of(std::span<const SlotShare> slots, std::size_t pos) noexcept {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < pos && i < slots.size(); ++i) {
    cumulative += static_cast<std::uint64_t>(slots[i].percentage);
  }
  const std::uint32_t begin = cumulative == 0 ? 0 : slot_end(cumulative);
  if (pos >= slots.size()) {
    return {begin, kDistributionEnd};
  }
  cumulative += static_cast<std::uint64_t>(slots[pos].percentage);
  return {begin, slot_end(cumulative)};
}

std::uint64_t overlap(Range a, Range b) noexcept {
  return hashes_between(std::max(a.begin, b.begin), std::min(a.end, b.end));
}

/// Counts `amount` of the bucketing space moving from position i of `before` to position j of
/// `after` (a position past a side's slots is its unallocated share) in the field that says how.
template <typename Moves, typename Amount>
void add_move(Moves& m, std::span<const SlotShare> before, std::span<const SlotShare> after,
              std::size_t i, std::size_t j, Amount amount) noexcept {
  const bool from_slot = i < before.size();
  const bool to_slot = j < after.size();
  if (from_slot && to_slot) {
    (before[i].index == after[j].index ? m.stayed : m.between) += amount;
  } else if (from_slot) {
    m.left += amount;
  } else if (to_slot) {
    m.entered += amount;
  } else {
    m.stayed += amount;
  }
}

}  // namespace

std::uint64_t slot_hashes(std::span<const SlotShare> slots, std::size_t pos) noexcept {
  const Range r = range_of(slots, pos);
  return hashes_between(r.begin, r.end);
}

Movement exact_movement(std::span<const SlotShare> before,
                        std::span<const SlotShare> after) noexcept {
  Movement m;
  // Position n of a side is its unallocated share (empty when the percentages sum to 100).
  for (std::size_t i = 0; i <= before.size(); ++i) {
    const Range from = range_of(before, i);
    if (from.end <= from.begin) {
      continue;
    }
    for (std::size_t j = 0; j <= after.size(); ++j) {
      const std::uint64_t both = overlap(from, range_of(after, j));
      if (both == 0) {
        continue;
      }
      add_move(m, before, after, i, j, both);
    }
  }
  return m;
}

ExpectedMovement rerandomized_movement(std::span<const SlotShare> before,
                                       std::span<const SlotShare> after) noexcept {
  ExpectedMovement m;
  for (std::size_t i = 0; i <= before.size(); ++i) {
    const double p = share_of(slot_hashes(before, i));
    if (p == 0) {
      continue;
    }
    for (std::size_t j = 0; j <= after.size(); ++j) {
      const double both = p * share_of(slot_hashes(after, j));
      add_move(m, before, after, i, j, both);
    }
  }
  return m;
}

}  // namespace mutex_edge::eval
