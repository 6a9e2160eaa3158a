#include "proxy/assign_response.hpp"

namespace mutex_edge::proxy {
namespace {

void write_ids(common::JsonWriter& writer, std::string_view name,
               std::span<const std::int64_t> ids) {
  writer.key(name).begin_array();
  for (std::int64_t id : ids) {
    writer.value(id);
  }
  writer.end_array();
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
  writer.key("assignments").begin_object();
  for (std::size_t i : groups) {
    const cache::GroupEntry& group = snapshot.group(i);
    const eval::Assignment assignment = group.compiled().assign(user);
    if (observer.on_assign != nullptr) {
      observer.on_assign(observer.context, i, assignment.slot);
    }
    writer.key(group.key()).begin_object();
    writer.key("slot");
    if (assignment.slot == eval::kNoSlot) {
      writer.null();
      writer.key("reason").value(eval::to_string(assignment.reason));
      writer.key("index").null();
      write_ids(writer, "experiments", {});
      write_ids(writer, "holdouts", {});
    } else {
      const cache::GroupEntry::Slot slot = group.slot(static_cast<std::size_t>(assignment.slot));
      writer.value(slot.variant_key);
      writer.key("reason").value(eval::to_string(assignment.reason));
      writer.key("index").value(slot.index);
      write_ids(writer, "experiments", slot.experiments);
      write_ids(writer, "holdouts", slot.holdouts);
    }
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
