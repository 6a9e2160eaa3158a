#include "config/serialize.hpp"

namespace mutex_edge::config {
namespace {

template <typename T>
void write_list(common::JsonWriter& writer, std::string_view name, const std::vector<T>& items) {
  writer.key(name).begin_array();
  for (const T& item : items) {
    writer.value(item);
  }
  writer.end_array();
}

}  // namespace

void write_group(common::JsonWriter& writer, const GroupConfig& group) {
  writer.begin_object();
  writer.key("id").value(group.id);
  writer.key("projectId").value(group.project_id);
  writer.key("name").value(group.name);
  writer.key("key").value(group.key);
  if (group.description) {
    writer.key("description").value(*group.description);
  } else {
    writer.key("description").null();
  }
  writer.key("evaluationMode")
      .value(group.evaluation_mode.empty() ? "remote" : group.evaluation_mode);
  writer.key("bucketingKey").value(group.bucketing_key);
  writer.key("bucketingSalt").value(group.bucketing_salt);
  writer.key("slots").begin_array();
  for (const SlotConfig& slot : group.slots) {
    writer.begin_object();
    writer.key("name").value(slot.name);
    writer.key("index").value(slot.index);
    writer.key("variantKey").value(slot.variant_key);
    writer.key("percentage").value(slot.percentage);
    write_list(writer, "experiments", slot.experiments);
    write_list(writer, "holdouts", slot.holdouts);
    write_list(writer, "individuals", slot.individuals);
    write_list(writer, "cohorts", slot.cohorts);
    writer.end_object();
  }
  writer.end_array().end_object();
}

std::string group_json(const GroupConfig& group) {
  std::string out;
  common::JsonWriter writer{out};
  write_group(writer, group);
  return out;
}

std::string serialize_list(std::span<const GroupConfig> groups) {
  std::string out;
  common::JsonWriter writer{out};
  write_list_page(
      writer, groups.size(),
      [&](common::JsonWriter& w, std::size_t i) { write_group(w, groups[i]); }, std::nullopt);
  return out;
}

}  // namespace mutex_edge::config
