#pragma once

#include <string>

namespace mutex_edge::mgmt {

/// A request the Management API refuses: the HTTP status and the JSON error body
/// `{"error":{"code":...,"message":...}}`. The message names the field and what to fix; it never
/// holds a secret.
struct ApiError {
  ApiError() = default;
  // A constructor (not an aggregate): boost::system::result<std::size_t, ApiError> must not
  // see a number as convertible to an error.
  ApiError(int http_status, std::string error_code, std::string error_message)
      : status{http_status}, code{std::move(error_code)}, message{std::move(error_message)} {}

  int status = 400;
  std::string code;  // snake_case
  std::string message;
};

}  // namespace mutex_edge::mgmt
