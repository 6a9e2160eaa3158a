#pragma once

#include <chrono>

#include "http/server.hpp"
#include "mgmt/api.hpp"
#include "mgmt/faults.hpp"
#include "mgmt/store.hpp"

namespace mutex_edge::mgmt {

/// The Api as the HTTP server's per-worker handler. Adds the data version to every answer and,
/// on the read endpoints, the injected upstream faults: a delay (on the worker's own timer,
/// never a sleep), a 500, a 429 with Retry-After, a body cut in half, or a dropped connection.
class ApiHandler : public http::Handler {
 public:
  ApiHandler(Api api, FaultInjector& faults, Store& store)
      : api_{std::move(api)}, faults_{faults}, store_{store} {}

  void handle(const http::Request& request, http::Response& response,
              http::Exchange& exchange) override;
  void finished(const http::Response& response, std::chrono::steady_clock::duration took,
                bool handled) override;

 private:
  Api api_;
  FaultInjector& faults_;
  Store& store_;
  Route route_ = Route::kUnknown;
  Fault fault_ = Fault::kNone;
};

}  // namespace mutex_edge::mgmt
