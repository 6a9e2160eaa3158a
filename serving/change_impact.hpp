#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "integrity/change.hpp"
#include "serving/edge_metrics.hpp"

#include "common/json_writer.hpp"

namespace mutex_edge::serving {

/// What /status says of the last configuration change (a swap from one snapshot to another).
struct LastChange {
  std::uint64_t from_version = 0;
  std::uint64_t to_version = 0;
  std::chrono::system_clock::time_point at{};
  std::chrono::steady_clock::duration took{};  // comparing the two snapshots
  std::size_t changed = 0;
  std::size_t added = 0;
  std::size_t removed = 0;
  std::size_t unchanged = 0;
  std::size_t moving = 0;                       // groups where some user's slot changes
  std::vector<integrity::GroupChange> largest;  // the largest moved shares, largest first
};

/// How many of the largest moved shares /status shows.
inline constexpr std::size_t kLargestMovesShown = 5;

/// The summary of `change` for /status.
[[nodiscard]] LastChange summarise(const integrity::ConfigChange& change,
                                   std::chrono::system_clock::time_point at,
                                   std::chrono::steady_clock::duration took);

/// /status `lastChange`: null before the first change.
void write_last_change(common::JsonWriter& w, const std::optional<LastChange>& change);

/// Sets mutex_edge_config_change_moved_ratio of the changed groups and removes the series of the
/// groups removed.
void record_change_metrics(EdgeMetrics& metrics, const integrity::ConfigChange& change);

/// The changed groups whose moved share is above `warn_share`, in the change's order.
[[nodiscard]] std::vector<const integrity::GroupChange*> above_warning(
    const integrity::ConfigChange& change, double warn_share);

/// Logs the change: one info line, and a warning for each group of above_warning() (the first
/// few, then a count).
void log_change(const integrity::ConfigChange& change, double warn_share);

}  // namespace mutex_edge::serving
