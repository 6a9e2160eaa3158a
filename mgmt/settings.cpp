#include "mgmt/settings.hpp"

#include <cctype>
#include <charconv>
#include <sstream>

#include <boost/program_options.hpp>

#include "cache/options.hpp"

namespace mutex_edge::mgmt {
namespace {

namespace po = boost::program_options;
using cache::parse_duration;
using cache::parse_listen;

/// MUTEX_MGMT_FAULT_500_PERCENT -> --fault-500-percent; variables that name no option (such as
/// MUTEX_MGMT_API_KEYS) are left alone.
constexpr std::string_view kEnvPrefix = "MUTEX_MGMT_";

template <typename Int>
bool parse_int(std::string_view text, Int& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc{} && ptr == text.data() + text.size();
}

bool parse_bool(std::string_view text, bool& out) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") {
    out = true;
  } else if (text == "false" || text == "0" || text == "no" || text == "off") {
    out = false;
  } else {
    return false;
  }
  return true;
}

}  // namespace

boost::system::result<ParsedSettings, SettingsError> parse_settings(int argc,
                                                                    const char* const* argv) {
  Settings s;
  std::string listen = "127.0.0.1:9090", insecure = "false";
  std::string threads = "2", max_header = "8192", max_body = "1048576", max_seed = "67108864",
              max_connections = "1000";
  std::string idle = "60s", read = "10s", grace = "10s";
  std::string latency = "0", p500 = "0", p429 = "0", retry_after = "1", truncate = "0",
              drop = "0", fault_seed = "0";

  po::options_description options{
      "Options (each also read from MUTEX_MGMT_<NAME>, e.g. MUTEX_MGMT_DB; a flag wins over "
      "the variable)"};
  auto add = options.add_options();
  add("help,h", "print this help and exit");
  add("listen", po::value(&listen)->value_name("HOST:PORT"),
      "address to serve HTTP on (default 127.0.0.1:9090; port 0 picks a free one)");
  add("db", po::value(&s.db_path)->value_name("FILE"),
      "the SQLite database holding the groups (created if missing; required)");
  add("seed", po::value(&s.seed_path)->value_name("FILE"),
      "groups to load when the database holds none, in the list endpoint's shape "
      "{\"mutexes\": [...]}; missing ids, keys and salts are generated");
  add("insecure-no-auth", po::value(&insecure)->value_name("BOOL")->implicit_value("true"),
      "serve without checking Authorization (demos only; logs a warning)");
  add("threads", po::value(&threads)->value_name("N"), "threads serving requests (default 2)");
  add("log-level", po::value(&s.log_level)->value_name("LEVEL"),
      "trace, debug, info, warn, error or off (default info; debug logs every request)");
  add("max-header-bytes", po::value(&max_header)->value_name("BYTES"),
      "largest request head; beyond it 431 (default 8192)");
  add("max-body-bytes", po::value(&max_body)->value_name("BYTES"),
      "largest request body; beyond it 413 (default 1048576)");
  add("max-seed-bytes", po::value(&max_seed)->value_name("BYTES"),
      "largest seed file (default 67108864)");
  add("max-connections", po::value(&max_connections)->value_name("N"),
      "most client connections open at once; more are answered 503 and closed (default 1000)");
  add("idle-timeout", po::value(&idle)->value_name("DURATION"),
      "close a connection that starts no request for this long (default 60s)");
  add("read-timeout", po::value(&read)->value_name("DURATION"),
      "longest time to read a request or write a response (default 10s)");
  add("shutdown-grace", po::value(&grace)->value_name("DURATION"),
      "on SIGTERM/SIGINT, how long in-flight requests may take before exit (default 10s)");
  add("fault-latency", po::value(&latency)->value_name("DURATION"),
      "delay added to every list and get request, e.g. 200ms (default 0)");
  add("fault-500-percent", po::value(&p500)->value_name("N"),
      "share of list and get requests answered 500 (0..100, default 0)");
  add("fault-429-percent", po::value(&p429)->value_name("N"),
      "share of list and get requests answered 429 with Retry-After (0..100, default 0)");
  add("fault-retry-after", po::value(&retry_after)->value_name("SECONDS"),
      "the Retry-After of an injected 429 (default 1)");
  add("fault-truncate-percent", po::value(&truncate)->value_name("N"),
      "share of list and get answers whose body is cut in half, with a matching "
      "Content-Length (0..100, default 0)");
  add("fault-drop-percent", po::value(&drop)->value_name("N"),
      "share of list and get requests whose connection is closed without an answer "
      "(0..100, default 0)");
  add("fault-seed", po::value(&fault_seed)->value_name("N"),
      "seed of the random draws deciding which requests get a fault (default 0)");

  po::variables_map vm;
  if (auto parsed = cache::parse_flags_and_env(argc, argv, options, kEnvPrefix, vm); !parsed) {
    return SettingsError{parsed.error()};
  }

  if (vm.count("help") != 0) {
    std::ostringstream help;
    help << "Usage: mutex-mgmt --db FILE [OPTIONS]\n\n"
            "A local Experiment Management API (the mutex group endpoints) for development,\n"
            "demos, tests and load tests. Groups are kept in one SQLite file.\n"
            "Durations take a unit: 500ms, 10s, 1m, 1h.\n\n"
         << options
         << "\nEnvironment variables:\n"
            "  MUTEX_MGMT_API_KEYS   the accepted API keys, comma-separated (required unless\n"
            "                        --insecure-no-auth); clients send Authorization: Bearer KEY\n";
    help << cache::env_variables_help(options, kEnvPrefix);
    return ParsedSettings{std::nullopt, help.str()};
  }

  if (!parse_listen(listen, s.listen_host, s.listen_port)) {
    return SettingsError{"--listen: expected HOST:PORT, got '" + listen + "'"};
  }
  if (!parse_bool(insecure, s.insecure_no_auth)) {
    return SettingsError{"--insecure-no-auth: expected true or false, got '" + insecure + "'"};
  }
  struct DurationFlag {
    const char* name;
    const std::string& text;
    Duration& out;
  };
  for (const DurationFlag& d : {DurationFlag{"idle-timeout", idle, s.idle_timeout},
                                DurationFlag{"read-timeout", read, s.read_timeout},
                                DurationFlag{"shutdown-grace", grace, s.shutdown_grace},
                                DurationFlag{"fault-latency", latency, s.faults.latency}}) {
    auto value = parse_duration(d.text);
    if (!value) {
      return SettingsError{std::string{"--"} + d.name +
                           ": expected a duration such as 200ms, 10s or 1m, got '" + d.text + "'"};
    }
    d.out = *value;
  }
  if (s.idle_timeout <= Duration::zero() || s.read_timeout <= Duration::zero()) {
    return SettingsError{"--idle-timeout and --read-timeout must be more than 0"};
  }
  if (s.faults.latency > std::chrono::minutes{10}) {
    return SettingsError{"--fault-latency: at most 10m"};
  }

  struct SizeFlag {
    const char* name;
    const std::string& text;
    std::size_t& out;
    std::size_t min;
    std::size_t max;
  };
  for (const SizeFlag& f :
       {SizeFlag{"threads", threads, s.threads, 1, 64},
        SizeFlag{"max-header-bytes", max_header, s.max_header_bytes, 256, 1024 * 1024},
        SizeFlag{"max-body-bytes", max_body, s.max_body_bytes, 1024, 256 * 1024 * 1024},
        SizeFlag{"max-seed-bytes", max_seed, s.max_seed_bytes, 1024, std::size_t{1} << 32},
        SizeFlag{"max-connections", max_connections, s.max_connections, 1, 1000000}}) {
    if (!parse_int(f.text, f.out) || f.out < f.min || f.out > f.max) {
      return SettingsError{std::string{"--"} + f.name + ": expected an integer from " +
                           std::to_string(f.min) + " to " + std::to_string(f.max) + ", got '" +
                           f.text + "'"};
    }
  }

  struct PercentFlag {
    const char* name;
    const std::string& text;
    unsigned& out;
  };
  unsigned sum = 0;
  for (const PercentFlag& p : {PercentFlag{"fault-500-percent", p500, s.faults.error_500_percent},
                               PercentFlag{"fault-429-percent", p429, s.faults.error_429_percent},
                               PercentFlag{"fault-truncate-percent", truncate,
                                           s.faults.truncate_percent},
                               PercentFlag{"fault-drop-percent", drop, s.faults.drop_percent}}) {
    if (!parse_int(p.text, p.out) || p.out > 100) {
      return SettingsError{std::string{"--"} + p.name + ": expected an integer from 0 to 100, got '" +
                           p.text + "'"};
    }
    sum += p.out;
  }
  if (sum > 100) {
    return SettingsError{"the --fault-*-percent shares add up to " + std::to_string(sum) +
                         ", at most 100 is possible (each read request gets at most one fault)"};
  }
  if (!parse_int(retry_after, s.faults.retry_after_seconds) ||
      s.faults.retry_after_seconds > 86400) {
    return SettingsError{"--fault-retry-after: expected whole seconds from 0 to 86400, got '" +
                         retry_after + "'"};
  }
  if (!parse_int(fault_seed, s.faults.seed)) {
    return SettingsError{"--fault-seed: expected a non-negative integer, got '" + fault_seed + "'"};
  }

  if (s.log_level != "trace" && s.log_level != "debug" && s.log_level != "info" &&
      s.log_level != "warn" && s.log_level != "error" && s.log_level != "off") {
    return SettingsError{"--log-level: expected trace, debug, info, warn, error or off, got '" +
                         s.log_level + "'"};
  }
  if (s.db_path.empty()) {
    return SettingsError{"no database: give --db FILE (created if missing; see --help)"};
  }
  return ParsedSettings{s, {}};
}

}  // namespace mutex_edge::mgmt
