// mutex-mgmt: a local Experiment Management API (the mutex group endpoints), backed by SQLite.
#include <chrono>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include "common/log.hpp"
#include "common/time.hpp"
#include "config/cohorts.hpp"
#include "http/basic_auth.hpp"
#include "http/bearer_keys.hpp"
#include "mgmt/api.hpp"
#include "mgmt/faults.hpp"
#include "mgmt/seed.hpp"
#include "mgmt/server.hpp"
#include "mgmt/settings.hpp"
#include "mgmt/store.hpp"

namespace {

namespace net = boost::asio;
using namespace mutex_edge;
using common::quote;

std::string describe_faults(const mgmt::FaultSettings& f) {
  if (!f.any()) {
    return "off";
  }
  return "latency_ms:" + std::to_string(f.latency.count()) +
         ",500:" + std::to_string(f.error_500_percent) +
         "%,429:" + std::to_string(f.error_429_percent) +
         "%,truncate:" + std::to_string(f.truncate_percent) +
         "%,drop:" + std::to_string(f.drop_percent) + "%,seed:" + std::to_string(f.seed);
}

int serve(const mgmt::Settings& settings, const http::BearerKeys& keys,
          const http::BasicAuth& cohort_auth) {
  // Read the seed first: an unusable file stops the start even when the database has groups.
  std::vector<config::GroupConfig> seed;
  if (!settings.seed_path.empty()) {
    auto loaded = mgmt::load_seed(settings.seed_path, settings.max_seed_bytes);
    if (!loaded) {
      std::cerr << "mutex-mgmt: " << loaded.error().message << '\n';
      return 1;
    }
    seed = std::move(*loaded);
  }
  config::CohortLimits cohort_limits;
  cohort_limits.max_members = settings.max_cohort_members;
  cohort_limits.max_document_bytes = settings.max_seed_bytes;
  std::vector<config::Cohort> cohorts_seed;
  if (!settings.cohorts_seed_path.empty()) {
    auto loaded = config::load_cohorts_file(settings.cohorts_seed_path, cohort_limits);
    if (!loaded) {
      std::cerr << "mutex-mgmt: " << loaded.error().message << '\n';
      return 1;
    }
    cohorts_seed = std::move(*loaded);
  }
  auto opened = mgmt::Store::open(settings.db_path);
  if (!opened) {
    std::cerr << "mutex-mgmt: " << opened.error().message << '\n';
    return 1;
  }
  mgmt::Store& store = **opened;
  auto groups = store.size();
  if (!groups) {
    std::cerr << "mutex-mgmt: " << groups.error().message << '\n';
    return 1;
  }
  auto cohorts = store.cohort_count();
  if (!cohorts) {
    std::cerr << "mutex-mgmt: " << cohorts.error().message << '\n';
    return 1;
  }
  const char* cohort_auth_mode = settings.insecure_no_auth  ? "off"
                                 : cohort_auth.has_secret() ? "basic"
                                                            : "disabled";
  spdlog::info(
      "msg=\"starting\" db={} groups={} cohorts={} data_version={} auth={} keys={} "
      "cohort_auth={} faults={}",
      quote(settings.db_path), *groups, *cohorts, store.data_version(),
      settings.insecure_no_auth ? "off" : "bearer", keys.size(), cohort_auth_mode,
      describe_faults(settings.faults));
  if (!settings.insecure_no_auth && !cohort_auth.has_secret()) {
    spdlog::info(
        "msg=\"MUTEX_MGMT_COHORT_SECRET is unset: /sdk/v1/cohort answers 401 to everyone\"");
  }
  if (settings.insecure_no_auth) {
    spdlog::warn(
        "msg=\"INSECURE: --insecure-no-auth is set, every request is served without checking "
        "its API key; use it for local demos only\"");
  }
  if (!settings.seed_path.empty()) {
    auto seeded = store.seed_if_empty(seed);
    if (!seeded) {
      std::cerr << "mutex-mgmt: " << seeded.error().message << '\n';
      return 1;
    }
    if (*seeded != 0) {
      spdlog::info("msg=\"seeded\" file={} groups={} data_version={}", quote(settings.seed_path),
                   *seeded, store.data_version());
    } else {
      spdlog::info("msg=\"seed skipped: the database already holds groups\" file={}",
                   quote(settings.seed_path));
    }
  }
  if (!settings.cohorts_seed_path.empty()) {
    auto seeded = store.seed_cohorts_if_empty(cohorts_seed, common::now_unix_ms());
    if (!seeded) {
      std::cerr << "mutex-mgmt: " << seeded.error().message << '\n';
      return 1;
    }
    if (*seeded != 0) {
      spdlog::info("msg=\"cohorts seeded\" file={} cohorts={} data_version={}",
                   quote(settings.cohorts_seed_path), *seeded, store.data_version());
    } else if (cohorts_seed.empty()) {
      spdlog::info("msg=\"cohorts seed holds no cohort\" file={}",
                   quote(settings.cohorts_seed_path));
    } else {
      spdlog::info("msg=\"cohorts seed skipped: the database already holds cohorts\" file={}",
                   quote(settings.cohorts_seed_path));
    }
    cohorts_seed.clear();
    cohorts_seed.shrink_to_fit();
  }

  mgmt::FaultInjector faults{settings.faults};
  mgmt::Api::Options options;
  options.require_auth = !settings.insecure_no_auth;
  options.fallback_host =
      settings.server.listen_host + ":" + std::to_string(settings.server.listen_port);
  options.cohort_auth = cohort_auth;
  options.cohort_limits = cohort_limits;

  // The control thread accepts connections and handles signals; --threads workers answer.
  net::io_context control{1};
  http::Options server_options;
  server_options.server = settings.server;
  server_options.server_name = "mutex-mgmt";
  // Cohort uploads are large (a million members is some 20 MB); every other body is small.
  server_options.max_body_bytes_for = [&settings](std::string_view target) {
    return target.starts_with("/sdk/v1/cohort/") ? settings.max_cohort_body_bytes
                                                 : settings.server.max_body_bytes;
  };
  http::Server server{
      server_options,
      [&](std::size_t) {
        return std::make_unique<mgmt::ApiHandler>(mgmt::Api{store, keys, options}, faults, store);
      },
      control};
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << "mutex-mgmt: " << e.what() << '\n';
    return 1;
  }
  spdlog::info("msg=\"listening\" address={}:{} threads={}", settings.server.listen_host,
               server.port(), settings.server.threads);

