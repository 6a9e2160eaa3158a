#include "eval/group.hpp"

#include <functional>
#include <limits>
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

std::uint64_t hash_key(std::string_view folded) noexcept {
  return static_cast<std::uint64_t>(std::hash<std::string_view>{}(folded));
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

void InclusionSet::build(std::span<const std::span<const std::string>> lists) {
  std::size_t count = 0;
  std::size_t bytes = 0;
  for (const auto& list : lists) {
    count += list.size();
    for (const std::string& key : list) {
      bytes += key.size();
    }
  }
  if (count > std::numeric_limits<std::uint32_t>::max() - 1 ||
      bytes > std::numeric_limits<std::uint32_t>::max()) {
    throw std::invalid_argument("too many inclusion keys in one group");
  }
  text_.reserve(bytes);
  keys_.reserve(count);
  slot_begin_.reserve(lists.size() + 1);
  std::size_t capacity = 0;
  if (count != 0) {
    capacity = 4;
    while (capacity < count + count / 2) {  // at most 2/3 full
      capacity *= 2;
    }
  }
  table_.assign(capacity, Entry{0, 0});
  const std::size_t mask = capacity - 1;
  for (std::size_t pos = 0; pos < lists.size(); ++pos) {
    slot_begin_.push_back(static_cast<std::uint32_t>(keys_.size()));
    for (const std::string& given : lists[pos]) {
      const auto k = static_cast<std::uint32_t>(keys_.size());
      keys_.push_back(
          {static_cast<std::uint32_t>(text_.size()), static_cast<std::uint32_t>(given.size())});
      text_ += given;
      if (given == kNone && none_slot_ == kNoSlot) {
        none_slot_ = static_cast<int>(pos);
      }
      // Index the key unless an earlier slot (or this one) already lists it: the first wins.
      const std::string_view folded = fold_boolean(given);
      const std::uint64_t h = hash_key(folded);
      const auto tag = static_cast<std::uint32_t>(h >> 32);
      for (std::size_t i = h & mask;; i = (i + 1) & mask) {
        Entry& entry = table_[i];
        if (entry.key_plus_one == 0) {
          entry = Entry{k + 1, tag};
          break;
        }
        if (entry.tag == tag && fold_boolean(key(entry.key_plus_one - 1)) == folded) {
          break;
        }
      }
    }
  }
  slot_begin_.push_back(static_cast<std::uint32_t>(keys_.size()));
}

int InclusionSet::slot_of(std::size_t k) const noexcept {
  // The last slot whose first key is at or before k (slots are few: at most 20).
  std::size_t pos = 0;
  while (pos + 2 < slot_begin_.size() && slot_begin_[pos + 1] <= k) {
    ++pos;
  }
  return static_cast<int>(pos);
}

LookupKey::LookupKey(std::string_view value) noexcept
    : folded{fold_boolean(value)}, hash{hash_key(folded)} {}

const LookupKey* UserKeys::id(bool device) const noexcept {
  const std::optional<std::string_view>& value = device ? user_.device_id : user_.user_id;
  if (!value) {
    return nullptr;
  }
  std::optional<LookupKey>& key = keys_[device ? 1 : 0];
  if (!key) {
    key.emplace(*value);
  }
  return &*key;
}

int InclusionSet::find(std::string_view query) const noexcept {
  return table_.empty() ? kNoSlot : find(LookupKey{query});
}

int InclusionSet::find(const LookupKey& query) const noexcept {
  if (table_.empty()) {
    return kNoSlot;
  }
  const std::string_view folded = query.folded;
  const std::uint64_t h = query.hash;
  const auto tag = static_cast<std::uint32_t>(h >> 32);
  const std::size_t mask = table_.size() - 1;
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    const Entry entry = table_[i];
    if (entry.key_plus_one == 0) {
      return kNoSlot;
    }
    if (entry.tag == tag && fold_boolean(key(entry.key_plus_one - 1)) == folded) {
      return slot_of(entry.key_plus_one - 1);
    }
  }
}

std::size_t InclusionSet::memory_bytes() const noexcept {
  return text_.capacity() + keys_.capacity() * sizeof(Span) +
         slot_begin_.capacity() * sizeof(std::uint32_t) + table_.capacity() * sizeof(Entry);
}

std::size_t CompiledGroup::memory_bytes() const noexcept {
  return field_.capacity() + upper_.capacity() * sizeof(std::uint32_t) +
         individuals_.memory_bytes() + cohorts_.memory_bytes();
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
  std::vector<std::span<const std::string>> individuals, cohorts;
  individuals.reserve(def.slots.size());
  cohorts.reserve(def.slots.size());
  for (const SlotDef& slot : def.slots) {
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
    group.upper_.push_back(slot_end(cumulative));
    individuals.push_back(slot.individuals);
    cohorts.push_back(slot.cohorts);
  }
  group.individuals_.build(individuals);
  group.cohorts_.build(cohorts);
  group.single_full_slot_ = def.slots.size() == 1 && def.slots[0].percentage == 100;
  return group;
}

int CompiledGroup::inclusion_slot(const User& user, const UserKeys& keys,
                                  Reason& reason) const noexcept {
  int best = kNoSlot;
  if (!individuals_.empty()) {
    for (const bool device : {false, true}) {
      const LookupKey* id = keys.id(device);
      const int slot = id != nullptr ? individuals_.find(*id) : individuals_.none_slot();
      if (earlier(slot, best)) {
        best = slot;
      }
    }
    reason = Reason::kIndividual;
  }
  if (!cohorts_.empty()) {
    int cohort_best = user.has_cohort_ids ? kNoSlot : cohorts_.none_slot();
    for (std::string_view cohort : user.cohort_ids) {
      const int slot = cohorts_.find(cohort);
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

void CompiledGroup::prefetch(const UserKeys& keys) const noexcept {
  __builtin_prefetch(upper_.data());
  if (!individuals_.empty()) {
    for (const bool device : {false, true}) {
      if (const LookupKey* id = keys.id(device)) {
        individuals_.prefetch(*id);
      }
    }
  }
}

Assignment CompiledGroup::assign(const User& user, const UserKeys& keys) const noexcept {
  Assignment result;
  if (const int slot = inclusion_slot(user, keys, result.reason); slot != kNoSlot) {
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
