#include "serving/edge_metrics.hpp"

#include <algorithm>
#include <optional>
#include <unordered_map>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "common/time.hpp"
#include "metrics/exposition.hpp"

namespace mutex_edge::serving {
namespace {

constexpr std::size_t kStatusSlots = kStatusCodes.size() + 1;  // the last one: "other"
constexpr std::string_view kAnySlot = "(any)";
constexpr std::string_view kOtherGroups = "(other)";

std::size_t status_slot(int status) noexcept {
  for (std::size_t i = 0; i < kStatusCodes.size(); ++i) {
    if (kStatusCodes[i] == status) {
      return i;
    }
  }
  return kStatusCodes.size();
}

std::vector<std::string> route_names() {
  std::vector<std::string> names;
  for (Route route : kRoutes) {
    names.emplace_back(to_string(route));
  }
  return names;
}

prometheus::Gauge& plain_gauge(prometheus::Registry& registry, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Counter& plain_counter(prometheus::Registry& registry, const char* name,
                                   const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Histogram& plain_histogram(prometheus::Registry& registry, const char* name,
                                       const char* help,
                                       prometheus::Histogram::BucketBoundaries buckets) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(registry).Add(
      {}, std::move(buckets));
}

}  // namespace

std::string_view to_string(CountLevel level) noexcept {
  constexpr std::array<std::string_view, kCountLevels.size()> kNames = {"slot", "group", "other",
                                                                        "off"};
  return kNames[static_cast<std::size_t>(level)];
}

/// The control-plane series, each registered with `registry` as it is made.
struct EdgeMetrics::Control {
  prometheus::Registry registry;
  std::atomic<std::int64_t> fresh_at_ms{0};
  std::atomic<std::int64_t> origin_at_ms{0};
  std::function<bool()> ready;
  metrics::CallbackGauge age{
      "mutex_edge_config_age_seconds",
      "Seconds since the served configuration was last loaded or confirmed unchanged at its "
      "source",
      [this]() -> std::optional<double> { return seconds_since(fresh_at_ms); }};
  metrics::CallbackGauge origin_age{
      "mutex_edge_config_origin_age_seconds",
      "Seconds since the first mutex-edge of the chain fetched the served configuration from "
      "the origin (the Management API or the file)",
      [this]() -> std::optional<double> { return seconds_since(origin_at_ms); }};
  metrics::CallbackGauge ready_gauge{
      "mutex_edge_ready",
      "1 while /readyz answers 200 (a configuration younger than --max-staleness is served, "
      "and the process is not draining), else 0",
      [this]() -> std::optional<double> { return ready && ready() ? 1.0 : 0.0; }};
  prometheus::Gauge& max_staleness =
      plain_gauge(registry, "mutex_edge_config_max_staleness_seconds",
                  "--max-staleness: past it the served configuration is stale and /readyz "
                  "answers 503 (0: it never goes stale)");
  prometheus::Gauge& open_connections =
      plain_gauge(registry, "mutex_edge_open_connections", "Client connections currently open");
  prometheus::Gauge& config_version =
      plain_gauge(registry, "mutex_edge_config_version",
                  "Version of the served configuration snapshot (0: none yet)");
  prometheus::Gauge& groups_loaded =
      plain_gauge(registry, "mutex_edge_config_groups", "Mutex groups in the served configuration");
  prometheus::Gauge& groups_rejected =
      plain_gauge(registry, "mutex_edge_config_rejected_groups",
                  "Groups left out of the served configuration as invalid");
  prometheus::Histogram& poll_duration =
      plain_histogram(registry, "mutex_edge_upstream_poll_duration_seconds",
                      "Time to fetch every page of the upstream listing",
                      {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
  prometheus::Counter& pages = plain_counter(registry, "mutex_edge_upstream_pages_total",
                                             "Pages of the upstream listing fetched");
  prometheus::Gauge& last_success =
      plain_gauge(registry, "mutex_edge_upstream_last_success_timestamp_seconds",
                  "Unix time of the last successful poll (0: none yet)");
  prometheus::Histogram& build_duration = plain_histogram(
      registry, "mutex_edge_config_build_duration_seconds",
      "Time to build a snapshot from a parsed configuration (its groups compiled or reused), "
      "publish it and its serving state",
      {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  prometheus::Counter& groups_compiled =
      plain_counter(registry, "mutex_edge_config_groups_compiled_total",
                    "Groups compiled afresh by snapshot builds");
  prometheus::Counter& groups_reused =
      plain_counter(registry, "mutex_edge_config_groups_reused_total",
                    "Groups a snapshot build took unchanged from the previous one");
  prometheus::Gauge& assignment_series =
      plain_gauge(registry, "mutex_edge_assignment_metric_series",
                  "Series of mutex_edge_assignments_total made so far (at most "
                  "--assignment-metrics-max-series)");
  prometheus::Histogram& propagation = plain_histogram(
      registry, "mutex_edge_config_propagation_seconds",
      "Time from the chain's first mutex-edge fetching a configuration from the origin to this "
      "instance serving it, observed at each swap",
      {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300});
  prometheus::Gauge& watchers =
      plain_gauge(registry, "mutex_edge_watchers",
                  "Watch requests (GET /api/1/mutexes with Prefer: wait) held now");
  prometheus::Family<prometheus::Gauge>& moved_ratio =
      prometheus::BuildGauge()
          .Name("mutex_edge_config_change_moved_ratio")
          .Help(
              "Share of the bucketing space (users with a bucketing value) whose slot changed "
              "in the group's last configuration change (0..1; expected share when its salt "
              "or bucketing key changed)")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& cohort_polls =
      prometheus::BuildCounter()
          .Name("mutex_edge_cohort_polls_total")
          .Help("Cohort downloads by result (updated, not_modified, too_large, failed)")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& cohorts =
      prometheus::BuildGauge()
          .Name("mutex_edge_cohorts")
          .Help("Cohorts referenced by served slots, by status (pending, ready, too_large)")
          .Register(registry);
  prometheus::Gauge& cohort_members = plain_gauge(registry, "mutex_edge_cohort_members",
                                                  "Members of the served cohorts, all together");
  std::vector<prometheus::Counter*> loads;            // [source kind][success, failure]
  std::vector<prometheus::Counter*> polls;            // by cache::PollOutcome
  std::vector<prometheus::Gauge*> assignment_levels;  // by CountLevel
  struct MovedSeries {
    prometheus::Gauge* gauge;
    std::uint64_t changed_at;  // the change that last set it
  };
  std::unordered_map<std::string, MovedSeries> moved_series;
  std::uint64_t changes = 0;

  Control() {
    auto& levels = prometheus::BuildGauge()
                       .Name("mutex_edge_assignment_metric_groups")
                       .Help(
                           "Groups of the served configuration whose assignments are counted "
                           "by slot, by group, in the shared (other) series, or not at all")
                       .Register(registry);
    for (CountLevel level : kCountLevels) {
      assignment_levels.push_back(&levels.Add({{"level", std::string{to_string(level)}}}));
    }
    auto& load_family = prometheus::BuildCounter()
                            .Name("mutex_edge_config_loads_total")
                            .Help("Configuration load attempts by source and result")
                            .Register(registry);
    for (cache::SourceKind kind : cache::kSourceKinds) {
      for (const char* result : {"success", "failure"}) {
        loads.push_back(
            &load_family.Add({{"source", std::string{to_string(kind)}}, {"result", result}}));
      }
    }
    std::vector<std::string_view> outcomes;
    for (cache::PollOutcome outcome : cache::kPollOutcomes) {
      outcomes.push_back(to_string(outcome));
    }
    polls = metrics::counter_series(registry, "mutex_edge_upstream_polls_total",
                                    "Polls of the upstream Management API by outcome", "outcome",
                                    outcomes);
  }

  /// Seconds from `at_ms` (Unix milliseconds; 0: never) to now.
  static std::optional<double> seconds_since(const std::atomic<std::int64_t>& at_ms) {
    const std::int64_t at = at_ms.load(std::memory_order_relaxed);
    if (at == 0) {
      return std::nullopt;
    }
    return std::max(0.0, static_cast<double>(common::now_unix_ms() - at) / 1000.0);
  }
};

EdgeMetrics::EdgeMetrics(std::size_t workers, std::size_t max_assignment_series)
    : requests_{"mutex_edge_http_requests_total",
                "HTTP requests by route and status code",
                {"code", "route"},
                workers,
                kRoutes.size() * kStatusSlots,
                true},
      latency_{"mutex_edge_http_request_duration_seconds",
               "Time from a complete request to its response being queued",
               "route",
               route_names(),
               {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                0.25, 0.5, 1.0},
               workers},
      assignments_{"mutex_edge_assignments_total",
                   "Assignments by group and slot (\"none\": no slot; slot \"(any)\": counted "
                   "by group; group \"(other)\": beyond --assignment-metrics-max-series)",
                   {"group", "slot"},
                   workers,
                   std::max<std::size_t>(max_assignment_series, 1)},
      control_{std::make_unique<Control>()} {
  // The shared series of the groups beyond the cap: made first, so it always exists.
  const std::array<std::string_view, 2> other = {kOtherGroups, kAnySlot};
  other_cell_ = assignments_.cell(other);
  for (Route route : kRoutes) {
    for (std::size_t s = 0; s < kStatusSlots; ++s) {
      const std::string code = s < kStatusCodes.size() ? std::to_string(kStatusCodes[s]) : "other";
      const std::array<std::string_view, 2> labels = {code, to_string(route)};
      (void)requests_.cell(labels);  // cell = route * kStatusSlots + s, in this order
    }
  }
}

EdgeMetrics::~EdgeMetrics() = default;

void EdgeMetrics::connection_opened() noexcept {
  control_->open_connections.Increment();
}

void EdgeMetrics::connection_closed() noexcept {
  control_->open_connections.Decrement();
}

void EdgeMetrics::readiness(std::function<bool()> ready,
                            std::chrono::steady_clock::duration max_staleness) {
  control_->ready = std::move(ready);
  control_->max_staleness.Set(std::chrono::duration<double>(max_staleness).count());
}

void EdgeMetrics::request(std::size_t worker, Route route, int status,
                          std::chrono::steady_clock::duration took) noexcept {
  const auto r = static_cast<std::size_t>(route);
  requests_.add(worker, static_cast<metrics::Cell>(r * kStatusSlots + status_slot(status)));
  latency_.observe(worker, r, std::chrono::duration_cast<std::chrono::nanoseconds>(took));
}

CountLevel EdgeMetrics::assignment_cells(CountLevel level, std::string_view group,
                                         std::span<const std::string_view> slots,
                                         std::vector<metrics::Cell>& cells) {
  if (level == CountLevel::kOff) {
    cells.push_back(metrics::kNoCell);
    return level;
  }
  const std::size_t first = cells.size();
  if (level == CountLevel::kSlot &&
      assignments_.size() + slots.size() + 1 > assignments_.capacity()) {
    level = CountLevel::kGroup;  // no room for this group's slots
  }
  if (level == CountLevel::kSlot) {
    bool all = true;
    for (std::string_view slot : slots) {
      const std::array<std::string_view, 2> labels = {group, slot};
      cells.push_back(assignments_.cell(labels));
      all = all && cells.back() != metrics::kNoCell;
    }
    const std::array<std::string_view, 2> none = {group, "none"};
    cells.push_back(assignments_.cell(none));
    if (all && cells.back() != metrics::kNoCell) {
      return level;
    }
    cells.resize(first);  // the cap was reached on the way: count the group as a whole
  }
  if (level == CountLevel::kSlot || level == CountLevel::kGroup) {
    const std::array<std::string_view, 2> labels = {group, kAnySlot};
    cells.push_back(assignments_.cell(labels));
    if (cells.back() != metrics::kNoCell) {
      return CountLevel::kGroup;
    }
    cells.resize(first);
  }
  cells.push_back(other_cell_);
  return CountLevel::kOther;
}

void EdgeMetrics::assignment_levels(const std::array<std::size_t, kCountLevels.size()>& groups) {
  for (std::size_t i = 0; i < groups.size(); ++i) {
    control_->assignment_levels[i]->Set(static_cast<double>(groups[i]));
  }
  control_->assignment_series.Set(static_cast<double>(assignments_.size()));
}

void EdgeMetrics::snapshot_built(std::chrono::steady_clock::duration took, std::size_t compiled,
                                 std::size_t reused) {
  control_->build_duration.Observe(std::chrono::duration<double>(took).count());
  control_->groups_compiled.Increment(static_cast<double>(compiled));
  control_->groups_reused.Increment(static_cast<double>(reused));
}

void EdgeMetrics::config_load(cache::SourceKind source, bool success) {
  control_->loads[static_cast<std::size_t>(source) * 2 + (success ? 0 : 1)]->Increment();
}

void EdgeMetrics::config_served(std::uint64_t version, std::size_t groups,
                                std::size_t rejected_groups,
                                std::chrono::system_clock::time_point fresh_at) {
  control_->config_version.Set(static_cast<double>(version));
  control_->groups_loaded.Set(static_cast<double>(groups));
  control_->groups_rejected.Set(static_cast<double>(rejected_groups));
  control_->fresh_at_ms.store(common::unix_ms(fresh_at), std::memory_order_relaxed);
}

void EdgeMetrics::config_propagated(double seconds) {
  control_->propagation.Observe(seconds);
}

void EdgeMetrics::config_origin(std::chrono::system_clock::time_point origin_at) {
  control_->origin_at_ms.store(common::unix_ms(origin_at), std::memory_order_relaxed);
}

void EdgeMetrics::watcher(bool held) noexcept {
  if (held) {
    control_->watchers.Increment();
  } else {
    control_->watchers.Decrement();
  }
}

void EdgeMetrics::poll_finished(const cache::PollReport& report) {
  // The count of polls last: who sees a poll counted sees its pages and time too.
  control_->poll_duration.Observe(std::chrono::duration<double>(report.took).count());
  control_->pages.Increment(static_cast<double>(report.pages));
  if (cache::succeeded(report.outcome)) {
    control_->last_success.Set(
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  }
  control_->polls[static_cast<std::size_t>(report.outcome)]->Increment();
}

void EdgeMetrics::cohort_poll(std::string_view result) {
  control_->cohort_polls.Add({{"result", std::string{result}}}).Increment();
}

void EdgeMetrics::cohorts(const cache::CohortTable& table) {
  std::array<double, 3> by_status{};
  double members = 0;
  for (const auto& [id, cohort] : table.cohorts) {
    by_status[static_cast<std::size_t>(cohort->status)] += 1;
    members += cohort->members ? static_cast<double>(cohort->members->size()) : 0.0;
  }
  for (const auto status :
       {cache::CohortState::Status::kPending, cache::CohortState::Status::kReady,
        cache::CohortState::Status::kTooLarge}) {
    control_->cohorts.Add({{"status", std::string{cache::to_string(status)}}})
        .Set(by_status[static_cast<std::size_t>(status)]);
  }
  control_->cohort_members.Set(members);
}

void EdgeMetrics::config_change(std::span<const MovedShare> changed,
                                std::span<const std::string> removed) {
  for (const std::string& group : removed) {
    if (auto it = control_->moved_series.find(group); it != control_->moved_series.end()) {
      control_->moved_ratio.Remove(it->second.gauge);
      control_->moved_series.erase(it);
    }
  }
  if (changed.empty()) {
    return;
  }
  const std::uint64_t now = ++control_->changes;
  std::vector<MovedShare> shown{changed.begin(), changed.end()};
  if (shown.size() > kMaxMovedRatioSeries) {
    std::partial_sort(shown.begin(), shown.begin() + kMaxMovedRatioSeries, shown.end(),
                      [](const MovedShare& a, const MovedShare& b) { return a.moved > b.moved; });
    shown.resize(kMaxMovedRatioSeries);
  }
  for (const MovedShare& share : shown) {
    std::string group{share.group};
    auto it = control_->moved_series.find(group);
    if (it == control_->moved_series.end()) {
      if (control_->moved_series.size() >= kMaxMovedRatioSeries) {
        // Full: the series set longest ago goes (never one of this change: they are fewer
        // than the cap).
        auto oldest = std::min_element(
            control_->moved_series.begin(), control_->moved_series.end(),
            [](const auto& a, const auto& b) { return a.second.changed_at < b.second.changed_at; });
        control_->moved_ratio.Remove(oldest->second.gauge);
        control_->moved_series.erase(oldest);
      }
      prometheus::Gauge& gauge = control_->moved_ratio.Add({{"group", group}});
      it =
          control_->moved_series.emplace(std::move(group), Control::MovedSeries{&gauge, now}).first;
    }
    it->second.gauge->Set(share.moved);
    it->second.changed_at = now;
  }
}

std::string EdgeMetrics::render() const {
  const std::array<const prometheus::Collectable*, 7> sources = {
      &control_->registry,   &requests_,     &latency_,
      &assignments_,         &control_->age, &control_->origin_age,
      &control_->ready_gauge};
  return metrics::render_text(sources);
}

}  // namespace mutex_edge::serving
