#include "mgmt/server.hpp"

#include <string>

#include <spdlog/spdlog.h>

namespace mutex_edge::mgmt {
namespace {

std::string_view route_name(Route route) {
  switch (route) {
    case Route::kList:
      return "list";
    case Route::kGet:
      return "get";
    case Route::kCreate:
      return "create";
    case Route::kEdit:
      return "edit";
    case Route::kEditSlot:
      return "edit_slot";
    case Route::kHealth:
      return "health";
    case Route::kUnknown:
      break;
  }
  return "other";
}

std::string_view fault_name(Fault fault) {
  switch (fault) {
    case Fault::kError500:
      return "500";
    case Fault::kError429:
      return "429";
    case Fault::kTruncate:
      return "truncated";
    case Fault::kDrop:
      return "dropped";
    case Fault::kNone:
      break;
  }
  return "none";
}

}  // namespace

void ApiHandler::handle(const Request& request, Response& response) {
  route_ = api_.handle(request, response);
  fault_ = Fault::kNone;
  const FaultSettings& faults = faults_.settings();
  if (is_read(route_) && faults.any()) {
    fault_ = faults_.draw();
    switch (fault_) {
      case Fault::kError500:
        Api::error(response, 500, "internal_error",
                   "injected upstream fault (--fault-500-percent)");
        break;
      case Fault::kError429:
        Api::error(response, 429, "rate_limited",
                   "injected upstream fault (--fault-429-percent); retry after " +
                       std::to_string(faults.retry_after_seconds) + " s");
        response.header("Retry-After", faults.retry_after_seconds);
        break;
      case Fault::kTruncate:
        // Valid HTTP (Content-Length is the cut length), invalid JSON.
        response.body.resize(response.body.size() / 2);
        break;
      case Fault::kDrop:
        response.drop = true;
        break;
      case Fault::kNone:
        break;
    }
    response.delay = faults.latency;
  }
  response.header("X-Data-Version", store_.data_version());
}

void ApiHandler::finished(const Response& response, std::chrono::steady_clock::duration took,
                          bool handled) {
  if (!spdlog::should_log(spdlog::level::debug)) {
    return;
  }
  spdlog::debug("msg=\"request\" route={} status={} ms={} fault={}",
                handled ? route_name(route_) : "unreadable", response.drop ? 0 : response.status,
                std::chrono::duration_cast<std::chrono::milliseconds>(took).count(),
                fault_name(fault_));
}

}  // namespace mutex_edge::mgmt
