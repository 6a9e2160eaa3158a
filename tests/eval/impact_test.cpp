// The impact of a configuration change on the slots of one group: exact by interval arithmetic
// when the hash stays, expected when every user is re-randomised; checked by hand on small cases
// and against a brute-force count over a million random users.
#include "eval/impact.hpp"

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "eval/group.hpp"

using namespace mutex_edge::eval;

namespace {

std::vector<SlotShare> shares(std::initializer_list<int> percentages) {
  std::vector<SlotShare> out;
  int index = 1;
  for (int p : percentages) {
    out.push_back({index++, p});
  }
  return out;
}

CompiledGroup compile(const std::vector<SlotShare>& slots, std::string_view salt) {
  static const std::vector<std::string> none;
  std::vector<SlotDef> defs;
  for (const SlotShare& s : slots) {
    defs.push_back({s.index, s.percentage, none, none});
  }
  return CompiledGroup::compile({"device_id", salt, defs});
}

/// The slot index of an assignment (0: no slot).
int index_of(const std::vector<SlotShare>& slots, const Assignment& a) {
  return a.slot == kNoSlot ? 0 : slots[static_cast<std::size_t>(a.slot)].index;
}

/// Random valid slots: 1 to 6, indexes increasing with gaps, percentages summing to at most 100
/// (to exactly 100 about half the time).
std::vector<SlotShare> random_slots(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> count_of(1, 6);
  const int count = count_of(rng);
  std::vector<SlotShare> slots;
  int left = 100;
  int index = 0;
  const bool full = rng() % 2 == 0;
  for (int i = 0; i < count && left > 0; ++i) {
    index += 1 + static_cast<int>(rng() % 2);
    const int most = left - (count - i - 1 > left - 1 ? 0 : count - i - 1);
    int p = 1 + static_cast<int>(rng() % static_cast<std::uint64_t>(std::max(most, 1)));
    if (i == count - 1 && full) {
      p = left;
    }
    p = std::min(p, left);
    slots.push_back({index, p});
    left -= p;
  }
  return slots;
}

}  // namespace

TEST_CASE("hash values per d: 100 each, 96 for the last", "[eval][impact]") {
  CHECK(hashes_between(0, kDistributionEnd) == kHashSpace);
  CHECK(hashes_between(0, 1) == 100);
  CHECK(hashes_between(kDistributionEnd - 1, kDistributionEnd) == 96);
  CHECK(hashes_between(5, 5) == 0);
  CHECK(hashes_between(7, 3) == 0);
}

TEST_CASE("slot_end is the engine's bound", "[eval][impact]") {
  std::mt19937_64 rng{7};
  for (int round = 0; round < 200; ++round) {
    const auto slots = random_slots(rng);
    const CompiledGroup group = compile(slots, "s");
    std::uint64_t cumulative = 0;
    for (std::size_t pos = 0; pos < slots.size(); ++pos) {
      cumulative += static_cast<std::uint64_t>(slots[pos].percentage);
      REQUIRE(slot_end(cumulative) == group.upper_bound(pos));
    }
  }
  CHECK(slot_end(100) == kDistributionEnd);
}

TEST_CASE("40/60 to 50/50 moves exactly the users of d in [U(40), U(50))", "[eval][impact]") {
  // By hand: U(40) = (40 * 42949673 + 99) / 100 = 17179870, U(50) = 21474837; the 4294967 values
  // of d between them hold 100 hashes each.
  const Movement m = exact_movement(shares({40, 60}), shares({50, 50}));
  CHECK(m.moved() == 429496700);
  CHECK(m.between == 429496700);
  CHECK(m.entered == 0);
  CHECK(m.left == 0);
  CHECK(m.stayed + m.moved() == kHashSpace);
  CHECK(share_of(m.moved()) == Approx(0.10).margin(1e-7));
  // Back again moves the same users.
  CHECK(exact_movement(shares({50, 50}), shares({40, 60})).moved() == 429496700);
}

