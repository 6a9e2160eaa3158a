#include "cache/serialize.hpp"

namespace mutex_edge::cache {
namespace {

template <typename T>
void write_list(JsonWriter& writer, std::string_view name, const std::vector<T>& items) {
  writer.key(name).begin_array();
  for (const T& item : items) {
    writer.value(item);
  }
  writer.end_array();
}

}  // namespace

void write_group(JsonWriter& writer, const GroupConfig& group) {
  writer.begin_object()
      .key("id").value(group.id)
      .key("projectId").value(group.project_id)
      .key("name").value(group.name)
      .key("key").value(group.key)
      .key("description").value(group.description)
      .key("evaluationMode").value(group.evaluation_mode.empty() ? "remote" : group.evaluation_mode)
      .key("bucketingKey").value(group.bucketing_key)
      .key("bucketingSalt").value(group.bucketing_salt)
      .key("slots").begin_array();
  for (const SlotConfig& slot : group.slots) {
    writer.begin_object()
        .key("name").value(slot.name)
        .key("index").value(slot.index)
        .key("variantKey").value(slot.variant_key)
        .key("percentage").value(slot.percentage);
    write_list(writer, "experiments", slot.experiments);
    write_list(writer, "holdouts", slot.holdouts);
    write_list(writer, "individuals", slot.individuals);
    write_list(writer, "cohorts", slot.cohorts);
    writer.end_object();
  }
  writer.end_array().end_object();
}

std::string serialize_list(std::span<const GroupConfig> groups,
                           const std::optional<std::string>& next_cursor) {
  std::string out;
  JsonWriter writer{out};
  writer.begin_object().key("mutexes").begin_array();
  for (const GroupConfig& group : groups) {
    write_group(writer, group);
  }
  writer.end_array().key("nextCursor");
  if (next_cursor) {
    writer.value(*next_cursor);
  } else {
    writer.null();
  }
  writer.end_object();
  return out;
}

}  // namespace mutex_edge::cache
