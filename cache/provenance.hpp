#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mutex_edge::cache {

/// Where a configuration came from. Metric labels and /status use to_string's names.
enum class SourceKind : std::uint8_t { kFile, kUpstream, kPersisted };
inline constexpr std::array kSourceKinds = {SourceKind::kFile, SourceKind::kUpstream,
                                            SourceKind::kPersisted};
[[nodiscard]] std::string_view to_string(SourceKind kind) noexcept;

/// What one poll of an upstream came to.
enum class PollOutcome : std::uint8_t {
  kUpdated,          // every page arrived and parsed, and the content changed
  kUnchanged,        // every page arrived and parsed, and the content equals the served one
  kNotModified,      // 304: the listing did not change
  kAuthError,        // 401/403: the key is wrong; retried slowly, never in a tight loop
  kRateLimited,      // 429/503 (Retry-After honoured)
  kHttpError,        // any other status
  kNetworkError,     // resolve, connect, TLS, timeout, dropped connection
  kInvalidResponse,  // a page that is not the list shape, too large, a cursor loop
};
inline constexpr std::array kPollOutcomes = {
    PollOutcome::kUpdated,      PollOutcome::kUnchanged,      PollOutcome::kNotModified,
    PollOutcome::kAuthError,    PollOutcome::kRateLimited,    PollOutcome::kHttpError,
    PollOutcome::kNetworkError, PollOutcome::kInvalidResponse};
[[nodiscard]] std::string_view to_string(PollOutcome outcome) noexcept;
/// kUpdated, kUnchanged and kNotModified: the upstream confirmed a configuration.
[[nodiscard]] constexpr bool succeeded(PollOutcome outcome) noexcept {
  return outcome == PollOutcome::kUpdated || outcome == PollOutcome::kUnchanged ||
         outcome == PollOutcome::kNotModified;
}

/// Where a listing came from: when the chain's first mutex-edge fetched it from the
/// origin (the chain headers of sources/upstream_source.hpp; else when this poll fetched it) and
/// the depth it has here.
struct ChainOrigin {
  std::chrono::system_clock::time_point at{};
  std::uint32_t depth = 1;
};

/// One poll, for metrics: how it ended, how long it took, how many pages it fetched.
struct PollReport {
  PollOutcome outcome = PollOutcome::kUpdated;
  std::chrono::steady_clock::duration took{};
  std::size_t pages = 0;
};

}  // namespace mutex_edge::cache
