#pragma once

#include <string>
#include <vector>

#include <boost/system/result.hpp>

#include "cache/model.hpp"

namespace mutex_edge::mgmt {

/// Reads a seed file in the list endpoint's shape, `{"mutexes": [group, ...]}`. Ids, keys and
/// bucketing salts given are kept; where missing, ids are assigned after the highest given, keys
/// made from the name (unique) and salts drawn at random; bucketingKey defaults to amplitude_id
/// and evaluationMode to remote. Every group must then pass cache::parse_list_page's validation
/// (percentages may sum under 100, as in any served config), and ids and keys must be unique:
/// otherwise the error names the first bad group and field, in one line.
[[nodiscard]] boost::system::result<std::vector<cache::GroupConfig>, std::string> load_seed(
    const std::string& path, std::size_t max_bytes);

}  // namespace mutex_edge::mgmt
