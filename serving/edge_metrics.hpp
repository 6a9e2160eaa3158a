#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "serving/routes.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "cache/cohort_members.hpp"
#include "cache/provenance.hpp"
#include "metrics/cells.hpp"
#include "metrics/exposition.hpp"

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
/// are per-worker cells summed when scraped; control-plane series are prometheus-cpp's.
class EdgeMetrics {
 public:
  /// `max_assignment_series` bounds mutex_edge_assignments_total's series (one of them is the
  /// shared "(other)" series).
  EdgeMetrics(std::size_t workers, std::size_t max_assignment_series = 2000);
  EdgeMetrics(const EdgeMetrics&) = delete;
  EdgeMetrics& operator=(const EdgeMetrics&) = delete;

  // Data plane: called by `worker`'s thread only.
  void request(std::size_t worker, Route route, int status,
               std::chrono::steady_clock::duration took) noexcept;
  void assignment(std::size_t worker, metrics::Cell cell) noexcept {
    assignments_.add(worker, cell);
  }
  void connection_opened() noexcept { open_connections_.Increment(); }
  void connection_closed() noexcept { open_connections_.Decrement(); }

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
  prometheus::Registry registry_;
  metrics::CounterCells requests_;     // {code, route}
  metrics::HistogramCells latency_;    // {route}
  metrics::CounterCells assignments_;  // {group, slot}
  metrics::CallbackGauge age_;
  metrics::CallbackGauge origin_age_;
  prometheus::Gauge& open_connections_;
  std::vector<prometheus::Counter*> loads_;  // [source kind][success, failure]
  prometheus::Gauge& config_version_;
  prometheus::Gauge& groups_loaded_;
  prometheus::Gauge& groups_rejected_;
  std::vector<prometheus::Counter*> polls_;  // by cache::PollOutcome
  prometheus::Histogram& poll_duration_;
  prometheus::Counter& pages_;
  prometheus::Gauge& last_success_;
  prometheus::Histogram& build_duration_;
  prometheus::Counter& groups_compiled_;
  prometheus::Counter& groups_reused_;
  prometheus::Gauge& assignment_series_;
  prometheus::Histogram& propagation_;
  prometheus::Gauge& watchers_;
  std::vector<prometheus::Gauge*> assignment_levels_;  // by CountLevel
  metrics::Cell other_cell_;
  struct MovedSeries {
    prometheus::Gauge* gauge;
    std::uint64_t changed_at;  // the change that last set it
  };
  prometheus::Family<prometheus::Gauge>& moved_ratio_;
  std::unordered_map<std::string, MovedSeries> moved_series_;
  std::uint64_t changes_ = 0;
  std::atomic<std::int64_t> fresh_at_ms_{0};
  std::atomic<std::int64_t> origin_at_ms_{0};
  prometheus::Family<prometheus::Counter>& cohort_polls_ =
      prometheus::BuildCounter()
          .Name("mutex_edge_cohort_polls_total")
          .Help("Cohort downloads by result (updated, not_modified, too_large, failed)")
          .Register(registry_);
  prometheus::Family<prometheus::Gauge>& cohorts_ =
      prometheus::BuildGauge()
          .Name("mutex_edge_cohorts")
          .Help("Cohorts referenced by served slots, by status (pending, ready, too_large)")
          .Register(registry_);
  prometheus::Gauge& cohort_members_ = prometheus::BuildGauge()
                                           .Name("mutex_edge_cohort_members")
                                           .Help("Members of the served cohorts, all together")
                                           .Register(registry_)
                                           .Add({});
};

}  // namespace mutex_edge::serving
