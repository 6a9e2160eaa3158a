#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace mutex_edge::proxy {

/// The routes of mutex-edge's HTTP API (design.md section 3). Metric labels come from
/// to_string, never from the request.
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

/// The error codes of mutex-edge's HTTP API: `{"error":{"code":"<to_string>","message":...}}`
/// with status_of's status.
enum class ErrorCode : std::uint8_t {
  kInvalidJson,           // 400
  kInvalidRequest,        // 400
  kInvalidUser,           // 400
  kEmptyUser,             // 400
  kInvalidQuery,          // 400
  kInvalidLimit,          // 400
  kInvalidCursor,         // 400
  kUnauthorized,          // 401
  kNotFound,              // 404
  kMethodNotAllowed,      // 405
  kTooManyUsers,          // 413
  kCohortTooLarge,        // 413
  kUnsupportedMediaType,  // 415
  kNotReady,              // 503 (the last: the tables in routes.cpp end with it)
};
[[nodiscard]] std::string_view to_string(ErrorCode code) noexcept;
[[nodiscard]] int status_of(ErrorCode code) noexcept;

/// A request mutex-edge refuses: the proxy's one error type.
struct ApiError {
  ErrorCode code = ErrorCode::kInvalidRequest;
  std::string message;  // what to fix; never a secret
};

}  // namespace mutex_edge::proxy
