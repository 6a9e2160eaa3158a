#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "cache/source.hpp"
#include "cache/upstream_source.hpp"
#include "metrics/cells.hpp"
#include "metrics/exposition.hpp"
#include "proxy/routes.hpp"

namespace mutex_edge::proxy {

/// Status codes counted by name; any other is counted as "other".
inline constexpr std::array<int, 11> kStatusCodes = {200, 304, 400, 401, 404, 405,
                                                     413, 415, 431, 500, 503};

/// Every metric of mutex-edge, each series made at startup from our own vocabularies (routes,
/// source kinds, poll outcomes) or from the configuration (groups and slots). Data-plane series
/// are per-worker cells summed when scraped; control-plane series are prometheus-cpp's.
class EdgeMetrics {
 public:
  explicit EdgeMetrics(std::size_t workers);
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

  /// The assignment counter of (group key, slot label); made on first use. Control thread.
  [[nodiscard]] metrics::Cell assignment_cell(std::string_view group, std::string_view slot);
  [[nodiscard]] const metrics::CounterCells& assignments() const noexcept { return assignments_; }

  // Control plane.
  void config_load(cache::SourceKind source, bool success);
  /// The served configuration changed or was confirmed fresh at `fresh_at`.
  void config_served(std::uint64_t version, std::size_t groups, std::size_t rejected_groups,
                     std::chrono::system_clock::time_point fresh_at);
  void poll_finished(const cache::PollReport& report);

  /// Every series in the Prometheus text format.
  [[nodiscard]] std::string render() const;

 private:
  prometheus::Registry registry_;
  metrics::CounterCells requests_;     // {code, route}
  metrics::HistogramCells latency_;    // {route}
  metrics::CounterCells assignments_;  // {group, slot}
  metrics::CallbackGauge age_;
  prometheus::Gauge& open_connections_;
  std::vector<prometheus::Counter*> loads_;  // [source kind][success, failure]
  prometheus::Gauge& config_version_;
  prometheus::Gauge& groups_loaded_;
  prometheus::Gauge& groups_rejected_;
  std::vector<prometheus::Counter*> polls_;  // by cache::PollOutcome
  prometheus::Histogram& poll_duration_;
  prometheus::Counter& pages_;
  prometheus::Gauge& last_success_;
  std::atomic<std::int64_t> fresh_at_ms_{0};
};

}  // namespace mutex_edge::proxy
