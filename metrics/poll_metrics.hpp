#pragma once

#include <chrono>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace mutex_edge::metrics {

/// How fresh the served configuration is: the upstream poller's series. Control thread only.
class PollMetrics {
 public:
  explicit PollMetrics(prometheus::Registry& registry);

  /// One poll ended with `outcome` (updated, unchanged, not_modified, auth_error, rate_limited,
  /// http_error, network_error, invalid_response) after `pages` pages.
  void poll_finished(std::string_view outcome, std::chrono::duration<double> took,
                     std::size_t pages);
  /// A poll succeeded (updated, unchanged or not modified) at `when`.
  void success_at(std::chrono::system_clock::time_point when);

 private:
  prometheus::Family<prometheus::Counter>& polls_;
  prometheus::Histogram& duration_;
  prometheus::Counter& pages_;
  prometheus::Gauge& last_success_;
};

}  // namespace mutex_edge::metrics
