#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/query.hpp"
#include "config/cohorts.hpp"
#include "config/model.hpp"
#include "http/basic_auth.hpp"
#include "http/bearer_keys.hpp"
#include "http/server.hpp"
#include "mgmt/errors.hpp"
#include "mgmt/store.hpp"

namespace mutex_edge::mgmt {

/// What a request was, for fault injection and logs.
enum class Route : unsigned char {
  kList,
  kGet,
  kCreate,
  kEdit,
  kEditSlot,
  kCohortGet,
  kCohortPut,
  kHealth,
  kUnknown
};

/// The read endpoints: the ones upstream faults are injected into.
[[nodiscard]] constexpr bool is_read(Route route) noexcept {
  return route == Route::kList || route == Route::kGet || route == Route::kCohortGet;
}
[[nodiscard]] std::string_view to_string(Route route) noexcept;

/// Sets the response to the API's error `code` with `message`.
void error(http::Response& response, ErrorCode code, std::string_view message);
inline void error(http::Response& response, const ApiError& e) {
  error(response, e.code, e.message);
}

/// The five mutex endpoints of design.md section 1, Amplitude's cohort download endpoint
/// (GET /sdk/v1/cohort/{id}) with its PUT to replace a cohort's members, and /healthz. Checks
/// routes, methods, the API key (Bearer for groups, Basic apiKey:secret for cohorts), content
/// types and bodies, then reads or writes the store. One per worker thread (its query buffers
/// are its own); the store is shared.
class Api {
 public:
  struct Options {
    bool require_auth = true;
    std::string fallback_host;  // for the create answer's url when a request has no Host
    config::ConfigLimits limits;
    /// The cohort endpoint's credentials; without a secret it refuses everyone (unless
    /// require_auth is false).
    http::BasicAuth cohort_auth;
    config::CohortLimits cohort_limits;
  };

  Api(Store& store, const http::BearerKeys& keys, Options options);

  /// Fills `response` for `request`; returns the route it took.
  Route handle(const http::Request& request, http::Response& response);

 private:
  void list(std::string_view query, http::Response& response);
  void get(std::int64_t id, http::Response& response);
  void create(const http::Request& request, http::Response& response);
  void edit(std::int64_t id, const http::Request& request, http::Response& response);
  void edit_slot(std::int64_t id, std::string_view slot, const http::Request& request,
                 http::Response& response);
  Route cohort_route(std::string_view path, std::string_view query, const http::Request& request,
                     http::Response& response);
  void get_cohort(std::string_view id, std::string_view query, http::Response& response);
  void put_cohort(std::string_view id, const http::Request& request, http::Response& response);

  Store& store_;
  const http::BearerKeys& keys_;
  Options options_;
  common::QueryParams query_;
};

}  // namespace mutex_edge::mgmt
