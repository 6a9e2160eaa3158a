#include "metrics/poll_metrics.hpp"

#include <string>

namespace mutex_edge::metrics {
namespace {

constexpr std::string_view kOutcomes[] = {"updated",      "unchanged",    "not_modified",
                                          "auth_error",   "rate_limited", "http_error",
                                          "network_error", "invalid_response"};

}  // namespace

PollMetrics::PollMetrics(prometheus::Registry& registry)
    : polls_{prometheus::BuildCounter()
                 .Name("mutex_edge_upstream_polls_total")
                 .Help("Polls of the upstream Management API by outcome")
                 .Register(registry)},
      duration_{prometheus::BuildHistogram()
                    .Name("mutex_edge_upstream_poll_duration_seconds")
                    .Help("Time to fetch every page of the upstream listing")
                    .Register(registry)
                    .Add({}, prometheus::Histogram::BucketBoundaries{
                                 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})},
      pages_{prometheus::BuildCounter()
                 .Name("mutex_edge_upstream_pages_total")
                 .Help("Pages of the upstream listing fetched")
                 .Register(registry)
                 .Add({})},
      last_success_{prometheus::BuildGauge()
                        .Name("mutex_edge_upstream_last_success_timestamp_seconds")
                        .Help("Unix time of the last successful poll (0: none yet)")
                        .Register(registry)
                        .Add({})} {
  for (std::string_view outcome : kOutcomes) {
    polls_.Add({{"outcome", std::string{outcome}}});
  }
}

void PollMetrics::poll_finished(std::string_view outcome, std::chrono::duration<double> took,
                                std::size_t pages) {
  polls_.Add({{"outcome", std::string{outcome}}}).Increment();
  duration_.Observe(took.count());
  pages_.Increment(static_cast<double>(pages));
}

void PollMetrics::success_at(std::chrono::system_clock::time_point when) {
  last_success_.Set(std::chrono::duration<double>(when.time_since_epoch()).count());
}

}  // namespace mutex_edge::metrics
