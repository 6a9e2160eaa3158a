#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "eval/murmur3.hpp"
#include "eval/user.hpp"

namespace mutex_edge::eval {

/// Why a user got (or did not get) a slot. Every answer carries one.
enum class Reason : std::uint8_t {
  kIndividual,        // listed in a slot's individuals (user_id or device_id)
  kCohort,            // in one of a slot's cohorts
  kAll,               // the group's only slot holds 100%
  kBucket,            // hashed into a slot's range
  kNoBucketingValue,  // the bucketing field is missing, null or empty
  kUnallocated,       // hashed into the share no slot holds (percentages sum under 100)
};

[[nodiscard]] std::string_view to_string(Reason reason) noexcept;

/// What `CompiledGroup::compile` needs of one slot. Slots are given in `index` order.
struct SlotDef {
  int index = 0;
  int percentage = 0;
  std::span<const std::string> individuals;
  std::span<const std::string> cohorts;
};

/// What `CompiledGroup::compile` needs of one group: validated input (cache/ checks it first).
struct GroupDef {
  std::string_view bucketing_key;
  std::string_view bucketing_salt;
  std::span<const SlotDef> slots;
};

inline constexpr int kNoSlot = -1;

struct Assignment {
  int slot = kNoSlot;  // position in the group's slots (index order), or kNoSlot
  Reason reason = Reason::kNoBucketingValue;
  bool hashed = false;     // hash and d are set only when the user was hashed
  std::uint32_t hash = 0;  // murmur3 of "salt/value"
  std::uint32_t d = 0;     // hash / 100
};

/// Largest distribution value plus one: the upper bound of a slot ending at 100%.
inline constexpr std::uint32_t kDistributionEnd = 42949673;

/// The end of the d range of a slot whose cumulative percentage is `cumulative` (design.md
/// section 2, step 5): (C * 42949673 + 99) / 100, so 42949673 at 100%.
[[nodiscard]] constexpr std::uint32_t slot_end(std::uint64_t cumulative) noexcept {
  return static_cast<std::uint32_t>((cumulative * kDistributionEnd + 99) / 100);
}

/// The individuals or the cohorts of a group's slots, kept as given (slot order, then list
/// order) in one buffer, with an open-addressing index that finds the first slot listing a key.
/// Built once; a lookup hashes the key once and allocates nothing.
/// A value as an InclusionSet looks it up ("true"/"false" folded to lower case, then hashed):
/// made once per user and used for every group's lookup.
struct LookupKey {
  explicit LookupKey(std::string_view value) noexcept;
  std::string_view folded;
  std::uint64_t hash = 0;
};

/// A user's ids as the individuals lookups take them: each made on first use, then kept for the
/// other groups of the same answer.
class UserKeys {
 public:
  explicit UserKeys(const User& user) noexcept : user_{user} {}
  /// The key of user_id (`device` false) or device_id, or null when the user has none.
  [[nodiscard]] const LookupKey* id(bool device) const noexcept;

 private:
  const User& user_;
  mutable std::optional<LookupKey> keys_[2];
};

class InclusionSet {
 public:
  /// `lists[pos]` are the keys of slot position `pos`.
  void build(std::span<const std::span<const std::string>> lists);

  /// The first slot position listing `key` ("true"/"false" match in any case, as the reference
  /// engine's boolean comparison does), or kNoSlot.
  [[nodiscard]] int find(std::string_view key) const noexcept;
  /// find() for a key already folded and hashed (see LookupKey).
  [[nodiscard]] int find(const LookupKey& key) const noexcept;
  [[nodiscard]] bool empty() const noexcept { return keys_.empty(); }
  /// Starts loading the table's line for `key` into the cache (an answer asks for it soon).
  void prefetch(const LookupKey& key) const noexcept {
    if (!table_.empty()) {
      __builtin_prefetch(&table_[key.hash & (table_.size() - 1)]);
    }
  }
  /// The first slot position listing "(none)" (the engine's "value is missing"), or kNoSlot.
  [[nodiscard]] int none_slot() const noexcept { return none_slot_; }

