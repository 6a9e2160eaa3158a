#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "config/model.hpp"

namespace mutex_edge::mgmt {

/// Reads a seed file in the list endpoint's shape, `{"mutexes": [group, ...]}`. Ids, keys and
/// bucketing salts given are kept; where missing (or null), ids are assigned after the highest
/// given, keys made from the name (unique) and salts drawn at random; bucketingKey defaults to
/// amplitude_id and evaluationMode to remote. Every group must pass the served configuration's
/// validation (percentages may sum under 100), and ids and keys must be unique: otherwise the
/// error names the first bad group and field, in one line.
[[nodiscard]] common::Result<std::vector<config::GroupConfig>> load_seed(const std::string& path,
                                                                         std::size_t max_bytes);

}  // namespace mutex_edge::mgmt
