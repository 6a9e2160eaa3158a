#include "serving/routes.hpp"

#include <array>

namespace mutex_edge::serving {
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

}  // namespace

std::string_view to_string(Route route) noexcept {
  return kRouteNames[static_cast<std::size_t>(route)];
}

}  // namespace mutex_edge::serving
