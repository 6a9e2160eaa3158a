#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "cache/cohort_members.hpp"
#include "common/error.hpp"

namespace mutex_edge::sources {

struct CohortOptions {
  std::string url;      // http(s)://host[:port][/base] of the cohort download API
  std::string api_key;  // Basic apiKey:secretKey; never logged, never in an error
  std::string secret_key;
  std::chrono::milliseconds interval{std::chrono::seconds{60}};  // between rounds of polls
  std::chrono::milliseconds failure_interval{std::chrono::seconds{1}};
  std::chrono::milliseconds connect_timeout{std::chrono::seconds{5}};
  std::chrono::milliseconds request_timeout{std::chrono::seconds{60}};
  std::string ca_file;
  std::size_t max_cohort_size = 10'000'000;  // members; beyond it a cohort is not served
  std::size_t max_body_bytes = std::size_t{1} << 30;
  bool keep_bodies = false;  // keep each download's body to serve it (--serve-cohorts)
  std::string state_dir;     // persist every download there (atomic), load them at start
};

/// Downloads the cohorts it is told about from Amplitude's cohort download API
/// (`GET <url>/sdk/v1/cohort/<id>?maxCohortSize=N[&lastModified=T]`, Basic auth), one at a time
/// on the given executor, and polls them with lastModified: 204 keeps what it has, 413 marks the
/// cohort too large, any failure keeps the last good members. Each change is published as a new
/// table through `publish` (on the executor).
class CohortSource {
 public:
  struct Callbacks {
    std::function<void(std::shared_ptr<const cache::CohortTable>)> publish;
    /// After every download attempt: the cohort, "updated", "not_modified", "too_large" or
    /// "failed", and the seconds it took. Optional.
    std::function<void(const std::string&, std::string_view, double)> polled;
  };
  [[nodiscard]] static common::Result<std::unique_ptr<CohortSource>> create(
      boost::asio::any_io_executor executor, CohortOptions options, Callbacks callbacks);
  ~CohortSource();

  /// The cohorts the served configuration references (on the executor): new ones are fetched
  /// now, ones no longer referenced are dropped.
  void want(std::vector<std::string> ids);
  /// Loads what --state-dir kept, then polls until stop().
  void start();
  void stop();
  /// "cohorts:<scheme>://<host>:<port><base>" (never a key).
  [[nodiscard]] const std::string& name() const noexcept;

 private:
  struct Impl;
  explicit CohortSource(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace mutex_edge::sources
