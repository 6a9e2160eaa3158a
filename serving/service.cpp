#include "serving/service.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <set>
#include <unordered_map>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "common/json_writer.hpp"
#include "common/log.hpp"
#include "common/text.hpp"
#include "common/time.hpp"

namespace mutex_edge::serving {
namespace {

using common::quote;

constexpr std::size_t kMaxRejectedShown = 50;

double seconds_since(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::system_clock::now() - t).count();
}

double ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

CountLevel level_asked(AssignmentMetrics mode, const cache::Snapshot& snapshot,
                       std::size_t max_series) {
  if (mode == AssignmentMetrics::kOff) {
    return CountLevel::kOff;
  }
  if (mode == AssignmentMetrics::kGroup) {
    return CountLevel::kGroup;
  }
  // By slot only when every group fits (one series per slot and one for "no slot"); otherwise
  // every group is counted the same way, by group.
  std::size_t needed = 1;  // the shared (other) series
  for (std::size_t i = 0; i < snapshot.size(); ++i) {
    needed += snapshot.group(i).slot_count() + 1;
  }
  return needed <= max_series ? CountLevel::kSlot : CountLevel::kGroup;
}

/// Groups named by `errors` (a group may have several errors).
std::size_t count_groups(const std::vector<config::ConfigError>& errors) {
  std::set<std::string_view> groups;
  for (const config::ConfigError& e : errors) {
    groups.insert(e.group);
  }
  return groups.size();
}

void log_loaded(std::uint64_t version, std::size_t groups, std::size_t rejected,
                const std::string& source, const LoadStats& load) {
  spdlog::info(
      "msg=\"config loaded\" version={} groups={} rejected={} source={} read_ms={:.1f} "
      "build_ms={:.1f} compiled={} reused={} not_decoded={}",
      version, groups, rejected, quote(source), ms(load.read), ms(load.build), load.compiled,
      load.reused, load.known);
}

}  // namespace

Service::Service(ServiceOptions options, EdgeMetrics& metrics,
                 cache::SnapshotStore<ServingState>::Retire retire)
    : options_{std::move(options)}, metrics_{metrics}, store_{std::move(retire)} {
  metrics_.readiness([this] { return ready(); }, options_.max_staleness);
}

Service::~Service() {
  metrics_.readiness({}, options_.max_staleness);  // no scrape may call a destroyed service
}

std::unique_ptr<const ServingState> Service::make_state(
    std::unique_ptr<const cache::Snapshot> snapshot, const ServingState* previous) {
  auto state = std::make_unique<ServingState>();
  state->level =
      level_asked(options_.assignment_metrics, *snapshot, options_.assignment_metrics_max_series);
  // A group that kept its entry keeps its counters (when the level asked is the same).
  std::unordered_map<const cache::GroupEntry*, std::size_t> before;
  if (previous != nullptr && previous->level == state->level) {
    before.reserve(previous->snapshot->size());
    for (std::size_t i = 0; i < previous->snapshot->size(); ++i) {
      before.emplace(&previous->snapshot->group(i), i);
    }
  }
  state->group_cells.reserve(snapshot->size());
  state->cells.reserve(snapshot->size() * 2);
  std::vector<std::string_view> slots;
  for (std::size_t i = 0; i < snapshot->size(); ++i) {
    const cache::GroupEntry& group = snapshot->group(i);
    ServingState::GroupCells cells;
    cells.offset = static_cast<std::uint32_t>(state->cells.size());
    if (auto it = before.find(&group); it != before.end()) {
      const ServingState::GroupCells& old = previous->group_cells[it->second];
      state->cells.insert(state->cells.end(), previous->cells.begin() + old.offset,
                          previous->cells.begin() + old.offset + old.count);
      cells.level = old.level;
    } else {
      slots.clear();
      for (std::size_t pos = 0; pos < group.slot_count(); ++pos) {
        slots.push_back(group.slot(pos).variant_key);
      }
      cells.level = metrics_.assignment_cells(state->level, group.key(), slots, state->cells);
    }
    cells.count = static_cast<std::uint32_t>(state->cells.size() - cells.offset);
    ++state->groups_at_level[static_cast<std::size_t>(cells.level)];
    state->group_cells.push_back(cells);
  }
  state->etag = common::content_etag(snapshot->content_hash());
  if (sdk_wanted_.load(std::memory_order_acquire)) {
    // The groups the two snapshots share keep their flags (from the previous state, or from
    // those built on demand for it).
    const wire::SdkFlags* shared = nullptr;
    if (previous != nullptr && previous->sdk_flags) {
      shared = previous->sdk_flags.get();
    } else if (previous != nullptr && sdk_built_version_ == previous->snapshot->version()) {
      shared = sdk_built_.get();
    }
    state->sdk_flags = wire::build_sdk_flags(
        *snapshot, shared != nullptr ? previous->snapshot.get() : nullptr, shared);
    sdk_built_.reset();  // from now on every state carries its own
    sdk_built_version_ = 0;
  }
  state->snapshot = std::move(snapshot);
  return state;
}