TEST_CASE("a slot appended after an unallocated share moves none of the allocated users",
          "[eval][impact]") {
  const Movement m = exact_movement(shares({40, 30}), shares({40, 30, 30}));
  CHECK(m.between == 0);
  CHECK(m.left == 0);
  // Only the unallocated share enters the new slot: d in [U(70), end).
  CHECK(m.entered == hashes_between(slot_end(70), kDistributionEnd));
  CHECK(share_of(m.entered) == Approx(0.30).margin(1e-7));
  CHECK(m.stayed == hashes_between(0, slot_end(70)));
}

TEST_CASE("a slot removed from the end sends its users to the unallocated share",
          "[eval][impact]") {
  const Movement m = exact_movement(shares({20, 30, 50}), shares({20, 30}));
  CHECK(m.between == 0);
  CHECK(m.entered == 0);
  CHECK(m.left == hashes_between(slot_end(50), kDistributionEnd));
}

TEST_CASE("slots are matched by index, not by position", "[eval][impact]") {
  // The same ranges under other indexes: everyone in them moves.
  const std::vector<SlotShare> before = {{1, 50}, {2, 50}};
  const std::vector<SlotShare> after = {{2, 50}, {3, 50}};
  CHECK(exact_movement(before, after).moved() == kHashSpace);
  CHECK(exact_movement(before, before).moved() == 0);
}

TEST_CASE("a new salt re-randomises: moved is 1 - sum p_old * p_new", "[eval][impact]") {
  CHECK(rerandomized_movement(shares({50, 50}), shares({50, 50})).moved() ==
        Approx(0.5).margin(1e-8));
  CHECK(rerandomized_movement(shares({40, 60}), shares({50, 50})).moved() ==
        Approx(1 - (0.4 * 0.5 + 0.6 * 0.5)).margin(1e-8));
  // 30/30 and 40% unallocated: staying unallocated is staying.
  const ExpectedMovement m = rerandomized_movement(shares({30, 30}), shares({30, 30}));
  CHECK(m.moved() == Approx(1 - (0.09 + 0.09 + 0.16)).margin(1e-8));
  CHECK(m.entered == Approx(0.4 * 0.6).margin(1e-8));
  CHECK(m.left == Approx(0.6 * 0.4).margin(1e-8));
  CHECK(m.stayed + m.moved() == Approx(1.0).margin(1e-12));
  // Everyone is in the one slot either way.
  CHECK(rerandomized_movement(shares({100}), shares({100})).moved() == Approx(0).margin(1e-12));
}

TEST_CASE("the exact moved share agrees with a brute-force count over 1,000,000 random users",
          "[eval][impact][property]") {
  constexpr std::size_t kUsers = 1000000;
  std::mt19937_64 rng{20261214};
  std::vector<std::string> ids;
  ids.reserve(kUsers);
  for (std::size_t i = 0; i < kUsers; ++i) {
    ids.push_back(std::to_string(rng()));
  }
  for (int round = 0; round < 12; ++round) {
    const bool same_salt = round < 8;
    const auto before = random_slots(rng);
    auto after = random_slots(rng);
    if (round % 4 == 1) {  // a small edit of the same group: one slot's share moves to the next
      after = before;
      if (after.size() >= 2 && after[0].percentage > 1) {
        after[0].percentage -= 1;
        after[1].percentage += 1;
      }
    }
    const CompiledGroup old_group = compile(before, "salt-a");
    const CompiledGroup new_group = compile(after, same_salt ? "salt-a" : "salt-b");
    std::size_t moved = 0;
    for (const std::string& id : ids) {
      User user;
      user.device_id = id;
      if (index_of(before, old_group.assign(user)) != index_of(after, new_group.assign(user))) {
        ++moved;
      }
    }
    const double counted = static_cast<double>(moved) / kUsers;
    const double predicted = same_salt ? share_of(exact_movement(before, after).moved())
                                       : rerandomized_movement(before, after).moved();
    // Within 5 standard errors of a binomial count (and a hair for a share of 0 or 1).
    const double tolerance = 5 * std::sqrt(predicted * (1 - predicted) / kUsers) + 1e-6;
    INFO("round " << round << (same_salt ? " (same salt)" : " (new salt)") << ": predicted "
                  << predicted << ", counted " << counted);
    CHECK(std::abs(counted - predicted) <= tolerance);
  }
}
