#include "mgmt/server.hpp"

#include <array>
#include <memory>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

namespace mutex_edge::mgmt {
namespace {

std::string_view fault_name(Fault fault) {
  static constexpr std::array<std::string_view, 5> kNames = {"none", "dropped", "500", "429",
                                                             "truncated"};
  static_assert(static_cast<std::size_t>(Fault::kTruncate) + 1 == kNames.size());
  return kNames[static_cast<std::size_t>(fault)];
}

}  // namespace

void ApiHandler::handle(const http::Request& request, http::Response& response,
                        http::Exchange& exchange) {
  route_ = api_.handle(request, response);
  fault_ = Fault::kNone;
  response.header("X-Data-Version", store_.data_version());
  const FaultSettings& faults = faults_.settings();
  if (!is_read(route_) || !faults.any()) {
    return;
  }
  fault_ = faults_.draw();
  switch (fault_) {
    case Fault::kError500:
      error(response, ErrorCode::kInternalError, "injected upstream fault (--fault-500-percent)");
      break;
    case Fault::kError429:
      error(response, ErrorCode::kRateLimited,
            "injected upstream fault (--fault-429-percent); retry after " +
                std::to_string(faults.retry_after_seconds) + " s");
      response.header("Retry-After", faults.retry_after_seconds);
      break;
    case Fault::kTruncate:
      // Valid HTTP (Content-Length is the cut length), invalid JSON.
      response.body.resize(response.body.size() / 2);
      break;
    case Fault::kDrop:
    case Fault::kNone:
      break;
  }
  const http::Outcome outcome =
      fault_ == Fault::kDrop ? http::Outcome::kClose : http::Outcome::kRespond;
  if (faults.latency <= std::chrono::milliseconds::zero() && outcome == http::Outcome::kRespond) {
    return;
  }
  auto end = exchange.defer();
  auto timer = std::make_shared<boost::asio::steady_timer>(exchange.executor(), faults.latency);
  timer->async_wait([timer, end = std::move(end), outcome](boost::system::error_code ec) {
    end(ec ? http::Outcome::kClose : outcome);
  });
}

void ApiHandler::finished(const http::Response& response, std::chrono::steady_clock::duration took,
                          bool handled) {
  if (!spdlog::should_log(spdlog::level::debug)) {
    return;
  }
  spdlog::debug(
      "msg=\"request\" route={} status={} ms={} fault={}",
      handled ? to_string(route_) : "unreadable", fault_ == Fault::kDrop ? 0 : response.status,
      std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), fault_name(fault_));
}

}  // namespace mutex_edge::mgmt
