#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "serving/routes.hpp"

#include "cache/cohort_members.hpp"
#include "cache/provenance.hpp"
#include "metrics/cells.hpp"

namespace mutex_edge::serving {

/// Status codes counted by name; any other is counted as "other".
inline constexpr std::array<int, 11> kStatusCodes = {200, 304, 400, 401, 404, 405,
                                                     413, 415, 431, 500, 503};

/// How one group's assignments are counted in a snapshot: by slot, by group (slot="(any)"), in
/// the one series of every group beyond --assignment-metrics-max-series (group="(other)"), or
/// not at all.
enum class CountLevel : std::uint8_t { kSlot, kGroup, kOther, kOff };
inline constexpr std::array kCountLevels = {CountLevel::kSlot, CountLevel::kGroup,
                                            CountLevel::kOther, CountLevel::kOff};
[[nodiscard]] std::string_view to_string(CountLevel level) noexcept;

/// One group's moved share after a configuration change (mutex_edge_config_change_moved_ratio).
struct MovedShare {
  std::string_view group;
  double moved = 0;
};

/// Most series of mutex_edge_config_change_moved_ratio: beyond it, the series of the group
/// changed least recently goes first.
inline constexpr std::size_t kMaxMovedRatioSeries = 1000;

/// Every metric of mutex-edge, each series made at startup from our own vocabularies (routes,
/// source kinds, poll outcomes) or from the configuration (groups and slots). Data-plane series
/// are per-worker cells summed when scraped; control-plane series are prometheus-cpp's, kept in
/// edge_metrics.cpp.
class EdgeMetrics {
 public:
  /// `max_assignment_series` bounds mutex_edge_assignments_total's series (one of them is the
  /// shared "(other)" series).
  EdgeMetrics(std::size_t workers, std::size_t max_assignment_series = 2000);
  ~EdgeMetrics();
  EdgeMetrics(const EdgeMetrics&) = delete;
  EdgeMetrics& operator=(const EdgeMetrics&) = delete;

  // Data plane: called by `worker`'s thread only.
  void request(std::size_t worker, Route route, int status,
               std::chrono::steady_clock::duration took) noexcept;
  void assignment(std::size_t worker, metrics::Cell cell) noexcept {
    assignments_.add(worker, cell);
  }
  void connection_opened() noexcept;
  void connection_closed() noexcept;

  /// The counters of one group's assignments at `level`, appended to `cells`: one per slot
  /// position then one for "no slot" (kSlot), or one for all (the others). Returns the level
  /// used: kOther when the series cap leaves no room. Any thread.
  CountLevel assignment_cells(CountLevel level, std::string_view group,
                              std::span<const std::string_view> slots,
                              std::vector<metrics::Cell>& cells);
  [[nodiscard]] const metrics::CounterCells& assignments() const noexcept { return assignments_; }
  /// The served snapshot counts `groups[level]` groups at each level.
  void assignment_levels(const std::array<std::size_t, kCountLevels.size()>& groups);

  // Control plane.
  /// What readiness and staleness follow (mutex_edge_ready, read when scraped, and
  /// mutex_edge_config_max_staleness_seconds): set once, before the first scrape.
  void readiness(std::function<bool()> ready, std::chrono::steady_clock::duration max_staleness);
  void config_load(cache::SourceKind source, bool success);
  /// The served configuration changed or was confirmed fresh at `fresh_at`.
  void config_served(std::uint64_t version, std::size_t groups, std::size_t rejected_groups,
                     std::chrono::system_clock::time_point fresh_at);
  void poll_finished(const cache::PollReport& report);
  /// A swap served a configuration the chain's origin gave `seconds` ago
  /// (mutex_edge_config_propagation_seconds). The sources' thread.
  void config_propagated(double seconds);
  /// The served configuration was fetched from the origin at `origin_at`
  /// (mutex_edge_config_origin_age_seconds).
  void config_origin(std::chrono::system_clock::time_point origin_at);
  /// A watch request was held (true) or answered (false). Any thread.
  void watcher(bool held) noexcept;
  /// A snapshot was built in `took`, compiling and reusing as `stats` says.
  void snapshot_built(std::chrono::steady_clock::duration took, std::size_t compiled,
                      std::size_t reused);

  /// After a swap: mutex_edge_config_change_moved_ratio{group} of each changed group is set
  /// (made when new; of more than kMaxMovedRatioSeries groups, the largest shares), and the
  /// series of groups no longer served are removed. The sources' thread only.
  void config_change(std::span<const MovedShare> changed, std::span<const std::string> removed);

  /// Cohort sync: one download attempt ended with `result` ("updated", "not_modified",
  /// "too_large", "failed"); then the referenced cohorts by status and their members.
  void cohort_poll(std::string_view result);
  void cohorts(const cache::CohortTable& table);

  /// Every series in the Prometheus text format.
  [[nodiscard]] std::string render() const;

 private:
  struct Control;  // the control-plane series

  metrics::CounterCells requests_;     // {code, route}
  metrics::HistogramCells latency_;    // {route}
  metrics::CounterCells assignments_;  // {group, slot}
  metrics::Cell other_cell_;
  std::unique_ptr<Control> control_;
};

}  // namespace mutex_edge::serving
