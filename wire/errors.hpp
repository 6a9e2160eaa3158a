#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mutex_edge::wire {

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
  kPayloadTooLarge,       // 413
  kUnsupportedMediaType,  // 415
  kTooManyWatchers,       // 503
  kNotReady,              // 503 (the last: the table in errors.cpp ends with it)
};
[[nodiscard]] std::string_view to_string(ErrorCode code) noexcept;
[[nodiscard]] int status_of(ErrorCode code) noexcept;

/// A request mutex-edge refuses: the proxy's one error type.
struct ApiError {
  ErrorCode code = ErrorCode::kInvalidRequest;
  std::string message;  // what to fix; never a secret
};

}  // namespace mutex_edge::wire