bool Service::refuses_empty(const config::ListPage& page, cache::SourceKind kind,
                            const std::string& source) {
  if (!page.groups.empty() || !page.known.empty() || options_.allow_empty_config) {
    return false;
  }
  // A source that suddenly lists nothing is far likelier broken than emptied on purpose.
  const auto served = store_.load();
  if (!served || served->snapshot->size() == 0) {
    return false;
  }
  record_failure(kind, source,
                 "the source lists no valid group while " +
                     std::to_string(served->snapshot->size()) +
                     " are served: keeping them (--allow-empty-config serves an empty config)",
                 "empty_refused");
  return true;
}

cache::ChainOrigin Service::chain_of(std::optional<cache::ChainOrigin> origin,
                                     Clock::time_point fetched_at, cache::SourceKind kind) {
  cache::ChainOrigin chain =
      origin.value_or(cache::ChainOrigin{fetched_at, kind == cache::SourceKind::kFile ? 0U : 1U});
  if (chain.at == Clock::time_point{}) {
    chain.at = fetched_at;
  }
  return chain;
}

void Service::record_success(const std::string& source, Clock::time_point fetched_at,
                             const std::vector<config::ConfigError>& rejected,
                             std::size_t rejected_groups) {
  consecutive_failures_ = 0;
  last_attempt_ = Clock::now();
  last_error_.clear();
  fresh_at_ = fetched_at;
  rejected_.clear();
  for (std::size_t i = 0; i < rejected.size() && i < kMaxRejectedShown; ++i) {
    rejected_.push_back(rejected[i].to_string());
  }
  source_ = source;
  rejected_groups_ = rejected_groups;
}

void Service::record_origin(const cache::ChainOrigin& chain, cache::SourceKind kind) {
  origin_ = chain;
  if (kind != cache::SourceKind::kPersisted) {
    // From the origin's fetch to this swap (0 when clocks disagree the other way); a persisted
    // copy served at start propagated nothing.
    last_propagation_ =
        std::max(0.0, std::chrono::duration<double>(Clock::now() - chain.at).count());
    metrics_.config_propagated(*last_propagation_);
  }
  metrics_.config_origin(chain.at);
}

Service::Applied Service::apply(config::ListPage page, cache::SourceKind kind,
                                const std::string& source, Clock::time_point fetched_at,
                                std::chrono::steady_clock::duration read_time,
                                std::optional<cache::ChainOrigin> origin) {
  const auto started = std::chrono::steady_clock::now();
  if (refuses_empty(page, kind, source)) {
    return Applied::kRefused;
  }
  std::vector<config::ConfigError> rejected = std::move(page.rejected);
  std::uint64_t version = 0;
  {
    std::lock_guard lock{mutex_};
    version = next_version_;
  }
  const auto previous = store_.load();  // held until the new state is published
  cache::BuildStats built;
  const cache::ChainOrigin chain = chain_of(origin, fetched_at, kind);
  cache::SnapshotOrigin snapshot_origin{source};
  snapshot_origin.origin_at = chain.at;
  snapshot_origin.depth = chain.depth;
  auto snapshot = cache::Snapshot::build(page, version, std::move(snapshot_origin), rejected,
                                         previous ? previous->snapshot.get() : nullptr, &built);
  for (const config::ConfigError& e : rejected) {
    spdlog::warn("msg=\"group left out\" source={} error={}", quote(source), quote(e.to_string()));
  }
  const std::size_t rejected_groups = count_groups(rejected);
  metrics_.config_load(kind, true);
  const bool unchanged = previous && snapshot->content_hash() == previous->snapshot->content_hash();
  std::unique_ptr<const ServingState> state;
  std::optional<integrity::ConfigChange> change;  // what the swap does to assignments
  std::chrono::steady_clock::duration compare_took{};
  if (!unchanged) {
    state = make_state(std::move(snapshot), previous.get());
    if (previous) {  // shared entries are skipped: the work is that of the groups changed
      const auto compare_started = std::chrono::steady_clock::now();
      change = integrity::compare_snapshots(*previous->snapshot, *state->snapshot);
      compare_took = std::chrono::steady_clock::now() - compare_started;
    }
  }

  std::unique_lock lock{mutex_};
  record_success(source, fetched_at, rejected, rejected_groups);
  if (unchanged) {
    last_result_ = "unchanged";
    metrics_.config_served(next_version_ - 1, groups_, rejected_groups_, fresh_at_);
    return Applied::kUnchanged;
  }
  content_hash_ = state->snapshot->content_hash();
  groups_ = state->snapshot->size();
  loaded_at_ = last_attempt_;
  last_result_ = "loaded";
  ++next_version_;
  groups_at_level_ = state->groups_at_level;
  const std::size_t bytes = state->snapshot->memory_bytes();
  metrics_.assignment_levels(state->groups_at_level);
  published_ = state->snapshot.get();  // alive while it is served: the store holds it
  const auto took = std::chrono::steady_clock::now() - started;
  last_load_ = LoadStats{read_time, took, built.compiled, built.reused, built.known, bytes};
  if (change) {
    last_change_ = summarise(*change, last_attempt_, compare_took);
    record_change_metrics(metrics_, *change);
  }
  record_origin(chain, kind);
  // The metrics first: whoever is served the new version finds them saying so.
  metrics_.config_served(version, groups_, rejected_groups_, fresh_at_);
  metrics_.snapshot_built(took, built.compiled, built.reused);
  store_.publish(std::move(state));
  lock.unlock();

  log_loaded(version, groups_, rejected_groups, source, last_load_);
  if (change) {
    log_change(*change, options_.warn_moved_share);
  }
  if (on_publish_) {
    on_publish_();
  }
  return Applied::kPublished;
}

