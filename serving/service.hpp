#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "serving/change_impact.hpp"
#include "serving/edge_metrics.hpp"
#include "wire/sdk_api.hpp"

#include <boost/asio/any_io_executor.hpp>

#include "cache/cohort_members.hpp"
#include "cache/provenance.hpp"
#include "cache/snapshot.hpp"
#include "cache/snapshot_store.hpp"
#include "common/flags.hpp"
#include "common/json_writer.hpp"
#include "config/parser.hpp"
#include "metrics/cells.hpp"

namespace mutex_edge::serving {

/// What the workers read: a snapshot plus what serving it needs, all immutable.
struct ServingState {
  /// Where group i's assignment counters are: `count` of them from cells[offset] (one per slot
  /// position and one for "no slot"), or one for every answer when count is 1.
  struct GroupCells {
    std::uint32_t offset = 0;
    std::uint32_t count = 1;
    CountLevel level = CountLevel::kOff;
  };

  std::unique_ptr<const cache::Snapshot> snapshot;
  std::vector<GroupCells> group_cells;
  std::vector<metrics::Cell> cells;
  CountLevel level = CountLevel::kSlot;  // what this snapshot asked for, before the cap
  std::array<std::size_t, kCountLevels.size()> groups_at_level{};
  std::string etag;  // "\"<content hash>\""
  // GET /sdk/v2/flags: built with the state once an SDK has asked for flags (until then,
  // Service::sdk_flags builds them on demand), so configurations served to no SDK cost nothing.
  std::shared_ptr<const wire::SdkFlags> sdk_flags;

  [[nodiscard]] metrics::Cell cell(std::size_t group, int slot) const noexcept {
    const GroupCells& g = group_cells[group];
    if (g.count == 1) {
      return cells[g.offset];
    }
    return cells[g.offset + (slot < 0 ? g.count - 1 : static_cast<std::size_t>(slot))];
  }
};

/// How long the last configuration took to load, and what its build did.
struct LoadStats {
  std::chrono::steady_clock::duration read{};   // reading and parsing the source
  std::chrono::steady_clock::duration build{};  // building and publishing the snapshot
  std::size_t compiled = 0;
  std::size_t reused = 0;
  std::size_t known = 0;  // of `reused`: recognised by digest, so not even decoded
  std::size_t snapshot_bytes = 0;
};

/// What --assignment-metrics counts mutex_edge_assignments_total by.
enum class AssignmentMetrics : std::uint8_t { kSlot, kGroup, kOff };

/// How the Service publishes and reports (filled from the flags by proxy/).
struct ServiceOptions {
  std::string config_file;  // named as the source in /status until a source loads
  AssignmentMetrics assignment_metrics = AssignmentMetrics::kSlot;
  std::size_t assignment_metrics_max_series = 2000;
  bool allow_empty_config = false;  // else a listing of no groups keeps the last good config
  // A configuration change moving more than this share of a group's bucketed users to another
  // slot is logged as a warning.
  double warn_moved_share = 0.01;
  // Most watch requests held at once (hold_watcher); 0: none is held (and none is advertised).
  std::size_t max_watchers = 4096;
  common::Duration max_staleness = common::Duration::zero();  // 0: never stale
};

/// The served configuration and everything said about it: publication (one thread at a time),
/// readiness and /status (any thread).
class Service {
 public:
  using Clock = std::chrono::system_clock;

  /// `retire` disposes of replaced states (see SnapshotStore); by default they are deleted by
  /// whichever thread drops the last reference.
  Service(ServiceOptions options, EdgeMetrics& metrics,
          cache::SnapshotStore<ServingState>::Retire retire = {});
  ~Service();

  /// What apply() did with a configuration.
  enum class Applied : std::uint8_t {
    kPublished,  // a new snapshot is served
    kUnchanged,  // the same content as the served one: confirmed fresh
    kRefused,    // no valid group while groups are served (--allow-empty-config): not served
  };
  /// A source delivered a parsed configuration (read and parsed in `read_time`), confirmed by
  /// its source at `fetched_at`. Publishes a new snapshot when the content differs from the
  /// served one; otherwise only records that the source confirmed it. Groups whose content did
  /// not change keep their compiled entries. One caller at a time (the thread the sources run
  /// on): it never blocks readers, /status or /metrics.
  /// `origin`: when the chain's first mutex-edge fetched it from the origin and the depth here
  /// (cache::SnapshotOrigin); unset, `fetched_at` and 0 for a file, 1 for any other source.
  Applied apply(config::ListPage page, cache::SourceKind kind, const std::string& source,
                Clock::time_point fetched_at = Clock::now(),
                std::chrono::steady_clock::duration read_time = {},
                std::optional<cache::ChainOrigin> origin = std::nullopt);
  /// The source was checked and nothing changed.
  void record_unchanged();
  /// Loading from the source failed (`result` says how, e.g. auth_error): the served snapshot
  /// stays, the failure is reported in the log, /status and metrics.
  void record_failure(cache::SourceKind kind, const std::string& source, const std::string& error,
                      std::string_view result = "failed");

