#include "tests/support/groups.hpp"

#include "config/serialize.hpp"

namespace mutex_edge::testing {

config::GroupConfig make_group(std::int64_t id, std::string key, int first_percentage,
                               std::string salt) {
  config::GroupConfig g;
  g.id = id;
  g.project_id = 1;
  g.name = "group " + std::to_string(id);
  g.key = std::move(key);
  g.evaluation_mode = "local";
  g.bucketing_key = "device_id";
  g.bucketing_salt = salt.empty() ? "salt" + std::to_string(id) : std::move(salt);
  g.slots.push_back({"SLOT 1", 1, "slot-1", first_percentage, {id}, {}, {}, {}});
  if (first_percentage < 100) {
    g.slots.push_back({"SLOT 2", 2, "slot-2", 100 - first_percentage, {}, {}, {}, {}});
  }
  return g;
}

std::vector<config::GroupConfig> many_groups(int count, int first_percentage) {
  std::vector<config::GroupConfig> groups;
  groups.reserve(static_cast<std::size_t>(count));
  for (int i = 1; i <= count; ++i) {
    groups.push_back(make_group(i, "g" + std::to_string(i), first_percentage));
  }
  return groups;
}

std::string list_json(const std::vector<config::GroupConfig>& groups) {
  return config::serialize_list(groups);
}

std::string many_groups_json(int count, int first_percentage) {
  return list_json(many_groups(count, first_percentage));
}

}  // namespace mutex_edge::testing
