#include "proxy/service.hpp"

#include <cstdio>
#include <ctime>
#include <set>

#include <spdlog/spdlog.h>

#include "common/json_writer.hpp"
#include "common/log.hpp"
#include "config/serialize.hpp"

namespace mutex_edge::proxy {
namespace {

using common::quote;

constexpr std::size_t kMaxRejectedShown = 50;

std::string iso8601(std::chrono::system_clock::time_point t) {
  if (t == std::chrono::system_clock::time_point{}) {
    return {};
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  const std::time_t seconds = static_cast<std::time_t>(ms.count() / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms.count() % 1000));
  return buf;
}

double seconds_since(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::system_clock::now() - t).count();
}

std::unique_ptr<const ServingState> make_state(std::unique_ptr<const cache::Snapshot> snapshot,
                                               EdgeMetrics& metrics) {
  auto state = std::make_unique<ServingState>();
  const auto groups = snapshot->groups();
  state->group_json.reserve(groups.size());
  state->cell_offsets.reserve(groups.size());
  for (const config::GroupConfig& group : groups) {
    state->group_json.push_back(config::group_json(group));
    state->cell_offsets.push_back(state->cells.size());
    for (const config::SlotConfig& slot : group.slots) {
      state->cells.push_back(metrics.assignment_cell(group.key, slot.variant_key));
    }
    state->cells.push_back(metrics.assignment_cell(group.key, "none"));
  }
  char hash[24];
  std::snprintf(hash, sizeof hash, "%016llx",
                static_cast<unsigned long long>(snapshot->content_hash()));
  state->etag = std::string{"\""} + hash + "\"";
  state->snapshot = std::move(snapshot);
  return state;
}

/// Groups named by `errors` (a group may have several errors).
std::size_t count_groups(const std::vector<config::ConfigError>& errors) {
  std::set<std::string_view> groups;
  for (const config::ConfigError& e : errors) {
    groups.insert(e.group);
  }
  return groups.size();
}

}  // namespace

Service::Service(const Settings& settings, EdgeMetrics& metrics,
                 cache::SnapshotStore<ServingState>::Retire retire)
    : settings_{settings}, metrics_{metrics}, store_{std::move(retire)} {}

Service::~Service() = default;

bool Service::apply(config::ListPage page, cache::SourceKind kind, const std::string& source,
                    Clock::time_point fetched_at) {
  std::vector<config::ConfigError> rejected = std::move(page.rejected);
  std::uint64_t version = 0;
  {
    std::lock_guard lock{mutex_};
    version = next_version_;
  }
  auto snapshot = cache::Snapshot::build(std::move(page.groups), version, {source}, rejected);
  for (const config::ConfigError& e : rejected) {
    spdlog::warn("msg=\"group left out\" source={} error={}", quote(source), quote(e.to_string()));
  }
  const auto now = Clock::now();
  const std::size_t rejected_groups = count_groups(rejected);
  metrics_.config_load(kind, true);

  std::lock_guard lock{mutex_};
  consecutive_failures_ = 0;
  last_attempt_ = now;
  last_error_.clear();
  fresh_at_ = fetched_at;
  rejected_.clear();
  for (std::size_t i = 0; i < rejected.size() && i < kMaxRejectedShown; ++i) {
    rejected_.push_back(rejected[i].to_string());
  }
  if (has_snapshot() && snapshot->content_hash() == content_hash_) {
    last_result_ = "unchanged";
    source_ = source;
    rejected_groups_ = rejected_groups;
    metrics_.config_served(next_version_ - 1, groups_, rejected_groups_, fresh_at_);
    return false;
  }
  content_hash_ = snapshot->content_hash();
  groups_ = snapshot->groups().size();
  source_ = source;
  loaded_at_ = now;
  last_result_ = "loaded";
  ++next_version_;
  rejected_groups_ = rejected_groups;
  spdlog::info("msg=\"config loaded\" version={} groups={} rejected={} source={}", version, groups_,
               rejected_groups_, quote(source));
  store_.publish(make_state(std::move(snapshot), metrics_));
  metrics_.config_served(version, groups_, rejected_groups_, fresh_at_);
  return true;
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
  if (settings_.max_staleness == Duration::zero()) {
    return true;
  }
  std::lock_guard lock{mutex_};
  return Clock::now() - fresh_at_ <= settings_.max_staleness;
}

std::string Service::status_json() const {
  const bool is_ready = ready();
  std::string out;
  common::JsonWriter w{out};
  std::lock_guard lock{mutex_};
  char hash[24];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(content_hash_));
  w.begin_object();
  w.key("ready").value(is_ready);
  w.key("draining").value(draining());
  w.key("version").value(next_version_ - 1);
  w.key("groups").value(groups_);
  w.key("contentHash").value(has_snapshot() ? hash : "");
  w.key("source").value(source_.empty() ? settings_.config_file : source_);
  w.key("loadedAt").value(iso8601(loaded_at_));
  w.key("freshAt").value(iso8601(fresh_at_));
  w.key("ageSeconds");
  if (has_snapshot()) {
    w.raw(std::to_string(seconds_since(fresh_at_)));
  } else {
    w.null();
  }
  w.key("maxStalenessSeconds")
      .raw(std::to_string(std::chrono::duration<double>(settings_.max_staleness).count()));
  w.key("lastAttempt").begin_object();
  w.key("at").value(iso8601(last_attempt_));
  w.key("result").value(last_result_);
  w.key("error").value(last_error_);
  w.key("consecutiveFailures").value(consecutive_failures_);
  w.end_object();
  w.key("rejectedGroups").begin_array();
  for (const std::string& r : rejected_) {
    w.value(r);
  }
  w.end_array();
  w.key("startedAt").value(iso8601(started_at_));
  w.key("uptimeSeconds").raw(std::to_string(seconds_since(started_at_)));
  w.end_object();
  return out;
}

}  // namespace mutex_edge::proxy