void Service::sdk_flags(std::function<void(std::shared_ptr<const wire::SdkFlags>)> done) {
  auto build = [this, done = std::move(done)] {
    sdk_wanted_.store(true, std::memory_order_release);
    const auto served = store_.load();
    if (!served) {
      return done(nullptr);
    }
    if (served->sdk_flags) {
      return done(served->sdk_flags);
    }
    if (sdk_built_version_ != served->snapshot->version()) {
      const auto started = std::chrono::steady_clock::now();
      sdk_built_ = wire::build_sdk_flags(*served->snapshot);
      sdk_built_version_ = served->snapshot->version();
      spdlog::info(
          "msg=\"SDK flags built on first request\" version={} groups={} bytes={} ms={:.1f}",
          served->snapshot->version(), served->snapshot->size(), sdk_built_->body->size(),
          ms(std::chrono::steady_clock::now() - started));
    }
    done(sdk_built_);
  };
  if (sdk_builder_) {
    boost::asio::post(sdk_builder_, std::move(build));
  } else {
    build();
  }
}

bool Service::hold_watcher() noexcept {
  std::size_t held = watchers_.load(std::memory_order_relaxed);
  do {
    if (held >= options_.max_watchers) {
      return false;
    }
  } while (!watchers_.compare_exchange_weak(held, held + 1, std::memory_order_relaxed));
  metrics_.watcher(true);
  return true;
}

void Service::release_watcher() noexcept {
  watchers_.fetch_sub(1, std::memory_order_relaxed);
  metrics_.watcher(false);
}

void Service::record_unchanged() {
  std::lock_guard lock{mutex_};
  if (!has_snapshot()) {
    return;
  }
  last_attempt_ = fresh_at_ = Clock::now();
  last_result_ = "unchanged";
  consecutive_failures_ = 0;
  metrics_.config_served(next_version_ - 1, groups_, rejected_groups_, fresh_at_);
}

void Service::record_failure(cache::SourceKind kind, const std::string& source,
                             const std::string& error, std::string_view result) {
  spdlog::error("msg=\"config load failed, serving the last good config\" source={} error={}",
                quote(source), quote(error));
  metrics_.config_load(kind, false);
  std::lock_guard lock{mutex_};
  last_attempt_ = Clock::now();
  last_result_ = result;
  last_error_ = error;
  ++consecutive_failures_;
}

bool Service::ready() const {
  if (!has_snapshot() || draining()) {
    return false;
  }
  if (options_.max_staleness == common::Duration::zero()) {
    return true;
  }
  std::lock_guard lock{mutex_};
  return Clock::now() - fresh_at_ <= options_.max_staleness;
}

