#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace mutex_edge::serving {

/// The routes of mutex-edge's HTTP API (docs/http-api.md), as serving counts them: metric labels
/// come from to_string, never from the request.
enum class Route : std::uint8_t {
  kAssign,
  kAssignBatch,
  kMutexList,
  kMutexGet,
  kHealthz,
  kReadyz,
  kStatus,
  kMetrics,
  kSdkFlags,    // GET /sdk/v2/flags: Amplitude's SDKs' local evaluation
  kSdkVardata,  // GET|POST /sdk/v2/vardata: their remote evaluation
  kSdkCohort,   // GET /sdk/v1/cohort/{id}: their cohort sync (--serve-cohorts)
  kUnknown,
};
inline constexpr std::array kRoutes = {Route::kAssign,     Route::kAssignBatch, Route::kMutexList,
                                       Route::kMutexGet,   Route::kHealthz,     Route::kReadyz,
                                       Route::kStatus,     Route::kMetrics,     Route::kSdkFlags,
                                       Route::kSdkVardata, Route::kSdkCohort,   Route::kUnknown};
[[nodiscard]] std::string_view to_string(Route route) noexcept;

/// Which routes a listener answers: all of them (no --admin-listen), or the serving routes
/// (/assign, /assign/batch, the read API) on --listen and the admin routes (/metrics, /status,
/// /healthz, /readyz) on --admin-listen.
enum class RouteSet : std::uint8_t { kAll, kServing, kAdmin };

}  // namespace mutex_edge::serving
