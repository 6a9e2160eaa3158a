#include "cache/snapshot.hpp"

#include "config/serialize.hpp"

namespace mutex_edge::cache {

std::uint64_t fnv1a64(std::string_view data) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : data) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

eval::CompiledGroup compile_group(const config::GroupConfig& group) {
  std::vector<eval::SlotDef> slots;
  slots.reserve(group.slots.size());
  for (const config::SlotConfig& slot : group.slots) {
    slots.push_back({slot.index, slot.percentage, slot.individuals, slot.cohorts});
  }
  return eval::CompiledGroup::compile({group.bucketing_key, group.bucketing_salt, slots});
}

std::unique_ptr<const Snapshot> Snapshot::build(std::vector<config::GroupConfig> groups,
                                                std::uint64_t version, SnapshotOrigin origin,
                                                std::vector<config::ConfigError>& rejected) {
  std::unique_ptr<Snapshot> snapshot{new Snapshot};
  snapshot->version_ = version;
  snapshot->origin_ = std::move(origin);
  snapshot->groups_.reserve(groups.size());
  snapshot->compiled_.reserve(groups.size());
  for (std::size_t position = 0; position < groups.size(); ++position) {
    config::GroupConfig& group = groups[position];
    if (auto it = snapshot->by_key_.find(group.key); it != snapshot->by_key_.end()) {
      rejected.push_back(
          {config::Problem::kDuplicate, config::describe_group(position, group), "key",
           "is already used by group id " + std::to_string(snapshot->groups_[it->second].id) +
               "; keys must be unique, the first group keeps it"});
      continue;
    }
    if (auto it = snapshot->by_id_.find(group.id); it != snapshot->by_id_.end()) {
      rejected.push_back({config::Problem::kDuplicate, config::describe_group(position, group),
                          "id",
                          "is already used by group key \"" + snapshot->groups_[it->second].key +
                              "\"; ids must be unique, the first group keeps it"});
      continue;
    }
    const std::size_t index = snapshot->groups_.size();
    snapshot->compiled_.push_back(compile_group(group));
    snapshot->by_key_.emplace(group.key, index);
    snapshot->by_id_.emplace(group.id, index);
    snapshot->groups_.push_back(std::move(group));
  }
  snapshot->content_hash_ = fnv1a64(config::serialize_list(snapshot->groups_));
  return snapshot;
}

std::optional<std::size_t> Snapshot::find_key(std::string_view key) const noexcept {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? std::nullopt : std::optional{it->second};
}

std::optional<std::size_t> Snapshot::find_id(std::int64_t id) const noexcept {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? std::nullopt : std::optional{it->second};
}

void Snapshot::select(std::optional<std::span<const std::string_view>> keys,
                      std::vector<std::size_t>& groups,
                      std::vector<std::string_view>& unknown) const {
  groups.clear();
  unknown.clear();
  if (!keys) {
    for (std::size_t i = 0; i < groups_.size(); ++i) {
      groups.push_back(i);
    }
    return;
  }
  for (std::string_view key : *keys) {
    if (auto i = find_key(key)) {
      groups.push_back(*i);
    } else {
      unknown.push_back(key);
    }
  }
}

}  // namespace mutex_edge::cache
