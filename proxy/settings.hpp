#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "serving/service.hpp"

#include "common/error.hpp"
#include "common/flags.hpp"
#include "config/model.hpp"
#include "http/bearer_keys.hpp"

namespace mutex_edge::proxy {

using Duration = common::Duration;

/// Every option of mutex-edge, validated. Each comes from a flag or a MUTEX_EDGE_* variable.
struct Settings {
  common::ServerFlags server;  // --listen 127.0.0.1:8080, --threads, limits and timeouts
  // --admin-listen: /metrics, /status, /healthz and /readyz on their own listener (and no
  // longer on --listen); the limits and timeouts of --listen, one thread.
  std::optional<common::ServerFlags> admin;
  // --require-key: /assign, /assign/batch and the read API want "Authorization: Bearer <key>"
  // with one of these (MUTEX_EDGE_CLIENT_KEYS, comma-separated; only from the environment).
  bool require_key = false;
  http::BearerKeys client_keys;
  // The deployment keys the SDK routes (/sdk/v2/flags, /sdk/v2/vardata) accept as
  // "Authorization: Api-Key <key>" (MUTEX_EDGE_SDK_KEYS, comma-separated; only from the
  // environment). Empty: any key, unless --require-key, which then asks for a client key.
  http::BearerKeys sdk_keys;

  std::string config_file;
  Duration config_reload_interval = std::chrono::seconds{1};

  std::string upstream;  // http(s)://host[:port][/base] of a Management API or another mutex-edge
  std::string api_key;   // from MUTEX_EDGE_API_KEY only (a flag would show in ps)
  Duration poll_interval = std::chrono::seconds{10};
  Duration poll_jitter = std::chrono::seconds{1};
  Duration poll_failure_interval = std::chrono::seconds{1};
  Duration poll_backoff_max = std::chrono::seconds{60};
  Duration connect_timeout = std::chrono::seconds{5};
  Duration upstream_timeout = std::chrono::seconds{10};
  std::string ca_file;
  std::string state_dir;  // where the last good config is kept for restarts
  // Most watch requests (GET /api/1/mutexes with If-None-Match and Prefer: wait) held at once;
  // beyond it 503. 0: none is held (and none is advertised).
  std::size_t max_watchers = 4096;
  Duration max_staleness = Duration::zero();  // 0: a served config never goes stale

  std::string log_level = "info";
  serving::AssignmentMetrics assignment_metrics = serving::AssignmentMetrics::kSlot;
  std::size_t assignment_metrics_max_series = 2000;
  std::size_t max_batch_users = 1000;
  std::size_t max_config_bytes = 64 * 1024 * 1024;
  std::size_t max_groups = config::ConfigLimits{}.max_groups;
  std::size_t max_upstream_bytes = std::size_t{512} << 20;  // one listing, all its pages
  bool allow_empty_config = false;  // else a listing of no groups keeps the last good config

  // Cohort sync: the members of every cohort a served slot references, from Amplitude's cohort
  // download API at --cohort-server (Basic MUTEX_EDGE_COHORT_API_KEY:MUTEX_EDGE_COHORT_SECRET_KEY,
  // only from the environment).
  std::string cohort_server;
  std::string cohort_api_key;
  std::string cohort_secret_key;
  Duration cohort_poll_interval = std::chrono::seconds{60};
  std::size_t max_cohort_size = 10'000'000;
  bool serve_cohorts = false;  // keep the downloads and answer GET /sdk/v1/cohort/{id}
  // A configuration change moving more than this share of a group's bucketed users to another
  // slot is logged as a warning.
  double warn_moved_share = 0.01;
};

using ParsedSettings = common::CommandLine<Settings>;

/// Reads flags (argv) and MUTEX_EDGE_* environment variables (flags win), then validates.
[[nodiscard]] common::Result<ParsedSettings> parse_settings(int argc, const char* const* argv);

}  // namespace mutex_edge::proxy
