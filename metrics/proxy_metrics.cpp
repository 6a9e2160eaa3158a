#include "metrics/proxy_metrics.hpp"

#include <prometheus/text_serializer.h>

namespace mutex_edge::metrics {
namespace {

std::size_t status_slot(int status) noexcept {
  for (std::size_t i = 0; i < kStatusCodes.size(); ++i) {
    if (kStatusCodes[i] == status) {
      return i;
    }
  }
  return kStatusCodes.size();
}

std::size_t latency_bucket(std::chrono::nanoseconds latency) noexcept {
  const double seconds = std::chrono::duration<double>(latency).count();
  for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    if (seconds <= kLatencyBuckets[i]) {
      return i;
    }
  }
  return kLatencyBuckets.size();
}

prometheus::ClientMetric::Label label(std::string name, std::string value) {
  return {std::move(name), std::move(value)};
}

}  // namespace

std::string_view route_label(Route route) noexcept {
  switch (route) {
    case Route::kAssign:
      return "/assign";
    case Route::kAssignBatch:
      return "/assign/batch";
    case Route::kMutexList:
      return "/api/1/mutexes";
    case Route::kMutexGet:
      return "/api/1/mutexes/{id}";
    case Route::kHealthz:
      return "/healthz";
    case Route::kReadyz:
      return "/readyz";
    case Route::kStatus:
      return "/status";
    case Route::kMetrics:
      return "/metrics";
    case Route::kUnknown:
      return "unknown";
  }
  return "unknown";
}

WorkerShard::WorkerShard() = default;

WorkerShard::~WorkerShard() {
  for (auto& chunk : chunks_) {
    delete[] chunk.load(std::memory_order_relaxed);
  }
}

void WorkerShard::record_request(Route route, int status,
                                 std::chrono::nanoseconds latency) noexcept {
  const auto r = static_cast<std::size_t>(route);
  bump(requests_[r * kStatusSlots + status_slot(status)]);
  RouteLatency& l = latency_[r];
  bump(l.buckets[latency_bucket(latency)]);
  bump(l.sum_ns, static_cast<std::uint64_t>(latency.count()));
}

void WorkerShard::record_assignment(Cell cell) noexcept {
  const std::size_t index = cell >> kChunkBits;
  if (index >= kMaxChunks) {
    return;  // kNoCell, or beyond the cap assignment_cell enforces
  }
  std::atomic<std::uint64_t>* chunk = chunks_[index].load(std::memory_order_acquire);
  if (chunk == nullptr) {
    // Once per 1024 cells per worker; value-initialised to zero.
    chunk = new (std::nothrow) std::atomic<std::uint64_t>[kChunkSize]();
    if (chunk == nullptr) {
      return;
    }
    chunks_[index].store(chunk, std::memory_order_release);
  }
  bump(chunk[cell & (kChunkSize - 1)]);
}

ProxyMetrics::ProxyMetrics(prometheus::Registry& registry, std::size_t workers)
    : registry_{registry},
      config_loads_{prometheus::BuildCounter()
                        .Name("mutex_edge_config_loads_total")
                        .Help("Configuration load attempts by source and result")
                        .Register(registry)},
      config_version_{prometheus::BuildGauge()
                          .Name("mutex_edge_config_version")
                          .Help("Version of the served configuration snapshot (0: none yet)")
                          .Register(registry)
                          .Add({})},
      groups_loaded_{prometheus::BuildGauge()
                         .Name("mutex_edge_config_groups")
                         .Help("Mutex groups in the served configuration")
                         .Register(registry)
                         .Add({})},
      groups_rejected_{prometheus::BuildGauge()
                           .Name("mutex_edge_config_rejected_groups")
                           .Help("Groups left out of the served configuration as invalid")
                           .Register(registry)
                           .Add({})} {
  shards_.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) {
    shards_.push_back(std::make_unique<WorkerShard>());
  }
  for (std::string_view source : {"file", "upstream", "persisted"}) {
    for (std::string_view result : {"success", "failure"}) {
      config_loads_.Add({{"source", std::string{source}}, {"result", std::string{result}}});
    }
  }
}

ProxyMetrics::~ProxyMetrics() = default;

Cell ProxyMetrics::assignment_cell(std::string_view group, std::string_view slot) {
  std::lock_guard lock{cells_mutex_};
  for (std::size_t i = 0; i < cell_labels_.size(); ++i) {
    if (cell_labels_[i].first == group && cell_labels_[i].second == slot) {
      return static_cast<Cell>(i);
    }
  }
  if (cell_labels_.size() >= WorkerShard::kMaxChunks * WorkerShard::kChunkSize) {
    return kNoCell;
  }
  cell_labels_.emplace_back(group, slot);
  return static_cast<Cell>(cell_labels_.size() - 1);
}

void ProxyMetrics::config_load(std::string_view source, bool success) {
  config_loads_.Add({{"source", std::string{source}}, {"result", success ? "success" : "failure"}})
      .Increment();
}

