#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>

#include "config/error.hpp"
#include "config/model.hpp"

namespace mutex_edge::config {

// Decoders of the Management API's write requests (design.md section 1). They stop at the first
// problem, which names the field; cross-field rules are validate_group's.

/// POST /api/1/mutexes. Optional strings that were absent or null are left empty for the caller
/// to default (given, they are never empty). Slots carry their position as index (from 1) with
/// the default name and variant key.
[[nodiscard]] boost::system::result<GroupConfig, ConfigError> decode_create(
    std::string_view body, const ConfigLimits& limits);

/// PATCH /api/1/mutexes/{id}. With `archive` true nothing else is read.
struct GroupEdit {
  std::optional<bool> archive;
  std::optional<std::string> name;
  /// Given: the new description, or none (nullopt inside) for a null.
  std::optional<std::optional<std::string>> description;
};
[[nodiscard]] boost::system::result<GroupEdit, ConfigError> decode_group_edit(
    std::string_view body, const ConfigLimits& limits);

/// PATCH /api/1/mutexes/{id}/slots/{slotIndex}: each list given replaces the slot's list (null
/// clears it), each list absent is kept.
struct SlotEdit {
  std::optional<std::vector<std::int64_t>> experiments;
  std::optional<std::vector<std::int64_t>> holdouts;
  std::optional<std::vector<std::string>> individuals;
  std::optional<std::vector<std::string>> cohorts;
};
[[nodiscard]] boost::system::result<SlotEdit, ConfigError> decode_slot_edit(
    std::string_view body, const ConfigLimits& limits);

}  // namespace mutex_edge::config
