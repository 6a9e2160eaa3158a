#pragma once
// Group generators for tests: valid groups in the model and in the list endpoint's JSON.

#include <cstdint>
#include <string>
#include <vector>

#include "config/model.hpp"

namespace mutex_edge::testing {

/// A valid group: id `id`, key `key`, bucketing on device_id with `salt` ("salt<id>" when
/// empty). With `first_percentage` under 100 it has two slots (first_percentage and the rest),
/// otherwise one of 100%. Slot 1 holds experiment `id`.
[[nodiscard]] config::GroupConfig make_group(std::int64_t id, std::string key,
                                             int first_percentage = 50, std::string salt = {});

/// `count` groups made by make_group, ids 1..count and keys g1..gN.
[[nodiscard]] std::vector<config::GroupConfig> many_groups(int count, int first_percentage = 50);

/// The list endpoint's JSON (also a config file, a seed or a page) of `groups`.
[[nodiscard]] std::string list_json(const std::vector<config::GroupConfig>& groups);

/// list_json(many_groups(count, first_percentage)).
[[nodiscard]] std::string many_groups_json(int count, int first_percentage = 50);

}  // namespace mutex_edge::testing
