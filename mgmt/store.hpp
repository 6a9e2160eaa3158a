#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/system/result.hpp>

#include "common/error.hpp"
#include "config/cohorts.hpp"
#include "config/model.hpp"
#include "mgmt/errors.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace mutex_edge::mgmt {

template <typename T>
using StoreResult = boost::system::result<T, ApiError>;

/// The groups and cohorts, in one SQLite file: WAL journal, synchronous=FULL, every write one
/// transaction that is committed (and so on disk) before the caller answers. A group is kept as
/// the JSON config::write_group makes, beside indexed id, key and archived columns; edits read it
/// back with config::parse_group. A cohort is kept as its fields and its members' JSON array. A
/// data version, stored too, grows by one with every change.
///
/// Thread-safe: one connection, one mutex. A failing database gives a 500 `storage_error`.
class Store {
 public:
  /// Opens or creates the database. The error is one line naming the file and the cause.
  [[nodiscard]] static common::Result<std::unique_ptr<Store>> open(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  [[nodiscard]] std::uint64_t data_version() const noexcept {
    return version_.load(std::memory_order_acquire);
  }

  /// Groups held, archived ones included.
  [[nodiscard]] StoreResult<std::size_t> size();

  /// Inserts `groups` (ids, keys and salts as given) when the database holds no group at all;
  /// returns how many were inserted (0 when it was not empty).
  [[nodiscard]] StoreResult<std::size_t> seed_if_empty(
      const std::vector<config::GroupConfig>& groups);

  /// Up to `limit` groups that are not archived, with ids above `after`, in id order (JSON).
  struct Page {
    std::vector<std::string> groups;
    std::optional<std::int64_t> next_after;  // set when more groups follow
  };
  [[nodiscard]] StoreResult<Page> list(std::int64_t after, std::size_t limit);

  /// One group's JSON; 404 when there is none or it is archived.
  [[nodiscard]] StoreResult<std::string> get(std::int64_t id);

  /// Stores a new group under the next id. `key_given`: `group.key` must be free (409
  /// otherwise); else `group.key` is a base made unique (`base`, then `base-<id>`).
  /// `group` gets its id and key. Returns the stored JSON.
  [[nodiscard]] StoreResult<std::string> create(config::GroupConfig& group, bool key_given);

  /// Reads a group, lets `mutate` change it and its archived flag (or refuse with an error),
  /// and stores the result if anything changed. 404 when there is no such group. Returns the
  /// group's JSON as stored.
  using Mutation =
      std::function<std::optional<ApiError>(config::GroupConfig& group, bool& archived)>;
  [[nodiscard]] StoreResult<std::string> update(std::int64_t id, const Mutation& mutate);

  /// A cohort as stored. `members_json` (its member ids as a JSON array of strings) is read only
  /// when asked for.
  struct StoredCohort {
    std::string id;
    std::string group_type;
    std::int64_t group_type_id = 0;
    std::int64_t last_computed = 0;  // ms since the epoch
    std::int64_t last_modified = 0;
    std::int64_t size = 0;
    std::string members_json;
  };

  /// Cohorts held.
  [[nodiscard]] StoreResult<std::size_t> cohort_count();

  /// Inserts `cohorts` when the database holds no cohort at all; returns how many were inserted
  /// (0 when it was not empty). A missing lastModified is `now_ms`, a missing lastComputed the
  /// lastModified.
  [[nodiscard]] StoreResult<std::size_t> seed_cohorts_if_empty(
      const std::vector<config::Cohort>& cohorts, std::int64_t now_ms);

  /// One cohort; 404 when there is none. Its members are read when `with_members(cohort)` (the
  /// fields read so far) says so.
  [[nodiscard]] StoreResult<StoredCohort> cohort(
      const std::string& id, const std::function<bool(const StoredCohort&)>& with_members);

  /// Replaces a cohort's members, creating it if absent. groupType and groupTypeId not given are
  /// kept (a new cohort: "User" and 0). lastModified and lastComputed become `now_ms`, or one
  /// more than the previous lastModified if that is not earlier: they grow with every put, even
  /// within one millisecond. Returns the cohort without its members.
  [[nodiscard]] StoreResult<StoredCohort> put_cohort(const std::string& id, config::CohortPut put,
                                                     std::int64_t now_ms);

 private:
  class Statement;
  class Transaction;

  explicit Store(sqlite3* db);
  [[nodiscard]] ApiError failure(const char* what) const;
  [[nodiscard]] bool key_taken(const std::string& key, std::int64_t& owner);
  /// Counts the change in the data version and commits; the new version is published only
  /// once the commit is durable. Returns the error, if any.
  [[nodiscard]] std::optional<ApiError> commit_change(Transaction& tx, const char* what);

  sqlite3* db_;
  std::mutex mutex_;
  std::atomic<std::uint64_t> version_{0};
  std::unique_ptr<Statement> count_, list_, get_, max_id_, key_owner_, insert_, update_, bump_;
  std::unique_ptr<Statement> cohort_count_, cohort_get_, cohort_put_;
};

}  // namespace mutex_edge::mgmt
