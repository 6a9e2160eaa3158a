#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>

#include "cache/model.hpp"
#include "mgmt/api_error.hpp"

namespace mutex_edge::mgmt {

/// The body of POST /api/1/mutexes, decoded and type-checked. Optional string fields that were
/// absent (or null) are left empty for the caller to default; given, they are never empty.
/// Slots carry their position as index (from 1) with the default name and variant key.
/// Cross-field rules (percentage sum, evaluation mode) are cache::validate_group's.
struct CreateRequest {
  cache::GroupConfig group;
};

/// The body of PATCH /api/1/mutexes/{id}. With `archive` true nothing else is read.
struct GroupEdit {
  std::optional<bool> archive;
  std::optional<std::string> name;
  std::optional<std::string> description;
};

/// The body of PATCH /api/1/mutexes/{id}/slots/{slotIndex}: each list given replaces the
/// slot's list (null clears it), each list absent is kept.
struct SlotEdit {
  std::optional<std::vector<std::int64_t>> experiments;
  std::optional<std::vector<std::int64_t>> holdouts;
  std::optional<std::vector<std::string>> individuals;
  std::optional<std::vector<std::string>> cohorts;
};

[[nodiscard]] boost::system::result<CreateRequest, ApiError> decode_create(
    std::string_view body, const cache::ConfigLimits& limits);
[[nodiscard]] boost::system::result<GroupEdit, ApiError> decode_group_edit(
    std::string_view body, const cache::ConfigLimits& limits);
[[nodiscard]] boost::system::result<SlotEdit, ApiError> decode_slot_edit(
    std::string_view body, const cache::ConfigLimits& limits);

/// An id from a path segment or a query: decimal digits only, fits in int64.
[[nodiscard]] std::optional<std::int64_t> parse_id(std::string_view text);

}  // namespace mutex_edge::mgmt
