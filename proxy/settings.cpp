#include "proxy/settings.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <system_error>

namespace mutex_edge::proxy {
namespace {

/// The MUTEX_EDGE_ variables that are no flag (they are read only from the environment).
constexpr std::string_view kEnvironmentOnly[] = {"MUTEX_EDGE_API_KEY", "MUTEX_EDGE_CLIENT_KEYS",
                                                 "MUTEX_EDGE_SDK_KEYS", "MUTEX_EDGE_COHORT_API_KEY",
                                                 "MUTEX_EDGE_COHORT_SECRET_KEY"};

}  // namespace

common::Result<ParsedSettings> parse_settings(int argc, const char* const* argv) {
  Settings s;
  common::Flags flags{
      "MUTEX_EDGE_",
      "Options (each also read from MUTEX_EDGE_<NAME>, e.g. MUTEX_EDGE_CONFIG_FILE; "
      "a flag wins over the variable)"};
  common::add_server_flags(flags, s.server);
  std::string admin_listen;
  flags.text("admin-listen", admin_listen, "HOST:PORT",
             "serve /metrics, /status, /healthz and /readyz on this address instead of on "
             "--listen, so the serving port can be exposed without them (default: off, they "
             "are served on --listen)");
  flags.boolean("require-key", s.require_key,
                "answer /assign, /assign/batch and /api/1/mutexes only with Authorization: "
                "Bearer <key>, a key of MUTEX_EDGE_CLIENT_KEYS (others get 401)");
  flags.text("config-file", s.config_file, "FILE",
             "serve the groups in FILE (the list endpoint's JSON, {\"mutexes\": [...]}), reloaded "
             "when it changes; a bad edit keeps the last good config");
  flags.duration("config-reload-interval", s.config_reload_interval,
                 "how often to check the config file for changes", std::chrono::milliseconds{10});
  flags.text("upstream", s.upstream, "URL",
             "poll the Management API (or another mutex-edge) at URL, e.g. "
             "https://experiment.amplitude.com; the bearer key comes from MUTEX_EDGE_API_KEY");
  flags.duration("poll-interval", s.poll_interval, "time between polls of the upstream",
                 std::chrono::milliseconds{100});
  flags.duration("poll-jitter", s.poll_jitter,
                 "each interval varies by up to this much, so a fleet does not poll in step",
                 Duration::zero(), "a tenth of --poll-interval");
  flags.duration("poll-failure-interval", s.poll_failure_interval,
                 "first retry after a failed poll; doubles per failure",
                 std::chrono::milliseconds{10});
  flags.duration("poll-backoff-max", s.poll_backoff_max,
                 "longest wait between failed polls, and the wait after a 401/403");
  flags.duration("connect-timeout", s.connect_timeout,
                 "resolving, connecting and the TLS handshake with the upstream", Duration{1});
  flags.duration("upstream-timeout", s.upstream_timeout,
                 "sending a request to the upstream and reading its page", Duration{1});
  flags.text("ca-file", s.ca_file, "FILE",
             "trust the CA certificates in FILE (PEM) for an https upstream instead of the "
             "system's");
  flags.text("state-dir", s.state_dir, "DIR",
             "keep the last good config in DIR and serve it at start while the first poll runs");
  flags.number("max-watchers", s.max_watchers, "N", 0, 1000000,
               "most watch requests held at once (GET /api/1/mutexes with If-None-Match and "
               "Prefer: wait=SECONDS, answered when the config changes; a chained mutex-edge "
               "sends them); beyond it 503 with Retry-After, 0: none is held");
  flags.duration("max-staleness", s.max_staleness,
                 "/readyz answers 503 when the config was last confirmed longer ago than this; "
                 "serving goes on",
                 Duration::zero(), "0: never");
  flags.log_level(s.log_level);
  std::string assignment_metrics = "slot";
  flags.text("assignment-metrics", assignment_metrics, "slot|group|off",
             "count mutex_edge_assignments_total by group and slot, by group only, or not at "
             "all (default slot)");
  flags.number("assignment-metrics-max-series", s.assignment_metrics_max_series, "N", 2, 1000000,
               "most series of mutex_edge_assignments_total; the groups beyond it are counted by "
               "group, then together as group=\"(other)\"");
  flags.number("max-batch-users", s.max_batch_users, "N", 1, 1000000,
               "most users in one POST /assign/batch; beyond it 413");
  flags.number("max-config-bytes", s.max_config_bytes, "BYTES", 1024, std::size_t{1} << 32,
               "largest config document accepted (a file, a persisted copy, one upstream page)");
  flags.number("max-groups", s.max_groups, "N", 1, 10000000,
               "most groups in a configuration (all the pages of a listing together)");
  flags.number("max-upstream-bytes", s.max_upstream_bytes, "BYTES", 1024, std::size_t{1} << 36,
               "most bytes one upstream listing may take, all its pages together (the default "
               "holds 100,000 groups of 5 KB); beyond it the poll fails and the last good "
               "config stays");
  flags.text("cohort-server", s.cohort_server, "URL",
             "download the members of every cohort a served slot references from Amplitude's "
             "cohort download API at URL (e.g. https://cohort-v2.lab.amplitude.com), with "
             "MUTEX_EDGE_COHORT_API_KEY and MUTEX_EDGE_COHORT_SECRET_KEY (default: off)");
  flags.duration("cohort-poll-interval", s.cohort_poll_interval,
                 "time between polls of each cohort (with lastModified: unchanged ones answer "
                 "204)",
                 std::chrono::milliseconds{100});
  flags.number("max-cohort-size", s.max_cohort_size, "N", 1, 1000000000,
               "most members of a cohort; a larger one is not served (its last good members "
               "stay) and /status says so");
  flags.boolean("serve-cohorts", s.serve_cohorts,
                "keep each cohort's download and answer GET /sdk/v1/cohort/{id} as the cohort "
                "download API does, for an SDK's cohortServerUrl (needs --cohort-server)");
  flags.boolean("allow-empty-config", s.allow_empty_config,
                "serve a listing or file of no groups after one with groups (default false: "
                "the last good config stays and /status says why)");
  std::string warn_moved_share = "0.01";
  flags.text("warn-moved-share", warn_moved_share, "SHARE",
             "log a warning when a configuration change moves more than this share (0..1) of a "
             "group's users to another slot; mutex_edge_config_change_moved_ratio has every "
             "group's share (default 0.01)");
  flags.check([&]() -> std::optional<std::string> {
    {
      const char* const end = warn_moved_share.data() + warn_moved_share.size();
      const auto [at, ec] = std::from_chars(warn_moved_share.data(), end, s.warn_moved_share);
      if (ec != std::errc{} || at != end || !(s.warn_moved_share >= 0) || s.warn_moved_share > 1) {
        return "--warn-moved-share: expected a share from 0 to 1 such as 0.01, got '" +
               warn_moved_share + "'";
      }
    }
    if (assignment_metrics == "slot") {
      s.assignment_metrics = serving::AssignmentMetrics::kSlot;
    } else if (assignment_metrics == "group") {
      s.assignment_metrics = serving::AssignmentMetrics::kGroup;
    } else if (assignment_metrics == "off") {
      s.assignment_metrics = serving::AssignmentMetrics::kOff;
    } else {
      return "--assignment-metrics: expected slot, group or off, got '" + assignment_metrics + "'";
    }
    if (!flags.given("poll-jitter")) {
      s.poll_jitter = s.poll_interval / 10;
    }
    if (s.poll_jitter >= s.poll_interval) {
      return "--poll-jitter: must be less than --poll-interval";
    }
    if (s.poll_backoff_max < s.poll_failure_interval) {
      return "--poll-backoff-max: must be at least --poll-failure-interval";
    }
    if (s.config_file.empty() == s.upstream.empty()) {
      return s.config_file.empty() ? "no configuration source: give --config-file FILE or "
                                     "--upstream URL (see --help)"
                                   : "give either --config-file or --upstream, not both";
    }
    if (!admin_listen.empty()) {
      common::ServerFlags admin = s.server;
      if (!common::parse_listen(admin_listen, admin.listen_host, admin.listen_port)) {
        return "--admin-listen: expected HOST:PORT, got '" + admin_listen + "'";
      }
      admin.threads = 1;
      admin.max_connections = std::min<std::size_t>(admin.max_connections, 256);
      s.admin = admin;
    }
    if (s.require_key) {
      const char* keys = std::getenv("MUTEX_EDGE_CLIENT_KEYS");
      s.client_keys = http::BearerKeys::parse(keys == nullptr ? "" : keys);
      if (s.client_keys.empty()) {
        return "--require-key: MUTEX_EDGE_CLIENT_KEYS holds no key (give them comma-separated)";
      }
    }
    if (const char* keys = std::getenv("MUTEX_EDGE_SDK_KEYS"); keys != nullptr && *keys != 0) {
      s.sdk_keys = http::BearerKeys::parse(keys);
      if (s.sdk_keys.empty()) {
        return "MUTEX_EDGE_SDK_KEYS holds no key (give the SDKs' deployment keys "
               "comma-separated, or unset it)";
      }
    }
    if (!s.cohort_server.empty()) {
      const char* key = std::getenv("MUTEX_EDGE_COHORT_API_KEY");
      const char* secret = std::getenv("MUTEX_EDGE_COHORT_SECRET_KEY");
      if (key == nullptr || *key == 0 || secret == nullptr || *secret == 0) {
        return "--cohort-server: set MUTEX_EDGE_COHORT_API_KEY and MUTEX_EDGE_COHORT_SECRET_KEY "
               "(the cohort download API's Basic credentials)";
      }
      s.cohort_api_key = key;
      s.cohort_secret_key = secret;
    } else if (s.serve_cohorts) {
      return "--serve-cohorts serves what --cohort-server downloads: it needs --cohort-server";
    }
    if (!s.state_dir.empty() && s.upstream.empty()) {
      return "--state-dir keeps what --upstream fetched: it needs --upstream";
    }
    return std::nullopt;
  });

  if (const char* key = std::getenv("MUTEX_EDGE_API_KEY")) {
    s.api_key = key;
  }
  return flags.read(
      argc, argv, s,
      "Usage: mutex-edge [OPTIONS]\n"
      "       mutex-edge assign --config-file FILE < users.jsonl\n"
      "       mutex-edge diff OLD.json NEW.json [--json]   (exit 0: no user moves, 1: some do)\n"
      "       mutex-edge audit --config-file FILE [--json] < exposures.jsonl\n"
      "       mutex-edge probe URL [--timeout 2s]   (exit 0 when URL answers 2xx)\n\n"
      "Serves assignments of users to the slots of mutual exclusion groups over HTTP.\n"
      "Durations take a unit: 500ms, 10s, 1m, 1h.\n",
      "  MUTEX_EDGE_API_KEY      the upstream's bearer key (only from the environment)\n"
      "  MUTEX_EDGE_CLIENT_KEYS  the keys --require-key accepts, comma-separated (only from "
      "the\n"
      "                          environment)\n"
      "  MUTEX_EDGE_COHORT_API_KEY     --cohort-server's Basic user (only from the "
      "environment)\n"
      "  MUTEX_EDGE_COHORT_SECRET_KEY  --cohort-server's Basic password (only from the "
      "environment)\n"
      "  MUTEX_EDGE_SDK_KEYS     the deployment keys /sdk/v2/flags and /sdk/v2/vardata accept\n"
      "                          as Authorization: Api-Key <key>, comma-separated (only from "
      "the\n"
      "                          environment; unset: any key, or with --require-key a client "
      "key)\n",
      kEnvironmentOnly);
}

}  // namespace mutex_edge::proxy
