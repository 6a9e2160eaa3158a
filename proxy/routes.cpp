#include "proxy/routes.hpp"

#include <array>

namespace mutex_edge::proxy {
namespace {

constexpr std::array<std::string_view, kRoutes.size()> kRouteNames = {"/assign",
                                                                      "/assign/batch",
                                                                      "/api/1/mutexes",
                                                                      "/api/1/mutexes/{id}",
                                                                      "/healthz",
                                                                      "/readyz",
                                                                      "/status",
                                                                      "/metrics",
                                                                      "/sdk/v2/flags",
                                                                      "/sdk/v2/vardata",
                                                                      "/sdk/v1/cohort/{id}",
                                                                      "unknown"};

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
    {"unsupported_media_type", 415},
    {"not_ready", 503},
}};

template <typename Enum, std::size_t N>
constexpr bool in_order(const std::array<Enum, N>& values) {
  for (std::size_t i = 0; i < N; ++i) {
    if (static_cast<std::size_t>(values[i]) != i) {
      return false;
    }
  }
  return true;
}
static_assert(in_order(kRoutes), "kRoutes lists every Route in order");
static_assert(!kRouteNames.back().empty(), "every Route has a name");
static_assert(kErrors.back().status != 0, "every ErrorCode has a name and a status");

}  // namespace

std::string_view to_string(Route route) noexcept {
  return kRouteNames[static_cast<std::size_t>(route)];
}

std::string_view to_string(ErrorCode code) noexcept {
  return kErrors[static_cast<std::size_t>(code)].name;
}

int status_of(ErrorCode code) noexcept {
  return kErrors[static_cast<std::size_t>(code)].status;
}

}  // namespace mutex_edge::proxy
