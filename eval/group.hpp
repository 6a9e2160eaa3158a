#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
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

/// One group, precomputed once per snapshot so that `assign` only looks up, hashes and compares.
class CompiledGroup {
 public:
  /// Throws std::invalid_argument on input that validation should have rejected.
  [[nodiscard]] static CompiledGroup compile(const GroupDef& def);

  /// Pure function of (user, group): no allocation, no locks, no I/O.
  [[nodiscard]] Assignment assign(const User& user) const noexcept;

  [[nodiscard]] std::size_t slot_count() const noexcept { return upper_.size(); }
  /// Slot `pos` holds distribution values in [lower_bound(pos), upper_bound(pos)).
  [[nodiscard]] std::uint32_t lower_bound(std::size_t pos) const noexcept {
    return pos == 0 ? 0 : upper_[pos - 1];
  }
  [[nodiscard]] std::uint32_t upper_bound(std::size_t pos) const noexcept { return upper_[pos]; }

 private:
  enum class Source : std::uint8_t { kUserId, kDeviceId, kField, kProperty };

  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  /// Inclusion key -> first slot position (index order) that lists it.
  using InclusionMap = std::unordered_map<std::string, int, StringHash, std::equal_to<>>;

  [[nodiscard]] std::optional<std::string_view> bucketing_value(const User& user) const noexcept;
  [[nodiscard]] int inclusion_slot(const User& user, Reason& reason) const noexcept;

  Source source_ = Source::kUserId;
  std::string field_;     // for kField / kProperty
  Murmur3Stream prefix_;  // state after hashing "salt/"
  std::vector<std::uint32_t> upper_;
  bool single_full_slot_ = false;
  InclusionMap individuals_;
  InclusionMap cohorts_;
  int none_individual_slot_ = kNoSlot;  // slot listing "(none)" among individuals
  int none_cohort_slot_ = kNoSlot;      // slot listing "(none)" among cohorts
};

}  // namespace mutex_edge::eval
