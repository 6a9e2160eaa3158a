#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "cache/snapshot.hpp"
#include "common/json_writer.hpp"
#include "eval/user.hpp"

namespace mutex_edge::wire {

/// Told of every assignment made while writing an answer (e.g. to count it).
struct AssignObserver {
  void (*on_assign)(void* context, std::size_t group, int slot) = nullptr;
  void* context = nullptr;
};

/// Writes `"assignments": {"<key>": {"slot": ..., "reason": ..., "index": ..., "experiments":
/// [...], "holdouts": [...]}, ...}` (design.md section 3) into an open object. `groups` are
/// positions in the snapshot; `explain` adds the hash, `d` and the slot bounds.
void write_assignment_map(common::JsonWriter& writer, const cache::Snapshot& snapshot,
                          const eval::User& user, std::span<const std::size_t> groups, bool explain,
                          AssignObserver observer = {});

/// Writes `"unknown": [...]` when some requested keys are not in the snapshot.
void write_unknown(common::JsonWriter& writer, std::span<const std::string_view> unknown);

/// One whole answer's members: version, assignments and unknown keys.
void write_assignments(common::JsonWriter& writer, const cache::Snapshot& snapshot,
                       const eval::User& user, std::span<const std::size_t> groups,
                       std::span<const std::string_view> unknown, bool explain,
                       AssignObserver observer = {});

}  // namespace mutex_edge::wire