void ProxyMetrics::config_served(std::uint64_t version, std::size_t groups,
                                 std::size_t rejected_groups,
                                 std::chrono::system_clock::time_point fresh_at) {
  config_version_.Set(static_cast<double>(version));
  groups_loaded_.Set(static_cast<double>(groups));
  groups_rejected_.Set(static_cast<double>(rejected_groups));
  fresh_at_ms_.store(std::chrono::duration_cast<std::chrono::milliseconds>(
                         fresh_at.time_since_epoch())
                         .count(),
                     std::memory_order_relaxed);
}

std::vector<prometheus::MetricFamily> ProxyMetrics::Collect() const {
  std::vector<prometheus::MetricFamily> families;

  prometheus::MetricFamily requests{"mutex_edge_http_requests_total",
                                    "HTTP requests by route and status code",
                                    prometheus::MetricType::Counter,
                                    {}};
  prometheus::MetricFamily latency{"mutex_edge_http_request_duration_seconds",
                                   "Time from a complete request to its response being queued",
                                   prometheus::MetricType::Histogram,
                                   {}};
  for (std::size_t r = 0; r < kRouteCount; ++r) {
    const std::string route{route_label(static_cast<Route>(r))};
    for (std::size_t s = 0; s < kStatusSlots; ++s) {
      std::uint64_t total = 0;
      for (const auto& shard : shards_) {
        total += shard->requests_[r * kStatusSlots + s].load(std::memory_order_relaxed);
      }
      if (total == 0) {
        continue;
      }
      prometheus::ClientMetric metric;
      metric.label = {label("code", s < kStatusCodes.size() ? std::to_string(kStatusCodes[s])
                                                             : "other"),
                      label("route", route)};
      metric.counter.value = static_cast<double>(total);
      requests.metric.push_back(std::move(metric));
    }

    prometheus::ClientMetric metric;
    metric.label = {label("route", route)};
    std::uint64_t cumulative = 0;
    std::uint64_t sum_ns = 0;
    for (std::size_t b = 0; b <= kLatencyBuckets.size(); ++b) {
      for (const auto& shard : shards_) {
        cumulative += shard->latency_[r].buckets[b].load(std::memory_order_relaxed);
      }
      metric.histogram.bucket.push_back(
          {cumulative, b < kLatencyBuckets.size() ? kLatencyBuckets[b]
                                                  : std::numeric_limits<double>::infinity()});
    }
    for (const auto& shard : shards_) {
      sum_ns += shard->latency_[r].sum_ns.load(std::memory_order_relaxed);
    }
    if (cumulative == 0) {
      continue;
    }
    metric.histogram.sample_count = cumulative;
    metric.histogram.sample_sum = static_cast<double>(sum_ns) / 1e9;
    latency.metric.push_back(std::move(metric));
  }
  families.push_back(std::move(requests));
  families.push_back(std::move(latency));

  prometheus::MetricFamily assignments{"mutex_edge_assignments_total",
                                       "Assignments by group and slot (\"none\": no slot)",
                                       prometheus::MetricType::Counter,
                                       {}};
  {
    std::lock_guard lock{cells_mutex_};
    for (std::size_t cell = 0; cell < cell_labels_.size(); ++cell) {
      std::uint64_t total = 0;
      for (const auto& shard : shards_) {
        const auto* chunk =
            shard->chunks_[cell >> WorkerShard::kChunkBits].load(std::memory_order_acquire);
        if (chunk != nullptr) {
          total += chunk[cell & (WorkerShard::kChunkSize - 1)].load(std::memory_order_relaxed);
        }
      }
      prometheus::ClientMetric metric;
      metric.label = {label("group", cell_labels_[cell].first),
                      label("slot", cell_labels_[cell].second)};
      metric.counter.value = static_cast<double>(total);
      assignments.metric.push_back(std::move(metric));
    }
  }
  families.push_back(std::move(assignments));

  prometheus::MetricFamily connections{"mutex_edge_open_connections",
                                       "Client connections currently open",
                                       prometheus::MetricType::Gauge,
                                       {}};
  connections.metric.emplace_back().gauge.value =
      static_cast<double>(open_connections_.load(std::memory_order_relaxed));
  families.push_back(std::move(connections));

  prometheus::MetricFamily age{"mutex_edge_config_age_seconds",
                               "Seconds since the served configuration was last loaded or "
                               "confirmed unchanged at its source",
                               prometheus::MetricType::Gauge,
                               {}};
  const std::int64_t fresh_ms = fresh_at_ms_.load(std::memory_order_relaxed);
  if (fresh_ms != 0) {
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    age.metric.emplace_back().gauge.value = static_cast<double>(now_ms - fresh_ms) / 1000.0;
  }
  families.push_back(std::move(age));
  return families;
}

std::string ProxyMetrics::render() const { return render_text({&registry_, this}); }

std::string render_text(std::initializer_list<const prometheus::Collectable*> sources) {
  std::vector<prometheus::MetricFamily> families;
  for (const prometheus::Collectable* source : sources) {
    auto collected = source->Collect();
    std::move(collected.begin(), collected.end(), std::back_inserter(families));
  }
  return prometheus::TextSerializer{}.Serialize(families);
}

}  // namespace mutex_edge::metrics