std::string Service::status_json() const {
  const bool is_ready = ready();
  std::string out;
  common::JsonWriter w{out};
  std::lock_guard lock{mutex_};
  const common::Hex64 hash = common::hex64(content_hash_);
  w.begin_object();
  w.key("ready").value(is_ready);
  w.key("draining").value(draining());
  w.key("version").value(next_version_ - 1);
  w.key("groups").value(groups_);
  w.key("contentHash").value(has_snapshot() ? hash.view() : std::string_view{});
  w.key("source").value(source_.empty() ? options_.config_file : source_);
  w.key("loadedAt").value(common::iso8601(loaded_at_));
  w.key("freshAt").value(common::iso8601(fresh_at_));
  w.key("ageSeconds");
  if (has_snapshot()) {
    w.value(seconds_since(fresh_at_));
  } else {
    w.null();
  }
  w.key("maxStalenessSeconds").value(std::chrono::duration<double>(options_.max_staleness).count());
  w.key("lastAttempt").begin_object();
  w.key("at").value(common::iso8601(last_attempt_));
  w.key("result").value(last_result_);
  w.key("error").value(last_error_);
  w.key("consecutiveFailures").value(consecutive_failures_);
  w.end_object();
  w.key("rejectedGroups").begin_array();
  for (const std::string& r : rejected_) {
    w.value(r);
  }
  w.end_array();
  w.key("lastLoad").begin_object();
  w.key("readMs").value(ms(last_load_.read));
  w.key("buildMs").value(ms(last_load_.build));
  w.key("groupsCompiled").value(last_load_.compiled);
  w.key("groupsReused").value(last_load_.reused);
  w.key("groupsNotDecoded").value(last_load_.known);
  w.key("snapshotBytes").value(last_load_.snapshot_bytes);
  w.end_object();
  w.key("lastChange");
  write_last_change(w, last_change_);
  write_chain(w);
  write_assignment_metrics(w);
  if (const auto cohorts = cohorts_.load()) {
    write_cohorts(w, *cohorts);
  }
  w.key("startedAt").value(common::iso8601(started_at_));
  w.key("uptimeSeconds").value(seconds_since(started_at_));
  w.end_object();
  return out;
}

// Down a chain of mutex-edges: where the served configuration started, and how fast it came.
void Service::write_chain(common::JsonWriter& w) const {
  w.key("chain").begin_object();
  w.key("depth").value(std::uint64_t{origin_.depth});
  w.key("originFetchedAt").value(common::iso8601(origin_.at));
  w.key("originAgeSeconds");
  if (has_snapshot()) {
    w.value(std::max(0.0, seconds_since(origin_.at)));
  } else {
    w.null();
  }
  w.key("lastPropagationSeconds");
  if (last_propagation_) {
    w.value(*last_propagation_);
  } else {
    w.null();
  }
  w.key("watchingUpstream").value(watching_.load(std::memory_order_relaxed));
  w.key("watchers").value(watchers());
  w.key("maxWatchers").value(options_.max_watchers);
  w.end_object();
}

void Service::write_assignment_metrics(common::JsonWriter& w) const {
  w.key("assignmentMetrics").begin_object();
  w.key("mode").value(options_.assignment_metrics == AssignmentMetrics::kSlot    ? "slot"
                      : options_.assignment_metrics == AssignmentMetrics::kGroup ? "group"
                                                                                 : "off");
  w.key("maxSeries").value(options_.assignment_metrics_max_series);
  w.key("series").value(metrics_.assignments().size());
  w.key("groups").begin_object();
  for (CountLevel level : kCountLevels) {
    w.key(to_string(level)).value(groups_at_level_[static_cast<std::size_t>(level)]);
  }
  w.end_object().end_object();
}

// Cohort sync: each referenced cohort, and those not served yet.
void Service::write_cohorts(common::JsonWriter& w, const cache::CohortTable& cohorts) const {
  w.key("cohorts").begin_array();
  for (const auto& [id, cohort] : cohorts.cohorts) {
    w.begin_object().key("id").value(id);
    w.key("status").value(cache::to_string(cohort->status));
    w.key("members").value(cohort->members ? cohort->members->size() : 0);
    w.key("lastModified").value(cohort->last_modified);
    if (cohort->members) {
      w.key("fetchedAt").value(common::iso8601(cohort->fetched_at));
    }
    if (!cohort->error.empty()) {
      w.key("error").value(cohort->error);
    }
    w.end_object();
  }
  w.end_array();
  w.key("cohortsPending").begin_array();
  for (const auto& [id, cohort] : cohorts.cohorts) {
    if (!cohort->members) {
      w.value(id);
    }
  }
  w.end_array();
}

}  // namespace mutex_edge::serving
