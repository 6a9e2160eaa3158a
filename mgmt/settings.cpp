#include "mgmt/settings.hpp"

#include <limits>

namespace mutex_edge::mgmt {
namespace {

/// The MUTEX_MGMT_ variables that are no flag (read in main.cpp, only from the environment).
constexpr std::string_view kEnvironmentOnly[] = {"MUTEX_MGMT_API_KEYS", "MUTEX_MGMT_COHORT_SECRET"};

}  // namespace

common::Result<ParsedSettings> parse_settings(int argc, const char* const* argv) {
  Settings s;
  common::Flags flags{"MUTEX_MGMT_",
                      "Options (each also read from MUTEX_MGMT_<NAME>, e.g. MUTEX_MGMT_DB; a flag "
                      "wins over the variable)"};
  common::add_server_flags(flags, s.server);
  flags.text("db", s.db_path, "FILE",
             "the SQLite database holding the groups (created if missing; required)");
  flags.text("seed", s.seed_path, "FILE",
             "groups to load when the database holds none, in the list endpoint's shape "
             "{\"mutexes\": [...]}; missing ids, keys and salts are generated");
  flags.text("cohorts-seed", s.cohorts_seed_path, "FILE",
             "cohorts to load when the database holds none, {\"cohorts\": [{\"cohortId\": "
             "\"...\", \"memberIds\": [...]}]}, served at GET /sdk/v1/cohort/{id}");
  flags.boolean("insecure-no-auth", s.insecure_no_auth,
                "serve without checking Authorization (demos only; logs a warning)");
  flags.log_level(s.log_level);
  flags.number("max-seed-bytes", s.max_seed_bytes, "BYTES", 1024, std::size_t{1} << 32,
               "largest seed file (--seed and --cohorts-seed)");
  flags.number("max-cohort-body-bytes", s.max_cohort_body_bytes, "BYTES", 1024,
               std::size_t{4} << 30,
               "largest body of PUT /sdk/v1/cohort/{id} (other requests: --max-body-bytes)");
  flags.number("max-cohort-members", s.max_cohort_members, "N", 1, std::size_t{1} << 32,
               "most members of one cohort (a seed's or a PUT's)");
  FaultSettings& f = s.faults;
  flags.duration("fault-latency", f.latency,
                 "delay added to every list and get request, e.g. 200ms");
  flags.number("fault-500-percent", f.error_500_percent, "N", 0, 100,
               "share of list and get requests answered 500");
  flags.number("fault-429-percent", f.error_429_percent, "N", 0, 100,
               "share of list and get requests answered 429 with Retry-After");
  flags.number("fault-retry-after", f.retry_after_seconds, "SECONDS", 0, 86400,
               "the Retry-After of an injected 429");
  flags.number("fault-truncate-percent", f.truncate_percent, "N", 0, 100,
               "share of list and get answers whose body is cut in half, with a matching "
               "Content-Length");
  flags.number("fault-drop-percent", f.drop_percent, "N", 0, 100,
               "share of list and get requests whose connection is closed without an answer");
  flags.number("fault-seed", f.seed, "N", 0, std::numeric_limits<std::size_t>::max(),
               "seed of the random draws deciding which requests get a fault");
  flags.check([&]() -> std::optional<std::string> {
    if (f.latency > std::chrono::minutes{10}) {
      return "--fault-latency: at most 10m";
    }
    const unsigned sum =
        f.error_500_percent + f.error_429_percent + f.truncate_percent + f.drop_percent;
    if (sum > 100) {
      return "the --fault-*-percent shares add up to " + std::to_string(sum) +
             ", at most 100 is possible (each read request gets at most one fault)";
    }
    if (s.db_path.empty()) {
      return "no database: give --db FILE (created if missing; see --help)";
    }
    return std::nullopt;
  });

  return flags.read(
      argc, argv, s,
      "Usage: mutex-mgmt --db FILE [OPTIONS]\n\n"
      "A local Experiment Management API (the mutex group endpoints) for development,\n"
      "demos, tests and load tests. Groups are kept in one SQLite file.\n"
      "Durations take a unit: 500ms, 10s, 1m, 1h.\n",
      "  MUTEX_MGMT_API_KEYS   the accepted API keys, comma-separated (required unless\n"
      "                        --insecure-no-auth); clients send Authorization: Bearer KEY\n"
      "  MUTEX_MGMT_COHORT_SECRET  the cohort endpoint's secret key: clients send\n"
      "                        Authorization: Basic base64(KEY:SECRET), KEY an API key\n"
      "                        (required with --cohorts-seed unless --insecure-no-auth)\n",
      kEnvironmentOnly);
}

}  // namespace mutex_edge::mgmt
