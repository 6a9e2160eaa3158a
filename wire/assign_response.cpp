#include "wire/assign_response.hpp"

namespace mutex_edge::wire {
namespace {

void write_explain(common::JsonWriter& writer, const cache::GroupEntry& group,
                   const eval::User& user, const eval::Assignment& assignment) {
  const eval::CompiledGroup& compiled = group.compiled();
  writer.key("explain").begin_object();
  if (assignment.reason == eval::Reason::kCohort) {
    // The cohort that put the user there: the first of theirs (given or synced) whose first slot
    // is this one.
    for (const std::string_view id : user.cohort_ids) {
      if (compiled.cohorts().find(id) == assignment.slot) {
        writer.key("cohort").value(id);
        break;
      }
    }
  }
  writer.key("bucketingKey").value(group.bucketing_key());
  writer.key("bucketingSalt").value(group.bucketing_salt());
  if (assignment.hashed) {
    writer.key("hash").value(assignment.hash).key("d").value(assignment.d);
  }
  writer.key("bounds").begin_array();
  for (std::size_t pos = 0; pos < compiled.slot_count(); ++pos) {
    writer.begin_object();
    writer.key("slot").value(group.slot(pos).variant_key);
    writer.key("from").value(compiled.lower_bound(pos));
    writer.key("to").value(compiled.upper_bound(pos));
    writer.end_object();
  }
  writer.end_array().end_object();
}

/// Groups of an answer whose data is prefetched before the first is assigned: a group of a large
/// configuration is rarely in the cache, and its loads then overlap.
constexpr std::size_t kPrefetched = 8;

/// The most bytes put_member writes for `group`.
std::size_t member_bytes(const cache::GroupEntry& group) {
  using W = common::JsonWriter;
  constexpr std::size_t kFixed = 128;  // punctuation, names, the index and the reason
  return kFixed + W::max_string_bytes(group.key()) + 6 * group.longest_variant_key() +
         group.longest_ids();
}

/// `"<key>":{"slot":...,"holdouts":[...]` (the object left open for an explain) at `at`, which
/// has room for member_bytes(group).
char* put_member(char* at, const cache::GroupEntry& group, const eval::Assignment& assignment) {
  using W = common::JsonWriter;
  const bool plain = group.plain_strings();
  auto put_text = [plain](char* to, std::string_view text) {
    return plain ? W::put_plain(to, text) : W::put_string(to, text);
  };
  at = put_text(at, group.key());
  at = W::put(at, ":{\"slot\":");
  const bool assigned = assignment.slot != eval::kNoSlot;
  const cache::GroupEntry::Slot slot =
      assigned ? group.slot(static_cast<std::size_t>(assignment.slot)) : cache::GroupEntry::Slot{};
  at = assigned ? put_text(at, slot.variant_key) : W::put(at, "null");
  at = W::put(at, ",\"reason\":");
  at = W::put_plain(at, eval::to_string(assignment.reason));  // a name of ours: never escaped
  at = W::put(at, ",\"index\":");
  at = assigned ? W::put(at, slot.index) : W::put(at, "null");
  at = W::put(at, ",\"experiments\":");
  at = W::put_raw(at, slot.experiments.empty() ? "[]" : slot.experiments);
  at = W::put(at, ",\"holdouts\":");
  return W::put_raw(at, slot.holdouts.empty() ? "[]" : slot.holdouts);
}

}  // namespace

void write_assignment_map(common::JsonWriter& writer, const cache::Snapshot& snapshot,
                          const eval::User& user, std::span<const std::size_t> groups, bool explain,
                          AssignObserver observer) {
  const eval::UserKeys keys{user};  // hashed once for every group's individuals
  for (std::size_t i : groups.first(std::min<std::size_t>(groups.size(), kPrefetched))) {
    snapshot.group(i).prefetch(keys);
  }
  auto assign = [&](std::size_t i) {
    const eval::Assignment assignment = snapshot.group(i).compiled().assign(user, keys);
    if (observer.on_assign != nullptr) {
      observer.on_assign(observer.context, i, assignment.slot);
    }
    return assignment;
  };
  writer.key("assignments");
  if (!explain) {
    // The whole map in one piece: this runs for every group of every answer, and the writer's
    // calls one by one cost several times more.
    std::size_t most = 2;
    for (std::size_t i : groups) {
      most += member_bytes(snapshot.group(i)) + 2;
    }
    writer.value_in_place(most, [&](char* at) {
      *at++ = '{';
      for (std::size_t n = 0; n < groups.size(); ++n) {
        if (n != 0) {
          *at++ = ',';
        }
        const cache::GroupEntry& group = snapshot.group(groups[n]);
        at = put_member(at, group, assign(groups[n]));
        *at++ = '}';
      }
      *at++ = '}';
      return at;
    });
    return;
  }
  writer.begin_object();
  for (std::size_t i : groups) {
    const cache::GroupEntry& group = snapshot.group(i);
    const eval::Assignment assignment = assign(i);
    writer.value_in_place(member_bytes(group),
                          [&](char* at) { return put_member(at, group, assignment); });
    write_explain(writer, group, user, assignment);
    writer.end_object();
  }
  writer.end_object();
}

void write_unknown(common::JsonWriter& writer, std::span<const std::string_view> unknown) {
  if (unknown.empty()) {
    return;
  }
  writer.key("unknown").begin_array();
  for (std::string_view key : unknown) {
    writer.value(key);
  }
  writer.end_array();
}

void write_assignments(common::JsonWriter& writer, const cache::Snapshot& snapshot,
                       const eval::User& user, std::span<const std::size_t> groups,
                       std::span<const std::string_view> unknown, bool explain,
                       AssignObserver observer) {
  writer.key("version").value(snapshot.version());
  write_assignment_map(writer, snapshot, user, groups, explain, observer);
  write_unknown(writer, unknown);
}

}  // namespace mutex_edge::wire
