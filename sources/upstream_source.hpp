#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "wire/chain.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/system/result.hpp>

#include "cache/provenance.hpp"
#include "common/error.hpp"
#include "config/parser.hpp"

namespace mutex_edge::sources {

struct UpstreamOptions {
  std::string url;      // http(s)://host[:port][/base]: the Management API or another mutex-edge
  std::string api_key;  // sent as a bearer token; never logged, never in an error
  std::chrono::milliseconds interval{std::chrono::seconds{10}};
  std::chrono::milliseconds jitter{std::chrono::seconds{1}};            // +- on every interval
  std::chrono::milliseconds failure_interval{std::chrono::seconds{1}};  // first retry
  std::chrono::milliseconds backoff_max{std::chrono::seconds{60}};
  std::chrono::milliseconds connect_timeout{std::chrono::seconds{5}};
  std::chrono::milliseconds request_timeout{std::chrono::seconds{10}};  // per page
  std::string ca_file;  // trust these CAs instead of the system's
  std::size_t page_limit = 1000;
  std::size_t max_pages = 1000;
  config::ParseOptions parse;  // limits per page (max_document_bytes caps each response body)
  std::size_t max_listing_bytes = std::size_t{512} << 20;  // all the pages of one listing
  /// Watch an upstream that advertises kWatchHeader: the first page is asked for with
  /// If-None-Match and `Prefer: wait=<interval, at least 1 s>`, held there until the listing
  /// changes; then asked again at once (not before `interval` after a 304).
  bool watch = true;
};

/// Polls `GET <url>/api/1/mutexes?limit=N[&cursor=...]` through every page on the given
/// executor (the control thread), all or nothing: a poll yields a configuration only if every
/// page arrived and parsed. Backs off exponentially with jitter on errors.
class UpstreamSource {
 public:
  struct Callbacks {
    /// Every page, merged, fetched and parsed in `fetch_time`. Returns kUpdated when it changed
    /// the served configuration, kUnchanged when it did not, or a failure when the listing was
    /// refused (then it counts as a failed poll, and its ETag is not kept).
    std::function<cache::PollOutcome(config::ListPage,
                                     std::chrono::steady_clock::duration fetch_time)>
        loaded;
    std::function<void()> not_modified;
    /// The poll failed; the message is fit for logs and /status (it never holds the key).
    std::function<void(cache::PollOutcome, const std::string&)> failed;
    std::function<void(const cache::PollReport&)> finished;  // after every poll; optional
  };

  /// Checks the URL and TLS settings (a bad --ca-file fails here).
  [[nodiscard]] static common::Result<std::unique_ptr<UpstreamSource>> create(
      boost::asio::any_io_executor executor, UpstreamOptions options, Callbacks callbacks);
  ~UpstreamSource();

  /// Polls now, then keeps polling until stop().
  void start();
  void stop();

  /// "upstream:<scheme>://<host>:<port><base>" (never the key).
  [[nodiscard]] const std::string& name() const noexcept;
  /// Where the listing given to Callbacks::loaded came from (read there, on the executor).
  [[nodiscard]] cache::ChainOrigin origin() const noexcept;
  /// True when the next poll is a watch (the upstream advertises kWatchHeader).
  [[nodiscard]] bool watching() const noexcept;

  /// The delay before the next poll after `outcome`, the `failures`-th in a row (0 on success),
  /// with `retry_after` from the server if it sent one. Exposed for tests.
  [[nodiscard]] static std::chrono::milliseconds next_delay(const UpstreamOptions& options,
                                                            cache::PollOutcome outcome,
                                                            unsigned failures,
                                                            std::chrono::milliseconds retry_after,
                                                            std::mt19937_64& rng);

 private:
  struct Impl;
  explicit UpstreamSource(std::unique_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace mutex_edge::sources
