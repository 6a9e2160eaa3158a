#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include <boost/system/result.hpp>

namespace mutex_edge::proxy {

using Duration = std::chrono::milliseconds;

/// Every option of the server, validated. Each comes from a flag or a MUTEX_EDGE_* variable.
struct Settings {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  std::size_t threads = 0;  // worker threads; 0 picks one per core

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
  Duration max_staleness = Duration::zero();  // 0: a served config never goes stale

  std::string log_level = "info";

  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_batch_users = 1000;
  std::size_t max_connections = 10000;
  std::size_t max_config_bytes = 64 * 1024 * 1024;
  Duration idle_timeout = std::chrono::seconds{60};
  Duration read_timeout = std::chrono::seconds{10};
  Duration shutdown_grace = std::chrono::seconds{10};
};

/// Why settings were refused, as one line for the user.
struct SettingsError {
  std::string message;
};

/// What parsing the command line produced: settings to run with, or help to print.
struct ParsedSettings {
  std::optional<Settings> settings;  // empty when help was asked for
  std::string help;
};

/// Reads flags (argv) and MUTEX_EDGE_* environment variables (flags win), then validates.
[[nodiscard]] boost::system::result<ParsedSettings, SettingsError> parse_settings(
    int argc, const char* const* argv);

}  // namespace mutex_edge::proxy
