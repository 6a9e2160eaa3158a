#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "cache/json_writer.hpp"
#include "cache/snapshot.hpp"
#include "eval/user.hpp"

namespace mutex_edge::proxy {

/// Writes the members of one assignment answer (design.md section 3) into an open object:
/// `"version": N, "assignments": {...}` and, when some requested keys are not in the snapshot,
/// `"unknown": [...]`. `groups` are positions in `snapshot.groups()`; `explain` adds the hash,
/// `d` and the slot bounds.
void write_assignments(cache::JsonWriter& writer, const cache::Snapshot& snapshot,
                       const eval::User& user, std::span<const std::size_t> groups,
                       std::span<const std::string_view> unknown, bool explain);

}  // namespace mutex_edge::proxy
