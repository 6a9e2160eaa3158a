#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/watchers.hpp"
#include "serving/edge_metrics.hpp"
#include "serving/routes.hpp"
#include "serving/service.hpp"
#include "wire/request_decoder.hpp"

#include "cache/snapshot_store.hpp"
#include "common/query.hpp"
#include "http/bearer_keys.hpp"
#include "http/server.hpp"

namespace mutex_edge::api {

/// The request headers the router reads beyond http::Request's own (http::Options's
/// captured_headers), by position in Request::captured.
inline constexpr std::array<std::string_view, 3> kCapturedHeaders = {
    "X-Amp-Exp-User", "X-Amp-Exp-Flag-Keys", "Prefer"};
inline constexpr std::size_t kAmpUserHeader = 0;
inline constexpr std::size_t kAmpFlagKeysHeader = 1;
inline constexpr std::size_t kPreferHeader = 2;  // a watch request's wait (RFC 7240)
/// kCapturedHeaders for http::Options.
[[nodiscard]] std::vector<std::string> captured_headers();

/// What the HTTP API checks and caps (filled from the flags by proxy/).
struct ApiOptions {
  // --require-key: /assign, /assign/batch and the read API want "Authorization: Bearer <key>"
  // with one of client_keys.
  bool require_key = false;
  http::BearerKeys client_keys;
  // The deployment keys the SDK routes accept as "Authorization: Api-Key <key>". Empty: any
  // key, unless require_key, which then asks for a client key.
  http::BearerKeys sdk_keys;
  std::size_t max_batch_users = 1000;  // users in one /assign/batch
  bool serve_cohorts = false;          // answer GET /sdk/v1/cohort/{id}
};

/// Answers the routes of docs/http-api.md. One per worker thread: it holds that thread's
/// snapshot reader, request decoder, metric shard and scratch buffers, so the assignment path
/// takes no lock and, once the buffers have grown, allocates nothing it can avoid.
class Router {
 public:
  Router(serving::Service& service, serving::EdgeMetrics& metrics, const ApiOptions& options,
         std::size_t worker, serving::RouteSet routes = serving::RouteSet::kAll);

  /// Fills `response` for `request`; returns the route for metrics. With `exchange`, a request
  /// that waits for work elsewhere (the first SDK flags of a configuration) is answered later;
  /// without, that work runs here.
  serving::Route handle(const http::Request& request, http::Response& response,
                        http::Exchange* exchange = nullptr);
  /// Moves on to the served state now (an idle worker would keep the replaced one until its
  /// next request).
  /// Also answers the watch requests held on an ETag no longer served.
  void refresh();
  /// Answers every held watch request now (the server drains): a 304, or the new listing.
  void release_watchers() { watchers_.release_all(); }
  /// The route of an answer ended later (a held watch request), once, for the handler's
  /// metrics; nothing for an answer handle() gave.
  [[nodiscard]] std::optional<serving::Route> take_deferred_route() noexcept {
    return std::exchange(deferred_route_, std::nullopt);
  }

 private:
  void assign_get(std::string_view query, http::Response& response);
  void assign_post(const http::Request& request, http::Response& response, bool batch);
  /// GET /api/1/mutexes; with an If-None-Match that matches the served ETag (http::etag_matches)
  /// and `Prefer: wait=N`, held (see Watchers) until it no longer does or the wait ends.
  void list_mutexes(const http::Request& request, std::string_view query, http::Response& response,
                    http::Exchange* exchange);
  /// One page of the served listing, or a 304 when `if_none_match` still matches its ETag.
  void list_page(std::string_view if_none_match, std::string_view query, http::Response& response);
  void get_mutex(const http::Request& request, std::string_view id, http::Response& response);
  /// GET /sdk/v2/flags and /sdk/v2/vardata: Amplitude's SDKs' local and remote evaluation.
  void sdk_flags(const http::Request& request, http::Response& response, http::Exchange* exchange);
  void sdk_vardata(const http::Request& request, std::string_view query, http::Response& response);
  /// Reads the flag keys a vardata request names (X-Amp-Exp-Flag-Keys, flag_key) into
  /// sdk_keys_; false (and a 400 in `response`) when they are malformed.
  bool sdk_flag_keys(const http::Request& request, std::string_view query,
                     http::Response& response);