  /// Where SDK flags are built on demand (the sources' thread); unset, on the calling thread.
  void set_sdk_builder(boost::asio::any_io_executor executor) {
    sdk_builder_ = std::move(executor);
  }
  /// Calls `done` with the SDK flags of the served state (or of a newer one), on the builder's
  /// thread: at once when they exist, after building them when no SDK asked before. From then
  /// on every new state is published with its flags.
  void sdk_flags(std::function<void(std::shared_ptr<const wire::SdkFlags>)> done);

  /// The cohorts that served slots reference and their members (--cohort-server), read by the
  /// assignment path through a StoreReader; empty without cohort sync.
  [[nodiscard]] const cache::SnapshotStore<cache::CohortTable>& cohort_store() const noexcept {
    return cohorts_;
  }
  /// A new cohort table (the cohort source's thread).
  void publish_cohorts(std::unique_ptr<const cache::CohortTable> table) {
    cohorts_.publish(std::move(table));
  }

  /// Called after every publication (e.g. to let idle workers drop the replaced state).
  void on_publish(std::function<void()> callback) { on_publish_ = std::move(callback); }

  [[nodiscard]] const cache::SnapshotStore<ServingState>& store() const noexcept { return store_; }
  [[nodiscard]] bool has_snapshot() const noexcept { return store_.version() != 0; }
  /// True when the served snapshot holds a group whose JSON had `digest`: a source need not
  /// decode it again (config::ParseOptions::known). On the thread that calls apply() (the
  /// sources' own), without a lock.
  [[nodiscard]] bool knows(const common::Digest& digest) const noexcept {
    return published_ && published_->knows(digest);
  }
  /// A snapshot is served, it is not stale, and the process is not shutting down.
  [[nodiscard]] bool ready() const;
  [[nodiscard]] std::string status_json() const;

  /// Counts a watch request held (false, and nothing counted, at --max-watchers). Any thread.
  [[nodiscard]] bool hold_watcher() noexcept;
  void release_watcher() noexcept;
  /// Watch requests are held at all (--max-watchers is not 0).
  [[nodiscard]] bool holds_watchers() const noexcept { return options_.max_watchers != 0; }
  [[nodiscard]] std::size_t watchers() const noexcept {
    return watchers_.load(std::memory_order_relaxed);
  }
  /// The poller watches its upstream (for /status). The sources' thread.
  void set_watching(bool watching) noexcept {
    watching_.store(watching, std::memory_order_relaxed);
  }

  void begin_drain() noexcept { draining_.store(true, std::memory_order_relaxed); }
  [[nodiscard]] bool draining() const noexcept { return draining_.load(std::memory_order_relaxed); }

 private:
  // The steps of apply(). A configuration of no group while groups are served, refused unless
  // --allow-empty-config (recorded as a failure).
  bool refuses_empty(const config::ListPage& page, cache::SourceKind kind,
                     const std::string& source);
  static cache::ChainOrigin chain_of(std::optional<cache::ChainOrigin> origin,
                                     Clock::time_point fetched_at, cache::SourceKind kind);
  // Under mutex_.
  void record_success(const std::string& source, Clock::time_point fetched_at,
                      const std::vector<config::ConfigError>& rejected,
                      std::size_t rejected_groups);
  void record_origin(const cache::ChainOrigin& chain, cache::SourceKind kind);

  // The parts of status_json(), under mutex_.
  void write_chain(common::JsonWriter& w) const;
  void write_assignment_metrics(common::JsonWriter& w) const;
  void write_cohorts(common::JsonWriter& w, const cache::CohortTable& cohorts) const;

  [[nodiscard]] std::unique_ptr<const ServingState> make_state(
      std::unique_ptr<const cache::Snapshot> snapshot, const ServingState* previous);

  const ServiceOptions options_;
  EdgeMetrics& metrics_;
  cache::SnapshotStore<ServingState> store_;
  std::function<void()> on_publish_;
  cache::SnapshotStore<cache::CohortTable> cohorts_;
  boost::asio::any_io_executor sdk_builder_;
  std::atomic<bool> sdk_wanted_{false};  // an SDK asked for flags: build them with every state
  // The flags built on demand for a state published without them, and that state's snapshot
  // version. Only on the builder's thread, as is apply().
  std::shared_ptr<const wire::SdkFlags> sdk_built_;
  std::uint64_t sdk_built_version_ = 0;
  const cache::Snapshot* published_ = nullptr;  // the last one apply() published; its thread only
  std::atomic<bool> draining_{false};
  std::atomic<std::size_t> watchers_{0};
  std::atomic<bool> watching_{false};
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
  LoadStats last_load_;
  std::optional<LastChange> last_change_;   // the last swap from one snapshot to another
  cache::ChainOrigin origin_;               // of the served snapshot
  std::optional<double> last_propagation_;  // seconds from origin_.at to its swap here
  std::array<std::size_t, kCountLevels.size()> groups_at_level_{};
};

}  // namespace mutex_edge::serving
