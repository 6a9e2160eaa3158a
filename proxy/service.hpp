#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cache/snapshot.hpp"
#include "cache/snapshot_store.hpp"
#include "cache/source.hpp"
#include "config/parser.hpp"
#include "metrics/cells.hpp"
#include "proxy/edge_metrics.hpp"
#include "proxy/settings.hpp"

namespace mutex_edge::proxy {

/// What the workers read: a snapshot plus what serving it needs, all immutable.
struct ServingState {
  std::unique_ptr<const cache::Snapshot> snapshot;
  std::vector<std::string> group_json;    // each group in the upstream's own shape
  std::vector<std::size_t> cell_offsets;  // group i's counters start at cells[cell_offsets[i]]
  std::vector<metrics::Cell> cells;       // per slot position, then one for "no slot"
  std::string etag;                       // "\"<content hash>\""

  [[nodiscard]] metrics::Cell cell(std::size_t group, int slot) const noexcept {
    const std::size_t slots = snapshot->compiled(group).slot_count();
    return cells[cell_offsets[group] + (slot < 0 ? slots : static_cast<std::size_t>(slot))];
  }
};

/// The served configuration and everything said about it: publication (one thread at a time),
/// readiness and /status (any thread).
class Service {
 public:
  using Clock = std::chrono::system_clock;

  /// `retire` disposes of replaced states (see SnapshotStore); by default they are deleted by
  /// whichever thread drops the last reference.
  Service(const Settings& settings, EdgeMetrics& metrics,
          cache::SnapshotStore<ServingState>::Retire retire = {});
  ~Service();

  /// A source delivered a parsed configuration, confirmed by its source at `fetched_at`.
  /// Publishes a new snapshot when the content differs from the served one (returns true);
  /// otherwise only records that the source confirmed it.
  bool apply(config::ListPage page, cache::SourceKind kind, const std::string& source,
             Clock::time_point fetched_at = Clock::now());
  /// The source was checked and nothing changed.
  void record_unchanged();
  /// Loading from the source failed (`result` says how, e.g. auth_error): the served snapshot
  /// stays, the failure is reported in the log, /status and metrics.
  void record_failure(cache::SourceKind kind, const std::string& source, const std::string& error,
                      std::string_view result = "failed");

  [[nodiscard]] const cache::SnapshotStore<ServingState>& store() const noexcept { return store_; }
  [[nodiscard]] bool has_snapshot() const noexcept { return store_.version() != 0; }
  /// A snapshot is served, it is not stale, and the process is not shutting down.
  [[nodiscard]] bool ready() const;
  [[nodiscard]] std::string status_json() const;

  void begin_drain() noexcept { draining_.store(true, std::memory_order_relaxed); }
  [[nodiscard]] bool draining() const noexcept { return draining_.load(std::memory_order_relaxed); }

 private:
  const Settings& settings_;
  EdgeMetrics& metrics_;
  cache::SnapshotStore<ServingState> store_;
  std::atomic<bool> draining_{false};
  const Clock::time_point started_at_ = Clock::now();

  mutable std::mutex mutex_;  // guards what follows; never taken on the assignment path
  std::uint64_t next_version_ = 1;
  std::uint64_t content_hash_ = 0;
  std::size_t groups_ = 0;
  std::string source_;
  Clock::time_point loaded_at_{};
  Clock::time_point fresh_at_{};
  std::string last_result_ = "none";
  std::string last_error_;
  Clock::time_point last_attempt_{};
  std::uint64_t consecutive_failures_ = 0;
  std::vector<std::string> rejected_;  // the first problems, for /status
  std::size_t rejected_groups_ = 0;
};

}  // namespace mutex_edge::proxy
