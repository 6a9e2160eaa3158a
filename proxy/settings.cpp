#include "proxy/settings.hpp"

#include <charconv>
#include <cstdlib>
#include <sstream>
#include <thread>

#include <boost/program_options.hpp>

#include "cache/options.hpp"

namespace mutex_edge::proxy {
namespace {

namespace po = boost::program_options;
using cache::parse_duration;
using cache::parse_listen;

/// MUTEX_EDGE_CONFIG_FILE -> --config-file; variables that name no option are ignored.
constexpr std::string_view kEnvPrefix = "MUTEX_EDGE_";

}  // namespace

boost::system::result<ParsedSettings, SettingsError> parse_settings(int argc,
                                                                    const char* const* argv) {
  Settings s;
  std::string listen = "127.0.0.1:8080";
  std::string reload = "1s", staleness = "0", idle = "60s", read = "10s", grace = "10s";
  std::string poll = "10s", jitter, failure = "1s", backoff = "60s", connect = "5s",
              upstream_timeout = "10s";

  po::options_description options{"Options (each also read from MUTEX_EDGE_<NAME>, e.g. "
                                  "MUTEX_EDGE_CONFIG_FILE; a flag wins over the variable)",
                                  100, 50};
  auto add = options.add_options();
  add("help,h", "print this help and exit");
  add("listen", po::value(&listen)->value_name("HOST:PORT"),
      "address to serve HTTP on (default 127.0.0.1:8080; port 0 picks a free one)");
  add("threads", po::value(&s.threads)->value_name("N"),
      "worker threads serving requests (default 0: one per core)");
  add("config-file", po::value(&s.config_file)->value_name("FILE"),
      "serve the groups in FILE (the list endpoint's JSON, {\"mutexes\": [...]}), reloaded "
      "when it changes; a bad edit keeps the last good config");
  add("config-reload-interval", po::value(&reload)->value_name("DURATION"),
      "how often to check the config file for changes (default 1s)");
  add("upstream", po::value(&s.upstream)->value_name("URL"),
      "poll the Management API (or another mutex-edge) at URL, e.g. "
      "https://experiment.amplitude.com; the bearer key comes from MUTEX_EDGE_API_KEY");
  add("poll-interval", po::value(&poll)->value_name("DURATION"),
      "time between polls of the upstream (default 10s)");
  add("poll-jitter", po::value(&jitter)->value_name("DURATION"),
      "each interval varies by up to this much, so a fleet does not poll in step "
      "(default a tenth of --poll-interval)");
  add("poll-failure-interval", po::value(&failure)->value_name("DURATION"),
      "first retry after a failed poll; doubles per failure (default 1s)");
  add("poll-backoff-max", po::value(&backoff)->value_name("DURATION"),
      "longest wait between failed polls, and the wait after a 401/403 (default 60s)");
  add("connect-timeout", po::value(&connect)->value_name("DURATION"),
      "resolving, connecting and the TLS handshake with the upstream (default 5s)");
  add("upstream-timeout", po::value(&upstream_timeout)->value_name("DURATION"),
      "sending a request to the upstream and reading its page (default 10s)");
  add("ca-file", po::value(&s.ca_file)->value_name("FILE"),
      "trust the CA certificates in FILE (PEM) for an https upstream instead of the system's");
  add("state-dir", po::value(&s.state_dir)->value_name("DIR"),
      "keep the last good config in DIR and serve it at start while the first poll runs");
  add("max-staleness", po::value(&staleness)->value_name("DURATION"),
      "/readyz answers 503 when the config was last confirmed longer ago than this; serving "
      "goes on (default 0: never)");
  add("log-level", po::value(&s.log_level)->value_name("LEVEL"),
      "trace, debug, info, warn, error or off (default info)");
  add("max-header-bytes", po::value(&s.max_header_bytes)->value_name("BYTES"),
      "largest request head; beyond it 431 (default 8192)");
  add("max-body-bytes", po::value(&s.max_body_bytes)->value_name("BYTES"),
      "largest request body; beyond it 413 (default 1048576)");
  add("max-batch-users", po::value(&s.max_batch_users)->value_name("N"),
      "most users in one POST /assign/batch; beyond it 413 (default 1000)");
  add("max-connections", po::value(&s.max_connections)->value_name("N"),
      "most client connections open at once; more are answered 503 and closed (default 10000)");
  add("max-config-bytes", po::value(&s.max_config_bytes)->value_name("BYTES"),
      "largest config document accepted (default 67108864)");
  add("idle-timeout", po::value(&idle)->value_name("DURATION"),
      "close a connection that starts no request for this long (default 60s)");
  add("read-timeout", po::value(&read)->value_name("DURATION"),
      "longest time to read a request body or write a response (default 10s)");
  add("shutdown-grace", po::value(&grace)->value_name("DURATION"),
      "on SIGTERM/SIGINT, how long in-flight requests may take before exit (default 10s)");

  po::variables_map vm;
  if (auto parsed = cache::parse_flags_and_env(argc, argv, options, kEnvPrefix, vm); !parsed) {
    return SettingsError{parsed.error()};
  }

  if (vm.count("help") != 0) {
    std::ostringstream help;
    help << "Usage: mutex-edge [OPTIONS]\n"
            "       mutex-edge assign --config-file FILE < users.jsonl\n\n"
            "Serves assignments of users to the slots of mutual exclusion groups over HTTP.\n"
            "Durations take a unit: 500ms, 10s, 1m, 1h.\n\n"
         << options
         << "\nEnvironment variables:\n"
            "  MUTEX_EDGE_API_KEY  the upstream's bearer key (only from the environment)\n";
    help << cache::env_variables_help(options, kEnvPrefix);
    return ParsedSettings{std::nullopt, help.str()};
  }

  if (!parse_listen(listen, s.listen_host, s.listen_port)) {
    return SettingsError{"--listen: expected HOST:PORT, got '" + listen + "'"};
  }
  struct DurationFlag {
    const char* name;
    const std::string& text;
    Duration& out;
  };
  for (const DurationFlag& d : {DurationFlag{"config-reload-interval", reload, s.config_reload_interval},
                                DurationFlag{"max-staleness", staleness, s.max_staleness},
                                DurationFlag{"idle-timeout", idle, s.idle_timeout},
                                DurationFlag{"read-timeout", read, s.read_timeout},
                                DurationFlag{"shutdown-grace", grace, s.shutdown_grace},
                                DurationFlag{"poll-interval", poll, s.poll_interval},
                                DurationFlag{"poll-failure-interval", failure, s.poll_failure_interval},
                                DurationFlag{"poll-backoff-max", backoff, s.poll_backoff_max},
                                DurationFlag{"connect-timeout", connect, s.connect_timeout},
                                DurationFlag{"upstream-timeout", upstream_timeout, s.upstream_timeout}}) {
    auto value = parse_duration(d.text);
    if (!value) {
      return SettingsError{std::string{"--"} + d.name + ": expected a duration such as 500ms, "
                           "10s or 1m, got '" + d.text + "'"};
    }
    d.out = *value;
  }
  if (s.config_reload_interval < std::chrono::milliseconds{10}) {
    return SettingsError{"--config-reload-interval: must be at least 10ms"};
  }
  for (const auto& [name, value] : {std::pair{"idle-timeout", s.idle_timeout},
                                    std::pair{"read-timeout", s.read_timeout}}) {
    if (value <= Duration::zero()) {
      return SettingsError{std::string{"--"} + name + ": must be more than 0"};
    }
  }
  if (s.log_level != "trace" && s.log_level != "debug" && s.log_level != "info" &&
      s.log_level != "warn" && s.log_level != "error" && s.log_level != "off") {
    return SettingsError{"--log-level: expected trace, debug, info, warn, error or off, got '" +
                         s.log_level + "'"};
  }
  if (s.threads == 0) {
    s.threads = std::max(1u, std::thread::hardware_concurrency());
  }
  if (s.threads > 256) {
    return SettingsError{"--threads: at most 256"};
  }
  if (s.max_header_bytes < 256 || s.max_body_bytes < 64 || s.max_batch_users == 0 ||
      s.max_connections == 0) {
    return SettingsError{
        "limits too small: --max-header-bytes >= 256, --max-body-bytes >= 64, "
        "--max-batch-users and --max-connections >= 1"};
  }
  if (jitter.empty()) {
    s.poll_jitter = s.poll_interval / 10;
  } else if (auto value = parse_duration(jitter)) {
    s.poll_jitter = *value;
  } else {
    return SettingsError{"--poll-jitter: expected a duration such as 500ms, got '" + jitter + "'"};
  }
  if (s.poll_interval < std::chrono::milliseconds{100} || s.poll_jitter >= s.poll_interval ||
      s.poll_failure_interval < std::chrono::milliseconds{10} ||
      s.poll_backoff_max < s.poll_failure_interval || s.connect_timeout <= Duration::zero() ||
      s.upstream_timeout <= Duration::zero()) {
    return SettingsError{
        "polling: --poll-interval >= 100ms, --poll-jitter < --poll-interval, "
        "--poll-failure-interval >= 10ms, --poll-backoff-max >= --poll-failure-interval, "
        "timeouts > 0"};
  }
  if (const char* key = std::getenv("MUTEX_EDGE_API_KEY")) {
    s.api_key = key;
  }
  if (s.config_file.empty() == s.upstream.empty()) {
    return SettingsError{s.config_file.empty()
                             ? "no configuration source: give --config-file FILE or "
                               "--upstream URL (see --help)"
                             : "give either --config-file or --upstream, not both"};
  }
  if (!s.state_dir.empty() && s.upstream.empty()) {
    return SettingsError{"--state-dir keeps what --upstream fetched: it needs --upstream"};
  }
  return ParsedSettings{s, {}};
}

}  // namespace mutex_edge::proxy
