#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "common/flags.hpp"

namespace mutex_edge::mgmt {

using Duration = common::Duration;

/// Upstream faults injected into the read endpoints (list and get), for tests and load tests.
/// The shares are of read requests; their sum is at most 100.
struct FaultSettings {
  Duration latency = Duration::zero();  // added to every read, on an Asio timer
  unsigned error_500_percent = 0;
  unsigned error_429_percent = 0;
  unsigned retry_after_seconds = 1;  // the Retry-After of a 429
  unsigned truncate_percent = 0;     // body cut in half, Content-Length matching the cut
  unsigned drop_percent = 0;         // connection closed without a response
  std::uint64_t seed = 0;            // the fault RNG's seed: runs are reproducible

  [[nodiscard]] bool any() const noexcept {
    return latency > Duration::zero() || error_500_percent != 0 || error_429_percent != 0 ||
           truncate_percent != 0 || drop_percent != 0;
  }
};

/// Every option of mutex-mgmt, validated. Each comes from a flag or a MUTEX_MGMT_* variable; the
/// API keys come only from MUTEX_MGMT_API_KEYS (never a flag, which `ps` would show).
struct Settings {
  common::ServerFlags server = {
      .listen_host = "127.0.0.1", .listen_port = 9090, .threads = 2, .max_connections = 1000};

  std::string db_path;
  std::string seed_path;
  std::string cohorts_seed_path;
  bool insecure_no_auth = false;
  std::string log_level = "info";
  std::size_t max_seed_bytes = 64 * 1024 * 1024;               // --seed and --cohorts-seed
  std::size_t max_cohort_body_bytes = std::size_t{256} << 20;  // PUT /sdk/v1/cohort/{id}
  std::size_t max_cohort_members = 5'000'000;

  FaultSettings faults;
};

using ParsedSettings = common::CommandLine<Settings>;

/// Reads flags (argv) and MUTEX_MGMT_* environment variables (a flag wins), then validates.
[[nodiscard]] common::Result<ParsedSettings> parse_settings(int argc, const char* const* argv);

}  // namespace mutex_edge::mgmt
