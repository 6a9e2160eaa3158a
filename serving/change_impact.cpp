#include "serving/change_impact.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "integrity/change_report.hpp"

#include <spdlog/spdlog.h>

#include "common/log.hpp"
#include "common/time.hpp"

namespace mutex_edge::serving {
namespace {

constexpr std::size_t kMaxWarnings = 10;

}  // namespace

LastChange summarise(const integrity::ConfigChange& change,
                     std::chrono::system_clock::time_point at,
                     std::chrono::steady_clock::duration took) {
  LastChange last;
  last.from_version = change.from_version;
  last.to_version = change.to_version;
  last.at = at;
  last.took = took;
  last.changed = change.changed;
  last.added = change.added;
  last.removed = change.removed + change.archived;
  last.unchanged = change.unchanged;
  for (const integrity::GroupChange& g : change.groups) {
    if (g.kind == integrity::ChangeKind::kChanged && g.moves_users()) {
      ++last.moving;
    }
  }
  for (const integrity::GroupChange* g : change.largest_moves(kLargestMovesShown)) {
    last.largest.push_back(*g);
  }
  return last;
}

void write_last_change(common::JsonWriter& w, const std::optional<LastChange>& change) {
  if (!change) {
    w.null();
    return;
  }
  w.begin_object();
  w.key("fromVersion").value(change->from_version);
  w.key("toVersion").value(change->to_version);
  w.key("at").value(common::iso8601(change->at));
  w.key("compareMs").value(std::chrono::duration<double, std::milli>(change->took).count());
  w.key("groupsChanged").value(change->changed);
  w.key("groupsAdded").value(change->added);
  w.key("groupsRemoved").value(change->removed);
  w.key("groupsUnchanged").value(change->unchanged);
  w.key("groupsMovingUsers").value(change->moving);
  w.key("largestMoves").begin_array();
  for (const integrity::GroupChange& g : change->largest) {
    integrity::write_group_change(w, g);
  }
  w.end_array();
  w.end_object();
}

void record_change_metrics(EdgeMetrics& metrics, const integrity::ConfigChange& change) {
  std::vector<MovedShare> moved;
  std::vector<std::string> removed;
  for (const integrity::GroupChange& g : change.groups) {
    if (g.kind == integrity::ChangeKind::kChanged) {
      moved.push_back({g.key, g.moved});
    } else if (g.kind != integrity::ChangeKind::kAdded) {
      removed.push_back(g.key);
    }
  }
  metrics.config_change(moved, removed);
}

std::vector<const integrity::GroupChange*> above_warning(const integrity::ConfigChange& change,
                                                         double warn_share) {
  std::vector<const integrity::GroupChange*> above;
  for (const integrity::GroupChange& g : change.groups) {
    if (g.kind == integrity::ChangeKind::kChanged && g.moved > warn_share) {
      above.push_back(&g);
    }
  }
  return above;
}

void log_change(const integrity::ConfigChange& change, double warn_share) {
  if (change.groups.empty()) {
    return;
  }
  const auto largest = change.largest_moves(1);
  spdlog::info(
      "msg=\"config change\" from_version={} to_version={} changed={} added={} removed={} "
      "largest_moved_share={}",
      change.from_version, change.to_version, change.changed, change.added,
      change.removed + change.archived, largest.empty() ? 0.0 : largest.front()->moved);
  const auto above = above_warning(change, warn_share);
  const std::size_t warned = std::min(above.size(), kMaxWarnings);
  for (std::size_t i = 0; i < warned; ++i) {
    const integrity::GroupChange& g = *above[i];
    spdlog::warn(
        "msg=\"config change moves users to other slots\" group={} moved_share={:.6f} "
        "rerandomized={} from_version={} to_version={} threshold={}",
        common::quote(g.key), g.moved, g.rerandomized, change.from_version, change.to_version,
        warn_share);
  }
  if (above.size() > warned) {
    spdlog::warn(
        "msg=\"config change moves users to other slots\" more_groups={} threshold={} "
        "to_version={} (the first {} are logged; /status lastChange and "
        "mutex_edge_config_change_moved_ratio have the rest)",
        above.size() - warned, warn_share, change.to_version, warned);
  }
}

}  // namespace mutex_edge::serving
