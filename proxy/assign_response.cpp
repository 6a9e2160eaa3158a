#include "proxy/assign_response.hpp"

namespace mutex_edge::proxy {
namespace {

/// `[1,2,3]` at `at`, which has room for 21 bytes an id and 2 more.
char* put_ids(char* at, std::span<const std::int64_t> ids) {
  *at++ = '[';
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i != 0) {
      *at++ = ',';
    }
    at = common::JsonWriter::put(at, ids[i]);
  }
  *at++ = ']';
  return at;
}

void write_explain(common::JsonWriter& writer, const cache::GroupEntry& group,
                   const eval::Assignment& assignment) {
  const eval::CompiledGroup& compiled = group.compiled();
  writer.key("explain").begin_object();
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

}  // namespace

void write_assignment_map(common::JsonWriter& writer, const cache::Snapshot& snapshot,
                          const eval::User& user, std::span<const std::size_t> groups, bool explain,
                          AssignObserver observer) {
  using W = common::JsonWriter;
  writer.key("assignments").begin_object();
  const eval::UserKeys keys{user};  // hashed once for every group's individuals
  for (std::size_t i : groups) {
    const cache::GroupEntry& group = snapshot.group(i);
    const eval::Assignment assignment = group.compiled().assign(user, keys);
    if (observer.on_assign != nullptr) {
      observer.on_assign(observer.context, i, assignment.slot);
    }
    // The member `"<key>":{"slot":...,"holdouts":[...]` in one piece: this runs for every group
    // of every answer, and the writer's calls one by one cost several times more.
    const bool assigned = assignment.slot != eval::kNoSlot;
    const cache::GroupEntry::Slot slot = assigned
                                             ? group.slot(static_cast<std::size_t>(assignment.slot))
                                             : cache::GroupEntry::Slot{};
    const std::string_view reason = eval::to_string(assignment.reason);
    constexpr std::size_t kFixed = 128;  // punctuation, names, the index and the reason
    const std::size_t most = kFixed + W::max_string_bytes(group.key()) +
                             W::max_string_bytes(slot.variant_key) + W::max_string_bytes(reason) +
                             21 * (slot.experiments.size() + slot.holdouts.size());
    writer.value_in_place(most, [&](char* at) {
      at = W::put_string(at, group.key());
      at = W::put(at, ":{\"slot\":");
      at = assigned ? W::put_string(at, slot.variant_key) : W::put(at, "null");
      at = W::put(at, ",\"reason\":");
      at = W::put_string(at, reason);
      at = W::put(at, ",\"index\":");
      at = assigned ? W::put(at, slot.index) : W::put(at, "null");
      at = W::put(at, ",\"experiments\":");
      at = put_ids(at, slot.experiments);
      at = W::put(at, ",\"holdouts\":");
      return put_ids(at, slot.holdouts);
    });
    if (explain) {
      write_explain(writer, group, assignment);
    }
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

}  // namespace mutex_edge::proxy
