#pragma once

#include <optional>
#include <span>
#include <string>

#include "cache/json_writer.hpp"
#include "cache/model.hpp"

namespace mutex_edge::cache {

/// Writes a group in the Management API's own shape (design.md section 1).
void write_group(JsonWriter& writer, const GroupConfig& group);

/// `{"mutexes":[...],"nextCursor":...}`: the list endpoint's shape, also our config-file format.
[[nodiscard]] std::string serialize_list(std::span<const GroupConfig> groups,
                                         const std::optional<std::string>& next_cursor = {});

}  // namespace mutex_edge::cache
