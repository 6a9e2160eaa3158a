#pragma once
// Groups as load/gen_groups.py makes them, for the benchmarks of a configuration's cost: 2 to
// 20 slots, 3 experiments and 5 individuals a slot, bucketing on device_id.

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "config/model.hpp"

namespace mutex_edge::bench {

/// `count` groups with ids and keys from 1, their salts drawn from `seed`.
inline std::vector<config::GroupConfig> make_groups(std::size_t count, std::uint32_t seed) {
  std::mt19937 rng{seed};
  std::vector<config::GroupConfig> groups;
  groups.reserve(count);
  for (std::size_t g = 1; g <= count; ++g) {
    config::GroupConfig group;
    group.id = static_cast<std::int64_t>(g);
    group.project_id = 5000 + static_cast<std::int64_t>(g % 7);
    group.name = "Mutex group " + std::to_string(g);
    group.key = "group-" + std::to_string(g);
    group.description = "generated group " + std::to_string(g);
    group.evaluation_mode = g % 2 != 0 ? "local" : "remote";
    group.bucketing_key = "device_id";
    group.bucketing_salt = "s" + std::to_string(rng());
    const int slots = 2 + static_cast<int>(rng() % 19);
    const int each = 100 / slots;
    for (int s = 1; s <= slots; ++s) {
      config::SlotConfig slot;
      slot.name = "SLOT " + std::to_string(s);
      slot.index = s;
      slot.variant_key = "slot-" + std::to_string(s);
      slot.percentage = s == slots ? 100 - each * (slots - 1) : each;
      for (int e = 0; e < 3; ++e) {
        slot.experiments.push_back(static_cast<std::int64_t>(g) * 1000 + s * 10 + e);
      }
      for (int i = 0; i < 5; ++i) {
        slot.individuals.push_back("user-" + std::to_string(g) + "-" + std::to_string(s) + "-" +
                                   std::to_string(i) + "@example.com");
      }
      group.slots.push_back(std::move(slot));
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

}  // namespace mutex_edge::bench
