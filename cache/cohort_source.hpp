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

namespace mutex_edge::cache {

/// What is known of one cohort a served slot references. Immutable once published.
struct CohortState {
  enum class Status : std::uint8_t {
    kPending,   // not downloaded yet: its inclusions match no one
    kReady,     // members downloaded (maybe refreshed since)
    kTooLarge,  // over --max-cohort-size (413, or a bigger answer): no member is served
  };
  std::string id;
  Status status = Status::kPending;
  std::string group_type;          // "User" is the only one matched against user ids
  std::int64_t last_modified = 0;  // of the served members, as the cohort server said
  std::size_t size = 0;
  std::shared_ptr<const CohortMembers> members;        // null unless ready
  std::shared_ptr<const std::string> body;             // the download as received (--serve-cohorts)
  std::string error;                                   // the last failure, if the last poll failed
  std::chrono::system_clock::time_point fetched_at{};  // when the members were last confirmed
};
[[nodiscard]] std::string_view to_string(CohortState::Status status) noexcept;

/// Every referenced cohort, by id; what the assignment path reads (through a SnapshotStore).
struct CohortTable {
  std::map<std::string, std::shared_ptr<const CohortState>, std::less<>> cohorts;
  /// The ready User cohorts with their members, for the per-answer lookups.
  struct Lookup {
    std::string_view id;
    const CohortMembers* members;
  };
  std::vector<Lookup> lookups;

  /// Fills `lookups` from `cohorts`.
  void index();
};

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
    std::function<void(std::shared_ptr<const CohortTable>)> publish;
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

}  // namespace mutex_edge::cache
