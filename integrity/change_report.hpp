#pragma once

#include <string>

#include "integrity/change.hpp"

#include "common/json_writer.hpp"

namespace mutex_edge::integrity {

/// A share (0..1) as a percentage with four decimals: "10.0000%".
[[nodiscard]] std::string percent(double share);

/// One group's change as a JSON object (`mutex-edge diff --json`, /status `lastChange`):
/// mutex, change, rerandomized, movedShare (and movedHashes of 2^32 when exact), between,
/// entered, left, unbucketedUsersMove, individuals and cohorts {added, removed, moved}, fields.
void write_group_change(common::JsonWriter& w, const integrity::GroupChange& change);

}  // namespace mutex_edge::integrity
