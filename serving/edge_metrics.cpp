#include "serving/edge_metrics.hpp"

#include <algorithm>

#include <prometheus/family.h>

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

std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
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
      age_{"mutex_edge_config_age_seconds",
           "Seconds since the served configuration was last loaded or confirmed unchanged at "
           "its source",
           [this]() -> std::optional<double> {
             const std::int64_t fresh = fresh_at_ms_.load(std::memory_order_relaxed);
             if (fresh == 0) {
               return std::nullopt;
             }
             return static_cast<double>(unix_ms(std::chrono::system_clock::now()) - fresh) / 1000.0;
           }},
      origin_age_{
          "mutex_edge_config_origin_age_seconds",
          "Seconds since the first mutex-edge of the chain fetched the served "
          "configuration from the origin (the Management API or the file)",
          [this]() -> std::optional<double> {
            const std::int64_t at = origin_at_ms_.load(std::memory_order_relaxed);
            if (at == 0) {
              return std::nullopt;
            }
            return std::max(
                0.0, static_cast<double>(unix_ms(std::chrono::system_clock::now()) - at) / 1000.0);
          }},
      open_connections_{plain_gauge(registry_, "mutex_edge_open_connections",
                                    "Client connections currently open")},
      config_version_{plain_gauge(registry_, "mutex_edge_config_version",
                                  "Version of the served configuration snapshot (0: none yet)")},
      groups_loaded_{plain_gauge(registry_, "mutex_edge_config_groups",
                                 "Mutex groups in the served configuration")},
      groups_rejected_{plain_gauge(registry_, "mutex_edge_config_rejected_groups",
                                   "Groups left out of the served configuration as invalid")},
      poll_duration_{
          plain_histogram(registry_, "mutex_edge_upstream_poll_duration_seconds",
                          "Time to fetch every page of the upstream listing",
                          {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})},
      pages_{plain_counter(registry_, "mutex_edge_upstream_pages_total",
                           "Pages of the upstream listing fetched")},
      last_success_{plain_gauge(registry_, "mutex_edge_upstream_last_success_timestamp_seconds",
                                "Unix time of the last successful poll (0: none yet)")},
      build_duration_{plain_histogram(
          registry_, "mutex_edge_config_build_duration_seconds",
          "Time to build a snapshot from a parsed configuration (its groups compiled or reused), "
          "publish it and its serving state",
          {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})},
      groups_compiled_{plain_counter(registry_, "mutex_edge_config_groups_compiled_total",
                                     "Groups compiled afresh by snapshot builds")},
      groups_reused_{plain_counter(registry_, "mutex_edge_config_groups_reused_total",
                                   "Groups a snapshot build took unchanged from the previous one")},
      assignment_series_{plain_gauge(registry_, "mutex_edge_assignment_metric_series",
                                     "Series of mutex_edge_assignments_total made so far (at "
                                     "most --assignment-metrics-max-series)")},
      propagation_{plain_histogram(
          registry_, "mutex_edge_config_propagation_seconds",
          "Time from the chain's first mutex-edge fetching a configuration from the origin to "
          "this instance serving it, observed at each swap",
          {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300})},
      watchers_{plain_gauge(registry_, "mutex_edge_watchers",
                            "Watch requests (GET /api/1/mutexes with Prefer: wait) held now")},
      moved_ratio_{prometheus::BuildGauge()
                       .Name("mutex_edge_config_change_moved_ratio")
                       .Help("Share of the bucketing space (users with a bucketing value) whose "
                             "slot changed in the group's last configuration change (0..1; "
                             "expected share when its salt or bucketing key changed)")
                       .Register(registry_)} {
  // The shared series of the groups beyond the cap: made first, so it always exists.
  const std::array<std::string_view, 2> other = {kOtherGroups, kAnySlot};
  other_cell_ = assignments_.cell(other);
  auto& levels = prometheus::BuildGauge()
                     .Name("mutex_edge_assignment_metric_groups")
                     .Help(
                         "Groups of the served configuration whose assignments are counted "
                         "by slot, by group, in the shared (other) series, or not at all")
                     .Register(registry_);
  for (CountLevel level : kCountLevels) {
    assignment_levels_.push_back(&levels.Add({{"level", std::string{to_string(level)}}}));
  }
  for (Route route : kRoutes) {
    for (std::size_t s = 0; s < kStatusSlots; ++s) {
      const std::string code = s < kStatusCodes.size() ? std::to_string(kStatusCodes[s]) : "other";
      const std::array<std::string_view, 2> labels = {code, to_string(route)};
      (void)requests_.cell(labels);  // cell = route * kStatusSlots + s, in this order
    }
  }
  auto& loads = prometheus::BuildCounter()
                    .Name("mutex_edge_config_loads_total")
                    .Help("Configuration load attempts by source and result")
                    .Register(registry_);
  for (cache::SourceKind kind : cache::kSourceKinds) {
    for (const char* result : {"success", "failure"}) {
      loads_.push_back(&loads.Add({{"source", std::string{to_string(kind)}}, {"result", result}}));
    }
  }
  std::vector<std::string_view> outcomes;
  for (cache::PollOutcome outcome : cache::kPollOutcomes) {
    outcomes.push_back(to_string(outcome));
  }
  polls_ = metrics::counter_series(registry_, "mutex_edge_upstream_polls_total",
                                   "Polls of the upstream Management API by outcome", "outcome",
                                   outcomes);
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
    assignment_levels_[i]->Set(static_cast<double>(groups[i]));
  }
  assignment_series_.Set(static_cast<double>(assignments_.size()));
}

