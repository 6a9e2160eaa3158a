#include "wire/errors.hpp"

#include <array>

namespace mutex_edge::wire {
namespace {

struct ErrorInfo {
  std::string_view name;
  int status;
};

/// Every error code's name and status, in the enum's order.
constexpr std::array<ErrorInfo, static_cast<std::size_t>(ErrorCode::kNotReady) + 1> kErrors = {{
    {"invalid_json", 400},
    {"invalid_request", 400},
    {"invalid_user", 400},
    {"empty_user", 400},
    {"invalid_query", 400},
    {"invalid_limit", 400},
    {"invalid_cursor", 400},
    {"unauthorized", 401},
    {"not_found", 404},
    {"method_not_allowed", 405},
    {"too_many_users", 413},
    {"cohort_too_large", 413},
    {"payload_too_large", 413},
    {"unsupported_media_type", 415},
    {"too_many_watchers", 503},
    {"not_ready", 503},
}};

static_assert(kErrors.back().status != 0, "every ErrorCode has a name and a status");

}  // namespace

std::string_view to_string(ErrorCode code) noexcept {
  return kErrors[static_cast<std::size_t>(code)].name;
}

int status_of(ErrorCode code) noexcept {
  return kErrors[static_cast<std::size_t>(code)].status;
}

}  // namespace mutex_edge::wire
