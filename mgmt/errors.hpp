#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/error.hpp"

namespace mutex_edge::mgmt {

/// The error codes of the Management API as mutex-mgmt answers them:
/// `{"error":{"code":"<to_string>","message":...}}` with status_of's status.
enum class ErrorCode : std::uint8_t {
  kInvalidJson,              // 400
  kInvalidType,              // 400
  kInvalidValue,             // 400
  kValueTooLong,             // 400
  kTooManyItems,             // 400
  kMissingField,             // 400
  kInvalidPercentage,        // 400
  kNoSlots,                  // 400
  kTooManySlots,             // 400
  kInvalidSlots,             // 400
  kInvalidEvaluationMode,    // 400
  kPercentagesMustSumTo100,  // 400
  kInvalidQuery,             // 400
  kInvalidLimit,             // 400
  kInvalidCursor,            // 400
  kUnauthorized,             // 401
  kNotFound,                 // 404
  kSlotNotFound,             // 404
  kMethodNotAllowed,         // 405
  kDuplicateKey,             // 409
  kPayloadTooLarge,          // 413
  kCohortTooLarge,           // 413 (a cohort with more members than maxCohortSize)
  kUnsupportedMediaType,     // 415
  kRateLimited,              // 429 (an injected fault)
  kInternalError,            // 500 (an injected fault)
  kStorageError,             // 500
};
[[nodiscard]] std::string_view to_string(ErrorCode code) noexcept;
[[nodiscard]] int status_of(ErrorCode code) noexcept;

/// A request the Management API refuses: mutex-mgmt's one error type. The message names the
/// field and what to fix; it never holds a secret.
struct ApiError {
  ApiError() = default;
  // A constructor (not an aggregate): boost::system::result<std::size_t, ApiError> must not
  // see a number as convertible to an error.
  ApiError(ErrorCode error_code, std::string error_message)
      : code{error_code}, message{std::move(error_message)} {}

  ErrorCode code = ErrorCode::kInvalidValue;
  std::string message;
};

/// The API's answer to a configuration problem in a request body or a stored group.
[[nodiscard]] ApiError to_api_error(const config::ConfigError& error);

}  // namespace mutex_edge::mgmt
