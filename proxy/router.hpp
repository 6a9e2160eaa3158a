#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/url/params_encoded_view.hpp>

#include "cache/snapshot_store.hpp"
#include "cache/user_json.hpp"
#include "metrics/proxy_metrics.hpp"
#include "proxy/service.hpp"
#include "proxy/settings.hpp"

namespace mutex_edge::proxy {

enum class Method : std::uint8_t { kGet, kPost, kOther };

/// A complete request as the router needs it (views into the session's buffers).
struct Request {
  Method method = Method::kOther;
  std::string_view target;
  std::string_view content_type;
  std::string_view if_none_match;
  std::string_view body;
};

/// A response to write. Its buffers are reused from one request to the next.
struct Response {
  int status = 200;
  std::string_view content_type = "application/json";
  std::string body;
  std::string_view allow;  // for 405
  std::string_view etag;   // static or owned by the served state
  std::uint64_t version = 0;  // X-Config-Version; 0 before the first snapshot

  void reset() {
    status = 200;
    content_type = "application/json";
    body.clear();
    allow = {};
    etag = {};
    version = 0;
  }
};

/// Answers the routes of design.md section 3. One per worker thread: it holds that thread's
/// snapshot reader, JSON decoder, metric shard and scratch buffers, so the assignment path takes
/// no lock and, once the buffers have grown, allocates nothing it can avoid.
class Router {
 public:
  Router(Service& service, metrics::ProxyMetrics& metrics, const Settings& settings,
         std::size_t worker);

  /// Fills `response` for `request`; returns the route for metrics.
  metrics::Route handle(const Request& request, Response& response);

  /// Writes a JSON error body (`{"error":{"code":...,"message":...}}`) with its status.
  static void error(Response& response, int status, std::string_view code,
                    std::string_view message);

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

}  // namespace mutex_edge::proxy
