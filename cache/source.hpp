#pragma once

#include <array>
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

}  // namespace mutex_edge::cache
