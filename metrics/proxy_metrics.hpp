#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace mutex_edge::metrics {

/// The routes we count requests for. Labels come from this list, never from the request.
enum class Route : std::uint8_t {
  kAssign,
  kAssignBatch,
  kMutexList,
  kMutexGet,
  kHealthz,
  kReadyz,
  kStatus,
  kMetrics,
  kUnknown,
};
inline constexpr std::size_t kRouteCount = 9;
[[nodiscard]] std::string_view route_label(Route route) noexcept;

/// Status codes counted by name; any other lands in "other".
inline constexpr std::array<int, 11> kStatusCodes = {200, 304, 400, 401, 404, 405,
                                                     413, 415, 431, 500, 503};
inline constexpr std::size_t kStatusSlots = kStatusCodes.size() + 1;

/// Latency buckets in seconds, 50 us to 1 s.
inline constexpr std::array<double, 14> kLatencyBuckets = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
    0.01,    0.025,  0.05,    0.1,    0.25,  0.5,    1.0};

/// Identifies one (group, slot) assignment counter; see ProxyMetrics::assignment_cell.
using Cell = std::uint32_t;
inline constexpr Cell kNoCell = 0xffffffff;

/// Counters written by exactly one worker thread, read by the scraper. Each write is a relaxed
/// load and store of the worker's own atomics: no lock, no contended cache line.
class WorkerShard {
 public:
  WorkerShard();
  ~WorkerShard();
  WorkerShard(const WorkerShard&) = delete;
  WorkerShard& operator=(const WorkerShard&) = delete;

  void record_request(Route route, int status, std::chrono::nanoseconds latency) noexcept;
  void record_assignment(Cell cell) noexcept;

 private:
  friend class ProxyMetrics;
  static constexpr std::size_t kChunkBits = 10;
  static constexpr std::size_t kChunkSize = std::size_t{1} << kChunkBits;
  static constexpr std::size_t kMaxChunks = 512;

  static void bump(std::atomic<std::uint64_t>& counter, std::uint64_t by = 1) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }

  struct RouteLatency {
    std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size() + 1> buckets{};  // last: +Inf
    std::atomic<std::uint64_t> sum_ns{0};
  };

  alignas(64) std::array<std::atomic<std::uint64_t>, kRouteCount * kStatusSlots> requests_{};
  std::array<RouteLatency, kRouteCount> latency_{};
  // Assignment counters in chunks allocated on first use, so the scraper never sees a resize.
  std::array<std::atomic<std::atomic<std::uint64_t>*>, kMaxChunks> chunks_{};
};

/// Every metric of the proxy. Data-plane series live in per-worker shards summed at scrape time;
/// control-plane series are plain prometheus-cpp families in the registry.
class ProxyMetrics : public prometheus::Collectable {
 public:
  ProxyMetrics(prometheus::Registry& registry, std::size_t workers);
  ~ProxyMetrics() override;

  [[nodiscard]] WorkerShard& shard(std::size_t worker) noexcept { return *shards_[worker]; }

  /// The counter for assignments of `group` to `slot` ("none" for no slot), created on first
  /// use. Groups and slots come from configuration, so the series stay bounded. Control thread.
  [[nodiscard]] Cell assignment_cell(std::string_view group, std::string_view slot);

  void connection_opened() noexcept { open_connections_.fetch_add(1, std::memory_order_relaxed); }
  void connection_closed() noexcept { open_connections_.fetch_sub(1, std::memory_order_relaxed); }

  /// A configuration load attempt by `source` ("file", "upstream", "persisted").
  void config_load(std::string_view source, bool success);
  /// The served configuration changed or was confirmed fresh.
  void config_served(std::uint64_t version, std::size_t groups, std::size_t rejected_groups,
                     std::chrono::system_clock::time_point fresh_at);

  std::vector<prometheus::MetricFamily> Collect() const override;

  /// The registry's families and ours in Prometheus text format.
  [[nodiscard]] std::string render() const;

 private:
  prometheus::Registry& registry_;
  std::vector<std::unique_ptr<WorkerShard>> shards_;
  std::atomic<std::int64_t> open_connections_{0};

  mutable std::mutex cells_mutex_;
  std::vector<std::pair<std::string, std::string>> cell_labels_;  // index = Cell

  prometheus::Family<prometheus::Counter>& config_loads_;
  prometheus::Gauge& config_version_;
  prometheus::Gauge& groups_loaded_;
  prometheus::Gauge& groups_rejected_;
  std::atomic<std::int64_t> fresh_at_ms_{0};
};

/// The text exposition (format 0.0.4) of several collectables, e.g. the registry and ProxyMetrics.
[[nodiscard]] std::string render_text(std::initializer_list<const prometheus::Collectable*> sources);

/// The Content-Type that goes with render_text's output.
inline constexpr std::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace mutex_edge::metrics
