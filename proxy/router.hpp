#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/url/params_encoded_view.hpp>

#include "cache/snapshot_store.hpp"
#include "http/server.hpp"
#include "cache/user_json.hpp"
#include "metrics/proxy_metrics.hpp"
#include "proxy/service.hpp"
#include "proxy/settings.hpp"

namespace mutex_edge::proxy {

using http::Method;
using http::Request;
using http::Response;

/// Answers the routes of design.md section 3. One per worker thread: it holds that thread's
/// snapshot reader, JSON decoder, metric shard and scratch buffers, so the assignment path takes
/// no lock and, once the buffers have grown, allocates nothing it can avoid.
class Router {
 public:
  Router(Service& service, metrics::ProxyMetrics& metrics, const Settings& settings,
         std::size_t worker);

  /// Fills `response` for `request`; returns the route for metrics.
  metrics::Route handle(const Request& request, Response& response);

  [[nodiscard]] metrics::WorkerShard& shard() noexcept { return shard_; }

 private:
  void assign_get(std::string_view query, Response& response);
  void assign_post(const Request& request, Response& response, bool batch);
  void list_mutexes(const Request& request, std::string_view query, Response& response);
  void get_mutex(const Request& request, std::string_view id, Response& response);
  void metrics_text(Response& response);

  /// Resolves the requested keys (or every group) into groups_ and unknown_.
  void select_groups(const cache::Snapshot& snapshot, bool has_keys,
                     const std::vector<std::string_view>& keys);
  /// The served state for this request, or null (and a 503 in `response`) before the first.
  const ServingState* state_or_503(Response& response);
  static void count_assignment(void* self, std::size_t group, int slot);
  boost::system::result<boost::urls::params_encoded_view> parse_query(std::string_view query);

  Service& service_;
  metrics::ProxyMetrics& metrics_;
  const Settings& settings_;
  metrics::WorkerShard& shard_;
  cache::StoreReader<ServingState> reader_;
  cache::RequestDecoder decoder_;
  const ServingState* current_ = nullptr;

  // Scratch reused across requests.
  std::string query_;
  std::vector<std::size_t> groups_;
  std::vector<std::string_view> unknown_;
  std::vector<std::string_view> keys_;
  std::string decoded_;
  std::vector<eval::Field> fields_;
  std::vector<eval::Field> properties_;
  std::vector<std::string_view> cohorts_;
};

/// The router as the HTTP server's per-worker handler: answers, then counts the request.
class RouterHandler : public http::Handler {
 public:
  RouterHandler(Service& service, metrics::ProxyMetrics& metrics, const Settings& settings,
                std::size_t worker)
      : router_{service, metrics, settings, worker} {}

  void handle(const Request& request, Response& response) override {
    route_ = router_.handle(request, response);
  }
  void finished(const Response& response, std::chrono::steady_clock::duration took,
                bool handled) override {
    router_.shard().record_request(handled ? route_ : metrics::Route::kUnknown, response.status,
                                   took);
  }

 private:
  Router router_;
  metrics::Route route_ = metrics::Route::kUnknown;
};

}  // namespace mutex_edge::proxy
