#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/model.hpp"
#include "http/bearer_keys.hpp"
#include "http/query.hpp"
#include "http/server.hpp"
#include "mgmt/errors.hpp"
#include "mgmt/store.hpp"

namespace mutex_edge::mgmt {

/// What a request was, for fault injection and logs.
enum class Route : unsigned char { kList, kGet, kCreate, kEdit, kEditSlot, kHealth, kUnknown };

/// The read endpoints: the ones upstream faults are injected into.
[[nodiscard]] constexpr bool is_read(Route route) noexcept {
  return route == Route::kList || route == Route::kGet;
}
[[nodiscard]] std::string_view to_string(Route route) noexcept;

/// Sets the response to the API's error `code` with `message`.
void error(http::Response& response, ErrorCode code, std::string_view message);
inline void error(http::Response& response, const ApiError& e) {
  error(response, e.code, e.message);
}

/// The five mutex endpoints of design.md section 1, plus /healthz. Checks routes, methods,
/// the API key, content types and bodies, then reads or writes the store. One per worker
/// thread (its query buffers are its own); the store is shared.
class Api {
 public:
  struct Options {
    bool require_auth = true;
    std::string fallback_host;  // for the create answer's url when a request has no Host
    config::ConfigLimits limits;
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

  Store& store_;
  const http::BearerKeys& keys_;
  Options options_;
  http::QueryParams query_;
};

}  // namespace mutex_edge::mgmt
