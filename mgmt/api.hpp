#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cache/model.hpp"
#include "http/server.hpp"
#include "mgmt/api_error.hpp"
#include "mgmt/auth.hpp"
#include "mgmt/store.hpp"

namespace mutex_edge::mgmt {

using http::Method;
using http::Request;
using http::Response;

/// What a request was, for fault injection and logs.
enum class Route : unsigned char { kList, kGet, kCreate, kEdit, kEditSlot, kHealth, kUnknown };

[[nodiscard]] constexpr bool is_read(Route route) noexcept {
  return route == Route::kList || route == Route::kGet;
}

/// The five mutex endpoints of design.md section 1 plus /healthz. Checks routes, methods,
/// the API key, content types and bodies, then reads or writes the store. Thread-safe.
class Api {
 public:
  struct Options {
    bool require_auth = true;
    std::string fallback_host;  // for the create answer's url when a request has no Host
    cache::ConfigLimits limits;
  };

  Api(Store& store, const ApiKeys& keys, Options options);

  /// Fills `response` for `request`; returns the route it took.
  Route handle(const Request& request, Response& response);

  /// A JSON error body with its status.
  static void error(Response& response, int status, std::string_view code,
                    std::string_view message);
  static void error(Response& response, const ApiError& e) {
    error(response, e.status, e.code, e.message);
  }

 private:
  void list(std::string_view query, Response& response);
  void get(std::int64_t id, Response& response);
  void create(const Request& request, Response& response);
  void edit(std::int64_t id, const Request& request, Response& response);
  void edit_slot(std::int64_t id, std::string_view slot, const Request& request,
                 Response& response);

  Store& store_;
  const ApiKeys& keys_;
  Options options_;
};

}  // namespace mutex_edge::mgmt