  [[nodiscard]] std::size_t count(std::size_t pos) const noexcept {
    return slot_begin_[pos + 1] - slot_begin_[pos];
  }
  [[nodiscard]] std::string_view at(std::size_t pos, std::size_t i) const noexcept {
    return key(slot_begin_[pos] + i);
  }
  /// Heap bytes held, for the memory a snapshot reports.
  [[nodiscard]] std::size_t memory_bytes() const noexcept;

 private:
  struct Span {
    std::uint32_t offset;
    std::uint32_t length;
  };
  struct Entry {
    std::uint32_t key_plus_one;  // 0: empty
    std::uint32_t tag;           // the hash's high bits, to skip most string comparisons
  };

  [[nodiscard]] std::string_view key(std::size_t k) const noexcept {
    return std::string_view{text_}.substr(keys_[k].offset, keys_[k].length);
  }
  [[nodiscard]] int slot_of(std::size_t k) const noexcept;

  std::string text_;                       // every key, back to back
  std::vector<Span> keys_;                 // in slot order, then list order
  std::vector<std::uint32_t> slot_begin_;  // slot pos's keys: [slot_begin_[pos], [pos + 1])
  std::vector<Entry> table_;               // a power of two in size, or empty
  int none_slot_ = kNoSlot;
};

/// One group, precomputed once per snapshot so that `assign` only looks up, hashes and compares.
class CompiledGroup {
 public:
  /// Throws std::invalid_argument on input that validation should have rejected.
  [[nodiscard]] static CompiledGroup compile(const GroupDef& def);

  /// Pure function of (user, group): no allocation, no locks, no I/O.
  [[nodiscard]] Assignment assign(const User& user) const noexcept {
    return assign(user, UserKeys{user});
  }
  /// The same with the user's keys made once for many groups (`keys` is UserKeys{user}).
  [[nodiscard]] Assignment assign(const User& user, const UserKeys& keys) const noexcept;

  /// Starts loading what assign() reads for this user into the cache, so that the loads of a
  /// group not touched lately overlap instead of following one another.
  void prefetch(const UserKeys& keys) const noexcept;

  [[nodiscard]] std::size_t slot_count() const noexcept { return upper_.size(); }
  /// Slot `pos` holds distribution values in [lower_bound(pos), upper_bound(pos)).
  [[nodiscard]] std::uint32_t lower_bound(std::size_t pos) const noexcept {
    return pos == 0 ? 0 : upper_[pos - 1];
  }
  [[nodiscard]] std::uint32_t upper_bound(std::size_t pos) const noexcept { return upper_[pos]; }

  /// The user's value of the bucketing key (what is hashed after "salt/"), or nullopt.
  [[nodiscard]] std::optional<std::string_view> bucketing_value(const User& user) const noexcept;

  /// The slots' individuals and cohorts as they were given (the compiled group is where a
  /// snapshot keeps them).
  [[nodiscard]] const InclusionSet& individuals() const noexcept { return individuals_; }
  [[nodiscard]] const InclusionSet& cohorts() const noexcept { return cohorts_; }
  /// Heap bytes held.
  [[nodiscard]] std::size_t memory_bytes() const noexcept;

 private:
  enum class Source : std::uint8_t { kUserId, kDeviceId, kField, kProperty };

  [[nodiscard]] int inclusion_slot(const User& user, const UserKeys& keys,
                                   Reason& reason) const noexcept;

  Source source_ = Source::kUserId;
  std::string field_;     // for kField / kProperty
  Murmur3Stream prefix_;  // state after hashing "salt/"
  std::vector<std::uint32_t> upper_;
  bool single_full_slot_ = false;
  InclusionSet individuals_;
  InclusionSet cohorts_;
};

}  // namespace mutex_edge::eval
