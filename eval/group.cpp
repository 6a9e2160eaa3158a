#include "eval/group.hpp"

#include <stdexcept>

namespace mutex_edge::eval {
namespace {

/// The engine's "is" and "set contains any" compare exactly, except that "true"/"false" match
/// case-insensitively when both sides are booleans: folding them makes that a plain lookup.
std::string_view fold_boolean(std::string_view s) noexcept {
  auto equals_ci = [s](std::string_view lower) {
    if (s.size() != lower.size()) {
      return false;
    }
    for (std::size_t i = 0; i < s.size(); ++i) {
      const char c = (s[i] >= 'A' && s[i] <= 'Z') ? static_cast<char>(s[i] - 'A' + 'a') : s[i];
      if (c != lower[i]) {
        return false;
      }
    }
    return true;
  };
  if (equals_ci("true")) {
    return "true";
  }
  if (equals_ci("false")) {
    return "false";
  }
  return s;
}

/// The engine's matchNull: a condition on a missing value holds when its list has "(none)".
constexpr std::string_view kNone = "(none)";

void add_inclusions(auto& map, std::span<const std::string> keys, int pos, int& none_slot) {
  for (const std::string& key : keys) {
    map.try_emplace(std::string{fold_boolean(key)}, pos);  // keeps the first slot
    if (key == kNone && none_slot == kNoSlot) {
      none_slot = pos;
    }
  }
}

template <typename Map>
int lookup(const Map& map, std::string_view key) noexcept {
  auto it = map.find(fold_boolean(key));
  return it == map.end() ? kNoSlot : it->second;
}

constexpr bool earlier(int candidate, int best) noexcept {
  return candidate != kNoSlot && (best == kNoSlot || candidate < best);
}

std::optional<std::string_view> find_field(std::span<const Field> fields,
                                           std::string_view name) noexcept {
  for (const Field& field : fields) {
    if (field.name == name) {
      return field.value;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(Reason reason) noexcept {
  switch (reason) {
    case Reason::kIndividual:
      return "individual";
    case Reason::kCohort:
      return "cohort";
    case Reason::kAll:
      return "all";
    case Reason::kBucket:
      return "bucket";
    case Reason::kNoBucketingValue:
      return "no_bucketing_value";
    case Reason::kUnallocated:
      return "unallocated";
  }
  return "unknown";
}

CompiledGroup CompiledGroup::compile(const GroupDef& def) {
  if (def.slots.empty()) {
    throw std::invalid_argument("a group needs at least one slot");
  }
  CompiledGroup group;

  std::string_view key = def.bucketing_key;
  if (key.starts_with("gp:")) {
    group.source_ = Source::kProperty;
    group.field_ = key.substr(3);
  } else if (key == "user_id") {
    group.source_ = Source::kUserId;
  } else if (key == "device_id") {
    group.source_ = Source::kDeviceId;
  } else {
    group.source_ = is_top_level_user_field(key) ? Source::kField : Source::kProperty;
    group.field_ = key;
  }

  group.prefix_.update(def.bucketing_salt);
  group.prefix_.update("/");

  std::uint64_t cumulative = 0;
  int previous_index = 0;
  group.upper_.reserve(def.slots.size());
  for (std::size_t pos = 0; pos < def.slots.size(); ++pos) {
    const SlotDef& slot = def.slots[pos];
    if (slot.index <= previous_index) {
      throw std::invalid_argument("slots must be given in increasing index order");
    }
    if (slot.percentage < 1 || slot.percentage > 100) {
      throw std::invalid_argument("slot percentage out of 1..100");
    }
    previous_index = slot.index;
    cumulative += static_cast<std::uint64_t>(slot.percentage);
    if (cumulative > 100) {
      throw std::invalid_argument("slot percentages sum over 100");
    }
    // design.md section 2, step 5: the bound of a slot ending at C% is (C*42949673 + 99) / 100.
    group.upper_.push_back(static_cast<std::uint32_t>((cumulative * kDistributionEnd + 99) / 100));

    const int p = static_cast<int>(pos);
    add_inclusions(group.individuals_, slot.individuals, p, group.none_individual_slot_);
    add_inclusions(group.cohorts_, slot.cohorts, p, group.none_cohort_slot_);
  }
  group.single_full_slot_ = def.slots.size() == 1 && def.slots[0].percentage == 100;
  return group;
}

int CompiledGroup::inclusion_slot(const User& user, Reason& reason) const noexcept {
  int best = kNoSlot;
  if (!individuals_.empty()) {
    for (const auto& id : {user.user_id, user.device_id}) {
      const int slot = id ? lookup(individuals_, *id) : none_individual_slot_;
      if (earlier(slot, best)) {
        best = slot;
      }
    }
    reason = Reason::kIndividual;
  }
  if (!cohorts_.empty()) {
    int cohort_best = user.has_cohort_ids ? kNoSlot : none_cohort_slot_;
    for (std::string_view cohort : user.cohort_ids) {
      const int slot = lookup(cohorts_, cohort);
      if (earlier(slot, cohort_best)) {
        cohort_best = slot;
      }
    }
    // Within one slot the individual conditions come first.
    if (earlier(cohort_best, best)) {
      best = cohort_best;
      reason = Reason::kCohort;
    }
  }
  return best;
}

std::optional<std::string_view> CompiledGroup::bucketing_value(const User& user) const noexcept {
  switch (source_) {
    case Source::kUserId:
      return user.user_id;
    case Source::kDeviceId:
      return user.device_id;
    case Source::kField:
      return find_field(user.fields, field_);
    case Source::kProperty:
      return find_field(user.properties, field_);
  }
  return std::nullopt;
}

Assignment CompiledGroup::assign(const User& user) const noexcept {
  Assignment result;
  if (const int slot = inclusion_slot(user, result.reason); slot != kNoSlot) {
    result.slot = slot;
    return result;
  }
  if (single_full_slot_) {
    result.slot = 0;
    result.reason = Reason::kAll;
    return result;
  }
  const std::optional<std::string_view> value = bucketing_value(user);
  if (!value || value->empty()) {
    result.reason = Reason::kNoBucketingValue;
    return result;
  }
  Murmur3Stream stream = prefix_;
  stream.update(*value);
  result.hashed = true;
  result.hash = stream.finish();
  result.d = result.hash / 100;
  for (std::size_t pos = 0; pos < upper_.size(); ++pos) {
    if (result.d < upper_[pos]) {
      result.slot = static_cast<int>(pos);
      result.reason = Reason::kBucket;
      return result;
    }
  }
  result.reason = Reason::kUnallocated;
  return result;
}

}  // namespace mutex_edge::eval
