#include "integrity/change.hpp"

#include <algorithm>
#include <unordered_map>

#include "eval/impact.hpp"
#include "eval/user.hpp"

namespace mutex_edge::integrity {

using cache::GroupEntry;
using cache::Snapshot;
namespace {

/// Which user value a bucketing key reads, as the engine resolves it: "gp:plan" and "plan" are
/// the same property, "country" is the top-level field.
struct BucketingSource {
  bool property = false;
  std::string_view name;
  bool operator==(const BucketingSource&) const = default;
};

BucketingSource source_of(std::string_view key) noexcept {
  if (key.starts_with("gp:")) {
    return {true, key.substr(3)};
  }
  return {!eval::is_top_level_user_field(key), key};
}

std::vector<eval::SlotShare> shares_of(const GroupEntry& group) {
  std::vector<eval::SlotShare> shares;
  shares.reserve(group.slot_count());
  for (std::size_t pos = 0; pos < group.slot_count(); ++pos) {
    const GroupEntry::Slot slot = group.slot(pos);
    shares.push_back({slot.index, slot.percentage});
  }
  return shares;
}

bool single_full_slot(const GroupEntry& group) noexcept {
  return group.slot_count() == 1 && group.slot(0).percentage == 100;
}

/// Each listed value's first slot index.
std::unordered_map<std::string_view, int> first_slots(const GroupEntry& group,
                                                      const eval::InclusionSet& set) {
  std::unordered_map<std::string_view, int> first;
  for (std::size_t pos = 0; pos < group.slot_count(); ++pos) {
    const int index = group.slot(pos).index;
    for (std::size_t i = 0; i < set.count(pos); ++i) {
      first.emplace(set.at(pos, i), index);
    }
  }
  return first;
}

/// True when every slot position lists the same values (a slot one version lacks lists none).
bool same_lists(const GroupEntry& a, const eval::InclusionSet& sa, const GroupEntry& b,
                const eval::InclusionSet& sb) {
  const std::size_t slots = std::max(a.slot_count(), b.slot_count());
  for (std::size_t pos = 0; pos < slots; ++pos) {
    const std::size_t na = pos < a.slot_count() ? sa.count(pos) : 0;
    const std::size_t nb = pos < b.slot_count() ? sb.count(pos) : 0;
    if (na != nb) {
      return false;
    }
    for (std::size_t i = 0; i < na; ++i) {
      if (sa.at(pos, i) != sb.at(pos, i)) {
        return false;
      }
    }
  }
  return true;
}

InclusionChange compare_inclusions(const GroupEntry& before, const eval::InclusionSet& b,
                                   const GroupEntry& after, const eval::InclusionSet& a) {
  InclusionChange change;
  if (b.empty() && a.empty()) {
    return change;
  }
  const auto old_first = first_slots(before, b);
  const auto new_first = first_slots(after, a);
  for (const auto& [value, index] : new_first) {
    const auto it = old_first.find(value);
    if (it == old_first.end()) {
      ++change.added;
    } else if (it->second != index) {
      ++change.moved;
    }
  }
  for (const auto& [value, index] : old_first) {
    if (!new_first.contains(value)) {
      ++change.removed;
    }
  }
  return change;
}

/// True when a slot position's `get` (a JSON array of ids) differs; a slot one version lacks
/// has none ("[]").
template <typename Get>
bool slots_differ(const GroupEntry& a, const GroupEntry& b, Get get) {
  const std::size_t slots = std::max(a.slot_count(), b.slot_count());
  for (std::size_t pos = 0; pos < slots; ++pos) {
    const std::string_view ia = pos < a.slot_count() ? get(a.slot(pos)) : "[]";
    const std::string_view ib = pos < b.slot_count() ? get(b.slot(pos)) : "[]";
    if (ia != ib) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string_view to_string(ChangeKind kind) noexcept {
  switch (kind) {
    case ChangeKind::kChanged:
      return "changed";
    case ChangeKind::kAdded:
      return "added";
    case ChangeKind::kRemoved:
      return "removed";
    case ChangeKind::kArchived:
      return "archived";
  }
  return "changed";
}

bool GroupChange::moves_users() const noexcept {
  return kind != ChangeKind::kChanged || moved > 0 || unbucketed_moved || individuals.any() ||
         cohorts.any();
}

bool ConfigChange::moves_users() const noexcept {
  return std::any_of(groups.begin(), groups.end(),
                     [](const GroupChange& g) { return g.moves_users(); });
}

std::vector<const GroupChange*> ConfigChange::largest_moves(std::size_t n) const {
  std::vector<const GroupChange*> moves;
  for (const GroupChange& g : groups) {
    if (g.kind == ChangeKind::kChanged) {
      moves.push_back(&g);
    }
  }
  const auto larger = [](const GroupChange* a, const GroupChange* b) {
    return a->moved != b->moved ? a->moved > b->moved : a->key < b->key;
  };
  const std::size_t keep = std::min(n, moves.size());
  std::partial_sort(moves.begin(), moves.begin() + static_cast<std::ptrdiff_t>(keep), moves.end(),
                    larger);
  moves.resize(keep);
  return moves;
}

GroupChange compare_groups(const GroupEntry& before, const GroupEntry& after) {
  GroupChange change;
  change.key = std::string{after.key()};
  auto& fields = change.fields;
  if (before.id() != after.id()) {
    fields.push_back("id");
  }
  if (before.project_id() != after.project_id()) {
    fields.push_back("projectId");
  }
  if (before.name() != after.name()) {
    fields.push_back("name");
  }
  if (before.description() != after.description()) {
    fields.push_back("description");
  }
  if (before.evaluation_mode() != after.evaluation_mode()) {
    fields.push_back("evaluationMode");
  }
  if (before.bucketing_key() != after.bucketing_key()) {
    fields.push_back("bucketingKey");
  }
  if (before.bucketing_salt() != after.bucketing_salt()) {
    fields.push_back("bucketingSalt");
  }
  const auto shares_before = shares_of(before);
  const auto shares_after = shares_of(after);
  const bool same_shares =
      std::equal(shares_before.begin(), shares_before.end(), shares_after.begin(),
                 shares_after.end(), [](const eval::SlotShare& x, const eval::SlotShare& y) {
                   return x.index == y.index && x.percentage == y.percentage;
                 });
  if (!same_shares) {
    fields.push_back("slots");
  }
  if (slots_differ(before, after, [](const GroupEntry::Slot& s) { return s.experiments; })) {
    fields.push_back("experiments");
  }
  if (slots_differ(before, after, [](const GroupEntry::Slot& s) { return s.holdouts; })) {
    fields.push_back("holdouts");
  }
  const auto& ib = before.compiled().individuals();
  const auto& ia = after.compiled().individuals();
  if (!same_lists(before, ib, after, ia)) {
    fields.push_back("individuals");
    change.individuals = compare_inclusions(before, ib, after, ia);
  }
  const auto& cb = before.compiled().cohorts();
  const auto& ca = after.compiled().cohorts();
  if (!same_lists(before, cb, after, ca)) {
    fields.push_back("cohorts");
    change.cohorts = compare_inclusions(before, cb, after, ca);
  }

  change.rerandomized = before.bucketing_salt() != after.bucketing_salt() ||
                        source_of(before.bucketing_key()) != source_of(after.bucketing_key());
  if (change.rerandomized) {
    const eval::ExpectedMovement m = eval::rerandomized_movement(shares_before, shares_after);
    change.moved = m.moved();
    change.between = m.between;
    change.entered = m.entered;
    change.left = m.left;
  } else {
    const eval::Movement m = eval::exact_movement(shares_before, shares_after);
    change.moved_hashes = m.moved();
    change.moved = eval::share_of(m.moved());
    change.between = eval::share_of(m.between);
    change.entered = eval::share_of(m.entered);
    change.left = eval::share_of(m.left);
  }
  // Without a bucketing value a user is in slot 1 of a single 100% slot, and otherwise in none.
  const bool all_before = single_full_slot(before);
  const bool all_after = single_full_slot(after);
  change.unbucketed_moved =
      all_before != all_after || (all_before && before.slot(0).index != after.slot(0).index);
  return change;
}

ConfigChange compare_snapshots(const Snapshot& before, const Snapshot& after,
                               const std::unordered_set<std::string>* archived_after) {
  ConfigChange change;
  change.from_version = before.version();
  change.to_version = after.version();
  change.groups_before = before.size();
  change.groups_after = after.size();
  std::size_t matched = 0;
  for (std::size_t i = 0; i < after.size(); ++i) {
    const GroupEntry& group = after.group(i);
    const auto old = before.find_key(group.key());
    if (!old) {
      GroupChange added;
      added.key = std::string{group.key()};
      added.kind = ChangeKind::kAdded;
      change.groups.push_back(std::move(added));
      ++change.added;
      continue;
    }
    ++matched;
    const GroupEntry& previous = before.group(*old);
    if (&previous == &group || previous.hash() == group.hash()) {
      ++change.unchanged;
      continue;
    }
    change.groups.push_back(compare_groups(previous, group));
    ++change.changed;
  }
  if (matched == before.size()) {
    return change;  // every old key is still there: nothing was removed
  }
  for (std::size_t i = 0; i < before.size(); ++i) {
    const GroupEntry& group = before.group(i);
    if (after.find_key(group.key())) {
      continue;
    }
    GroupChange gone;
    gone.key = std::string{group.key()};
    const bool archived = archived_after != nullptr && archived_after->contains(gone.key);
    gone.kind = archived ? ChangeKind::kArchived : ChangeKind::kRemoved;
    ++(archived ? change.archived : change.removed);
    change.groups.push_back(std::move(gone));
  }
  return change;
}

}  // namespace mutex_edge::integrity