void EdgeMetrics::snapshot_built(std::chrono::steady_clock::duration took, std::size_t compiled,
                                 std::size_t reused) {
  build_duration_.Observe(std::chrono::duration<double>(took).count());
  groups_compiled_.Increment(static_cast<double>(compiled));
  groups_reused_.Increment(static_cast<double>(reused));
}

void EdgeMetrics::config_load(cache::SourceKind source, bool success) {
  loads_[static_cast<std::size_t>(source) * 2 + (success ? 0 : 1)]->Increment();
}

void EdgeMetrics::config_served(std::uint64_t version, std::size_t groups,
                                std::size_t rejected_groups,
                                std::chrono::system_clock::time_point fresh_at) {
  config_version_.Set(static_cast<double>(version));
  groups_loaded_.Set(static_cast<double>(groups));
  groups_rejected_.Set(static_cast<double>(rejected_groups));
  fresh_at_ms_.store(unix_ms(fresh_at), std::memory_order_relaxed);
}

void EdgeMetrics::config_propagated(double seconds) {
  propagation_.Observe(seconds);
}

void EdgeMetrics::config_origin(std::chrono::system_clock::time_point origin_at) {
  origin_at_ms_.store(unix_ms(origin_at), std::memory_order_relaxed);
}

void EdgeMetrics::watcher(bool held) noexcept {
  if (held) {
    watchers_.Increment();
  } else {
    watchers_.Decrement();
  }
}

void EdgeMetrics::poll_finished(const cache::PollReport& report) {
  // The count of polls last: who sees a poll counted sees its pages and time too.
  poll_duration_.Observe(std::chrono::duration<double>(report.took).count());
  pages_.Increment(static_cast<double>(report.pages));
  if (cache::succeeded(report.outcome)) {
    last_success_.Set(
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  }
  polls_[static_cast<std::size_t>(report.outcome)]->Increment();
}

void EdgeMetrics::cohort_poll(std::string_view result) {
  cohort_polls_.Add({{"result", std::string{result}}}).Increment();
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
    cohorts_.Add({{"status", std::string{cache::to_string(status)}}})
        .Set(by_status[static_cast<std::size_t>(status)]);
  }
  cohort_members_.Set(members);
}

void EdgeMetrics::config_change(std::span<const MovedShare> changed,
                                std::span<const std::string> removed) {
  for (const std::string& group : removed) {
    if (auto it = moved_series_.find(group); it != moved_series_.end()) {
      moved_ratio_.Remove(it->second.gauge);
      moved_series_.erase(it);
    }
  }
  if (changed.empty()) {
    return;
  }
  const std::uint64_t now = ++changes_;
  std::vector<MovedShare> shown{changed.begin(), changed.end()};
  if (shown.size() > kMaxMovedRatioSeries) {
    std::partial_sort(shown.begin(), shown.begin() + kMaxMovedRatioSeries, shown.end(),
                      [](const MovedShare& a, const MovedShare& b) { return a.moved > b.moved; });
    shown.resize(kMaxMovedRatioSeries);
  }
  for (const MovedShare& share : shown) {
    std::string group{share.group};
    auto it = moved_series_.find(group);
    if (it == moved_series_.end()) {
      if (moved_series_.size() >= kMaxMovedRatioSeries) {
        // Full: the series set longest ago goes (never one of this change: they are fewer
        // than the cap).
        auto oldest = std::min_element(
            moved_series_.begin(), moved_series_.end(),
            [](const auto& a, const auto& b) { return a.second.changed_at < b.second.changed_at; });
        moved_ratio_.Remove(oldest->second.gauge);
        moved_series_.erase(oldest);
      }
      prometheus::Gauge& gauge = moved_ratio_.Add({{"group", group}});
      it = moved_series_.emplace(std::move(group), MovedSeries{&gauge, now}).first;
    }
    it->second.gauge->Set(share.moved);
    it->second.changed_at = now;
  }
}

std::string EdgeMetrics::render() const {
  const std::array<const prometheus::Collectable*, 6> sources = {
      &registry_, &requests_, &latency_, &assignments_, &age_, &origin_age_};
  return metrics::render_text(sources);
}

}  // namespace mutex_edge::serving