  http::run_until_signal(server, control);
  spdlog::info("msg=\"stopped\" data_version={}", store.data_version());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  try {
    auto parsed = mgmt::parse_settings(argc, argv);
    if (!parsed) {
      std::cerr << "mutex-mgmt: " << parsed.error().message << '\n';
      return 2;
    }
    if (!parsed->settings) {
      std::cout << parsed->help;
      return 0;
    }
    const mgmt::Settings& settings = *parsed->settings;
    const char* env_keys = std::getenv("MUTEX_MGMT_API_KEYS");
    const http::BearerKeys keys = http::BearerKeys::parse(env_keys == nullptr ? "" : env_keys);
    if (keys.empty() && !settings.insecure_no_auth) {
      std::cerr << "mutex-mgmt: MUTEX_MGMT_API_KEYS is unset or empty: set it to one or more "
                   "comma-separated API keys, or pass --insecure-no-auth for a local demo\n";
      return 2;
    }
    // The secret is taken whole (not trimmed) and kept only as a digest; it is never logged.
    const char* env_secret = std::getenv("MUTEX_MGMT_COHORT_SECRET");
    const std::string_view secret = env_secret == nullptr ? "" : env_secret;
    if (secret.empty() && !settings.cohorts_seed_path.empty() && !settings.insecure_no_auth) {
      std::cerr << "mutex-mgmt: --cohorts-seed needs MUTEX_MGMT_COHORT_SECRET, the secret that "
                   "cohort downloads send with an API key as Basic auth (or pass "
                   "--insecure-no-auth for a local demo)\n";
      return 2;
    }
    const http::BasicAuth cohort_auth{keys, secret};
    common::setup_logging(settings.log_level, "mutex-mgmt");
    common::warn_unknown_variables(parsed->unknown_variables);
    return serve(settings, keys, cohort_auth);
  } catch (const std::exception& e) {
    std::cerr << "mutex-mgmt: " << e.what() << '\n';
    return 1;
  }
}