  /// True when the request may use an SDK route (Api-Key <deployment key>); else a 401.
  bool sdk_authorized(const http::Request& request, http::Response& response);
  /// GET /sdk/v1/cohort/{id}: a synced cohort as Amplitude's cohort download API answers it.
  void sdk_cohort(const http::Request& request, std::string_view id, std::string_view query,
                  http::Response& response);
  /// With cohort sync, adds to a user who has a user_id the synced cohorts that list it (after
  /// the cohort_ids the caller gave).
  void add_synced_cohorts(eval::User& user);

  /// True when the request may use a serving route (--require-key); else a 401 in `response`.
  bool authorized(const http::Request& request, http::Response& response);
  /// The served state for this request, or null (and a 503 in `response`) before the first.
  const serving::ServingState* state_or_503(http::Response& response);
  /// Writes the assignments of the decoded request's users (one, or a batch) to the groups
  /// it names.
  void write_answer(const serving::ServingState& state, const wire::AssignRequest& request,
                    bool batch, http::Response& response);
  static void count_assignment(void* self, std::size_t group, int slot);

  serving::Service& service_;
  serving::EdgeMetrics& metrics_;
  const ApiOptions& options_;
  std::size_t worker_;
  serving::RouteSet routes_;
  cache::StoreReader<serving::ServingState> reader_;
  cache::StoreReader<cache::CohortTable> cohort_reader_;
  wire::RequestDecoder decoder_;
  common::QueryParams query_;
  const serving::ServingState* current_ = nullptr;
  Watchers watchers_;
  std::optional<serving::Route> deferred_route_;

  // Scratch reused across requests.
  std::vector<std::size_t> groups_;
  std::vector<std::string_view> unknown_;
  std::string sdk_user_;                    // the decoded X-Amp-Exp-User
  std::string sdk_keys_text_;               // the decoded X-Amp-Exp-Flag-Keys
  std::vector<std::string> sdk_key_store_;  // the flag keys a vardata request names
  std::vector<std::string_view> sdk_keys_;
  std::vector<std::string_view> cohort_ids_;  // a user's cohort_ids with the synced ones
  bool sdk_named_ = false;                    // the request names flag keys (else: every group)
};

/// The router as the HTTP server's per-worker handler: answers, then counts the request.
class RouterHandler : public http::Handler {
 public:
  RouterHandler(serving::Service& service, serving::EdgeMetrics& metrics, const ApiOptions& options,
                std::size_t worker, serving::RouteSet routes = serving::RouteSet::kAll)
      : router_{service, metrics, options, worker, routes}, metrics_{metrics}, worker_{worker} {}

  void handle(const http::Request& request, http::Response& response,
              http::Exchange& exchange) override {
    route_ = router_.handle(request, response, &exchange);
  }
  void finished(const http::Response& response, std::chrono::steady_clock::duration took,
                bool handled) override {
    const serving::Route route = router_.take_deferred_route().value_or(route_);
    metrics_.request(worker_, handled ? route : serving::Route::kUnknown, response.status, took);
  }
  void notified() override { router_.refresh(); }
  void draining() override { router_.release_watchers(); }

 private:
  Router router_;
  serving::EdgeMetrics& metrics_;
  std::size_t worker_;
  serving::Route route_ = serving::Route::kUnknown;
};

/// Sets the response to mutex-edge's error `code` with `message`.
void error(http::Response& response, wire::ErrorCode code, std::string_view message);
inline void error(http::Response& response, const wire::ApiError& e) {
  error(response, e.code, e.message);
}

}  // namespace mutex_edge::api
