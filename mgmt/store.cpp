#include "mgmt/store.hpp"

#include <algorithm>
#include <stdexcept>

#include <sqlite3.h>

#include <spdlog/spdlog.h>

#include "common/json_writer.hpp"
#include "common/log.hpp"
#include "common/text.hpp"
#include "config/parser.hpp"
#include "config/serialize.hpp"

namespace mutex_edge::mgmt {
namespace {

// 1: meta and groups; 2: cohorts added (a version 1 file is upgraded when opened).
constexpr int kSchemaVersion = 2;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (name, value) VALUES ('data_version', 0);
CREATE TABLE IF NOT EXISTS groups (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS groups_live ON groups (id) WHERE archived = 0;
CREATE TABLE IF NOT EXISTS cohorts (
  id TEXT PRIMARY KEY,
  group_type TEXT NOT NULL,
  group_type_id INTEGER NOT NULL,
  last_computed INTEGER NOT NULL,
  last_modified INTEGER NOT NULL,
  size INTEGER NOT NULL,
  members TEXT NOT NULL
);
)sql";

/// Member ids as the JSON array a download answers.
std::string members_json(const std::vector<std::string>& members) {
  std::size_t bytes = 2;
  for (const std::string& m : members) {
    bytes += m.size() + 3;
  }
  std::string out;
  out.reserve(bytes);
  common::JsonWriter writer{out};
  writer.begin_array();
  for (const std::string& m : members) {
    writer.value(m);
  }
  writer.end_array();
  return out;
}

std::string column_text(sqlite3_stmt* stmt, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  const int bytes = sqlite3_column_bytes(stmt, column);
  return text == nullptr ? std::string{} : std::string{text, static_cast<std::size_t>(bytes)};
}

}  // namespace

/// A prepared statement, reset and unbound after every use (`Use`).
class Store::Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK) {
      throw std::runtime_error(sqlite3_errmsg(db));
    }
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  class Use {
   public:
    explicit Use(Statement& statement) : stmt_{statement.stmt_} {}
    ~Use() {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;

    Use& bind(int i, std::int64_t value) {
      ok_ = ok_ && sqlite3_bind_int64(stmt_, i, value) == SQLITE_OK;
      return *this;
    }
    Use& bind(int i, const std::string& text) {
      ok_ = ok_ && sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()),
                                     SQLITE_STATIC) == SQLITE_OK;
      return *this;
    }
    /// SQLITE_ROW, SQLITE_DONE, or an error code.
    int step() { return ok_ ? sqlite3_step(stmt_) : SQLITE_MISUSE; }
    [[nodiscard]] sqlite3_stmt* get() const noexcept { return stmt_; }

   private:
    sqlite3_stmt* stmt_;
    bool ok_ = true;
  };

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

/// BEGIN IMMEDIATE (the write lock up front) ... COMMIT; rolled back unless committed.
class Store::Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_{db} {
    begun_ = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  ~Transaction() {
    if (begun_) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  [[nodiscard]] bool begun() const noexcept { return begun_; }
  /// With synchronous=FULL in WAL mode, a successful COMMIT has synced the WAL to disk.
  bool commit() {
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return false;
    }
    begun_ = false;
    return true;
  }

 private:
  sqlite3* db_;
  bool begun_ = false;
};

common::Result<std::unique_ptr<Store>> Store::open(const std::string& path) {
  using common::Error;
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    Error error{"cannot open database " + path + ": " +
                (db != nullptr ? sqlite3_errmsg(db) : "out of memory")};
    sqlite3_close(db);
    return error;
  }
  auto fail = [&](const std::string& what) {
    Error error{"cannot use database " + path + ": " + what + ": " + sqlite3_errmsg(db)};
    sqlite3_close(db);
    return error;
  };
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);

  // WAL needs no lock for readers, and with synchronous=FULL every commit syncs the WAL: a
  // kill -9 (or a power cut) at any moment loses no acknowledged write.
  std::string mode;
  {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &stmt, nullptr) != SQLITE_OK) {
      return fail("setting the WAL journal");
    }
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      mode = column_text(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  if (mode != "wal") {
    return fail("the WAL journal is not available (journal_mode " + mode + ")");
  }
  if (sqlite3_exec(db, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return fail("setting synchronous=FULL");
  }

  int schema = 0;
  {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr) != SQLITE_OK) {
      return fail("reading the schema version");
    }
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      schema = sqlite3_column_int(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  if (schema > kSchemaVersion) {
    sqlite3_close(db);
    return Error{"cannot use database " + path + ": it has schema version " +
                 std::to_string(schema) +
                 ", written by a newer mutex-mgmt (this one knows version " +
                 std::to_string(kSchemaVersion) + ")"};
  }
  const std::string setup = std::string{"BEGIN IMMEDIATE;"} + kSchema +
                            "PRAGMA user_version = " + std::to_string(kSchemaVersion) + "; COMMIT;";
  if (sqlite3_exec(db, setup.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return fail("creating the schema");
  }

  std::unique_ptr<Store> store;
  try {
    store.reset(new Store{db});
  } catch (const std::exception& e) {
    sqlite3_close(db);
    return Error{"cannot use database " + path + ": preparing statements: " + e.what()};
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE name = 'data_version'", -1, &stmt,
                         nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    store->version_.store(static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 0)));
  }
  sqlite3_finalize(stmt);
  return store;
}

Store::Store(sqlite3* db) : db_{db} {
  count_ = std::make_unique<Statement>(db_, "SELECT COUNT(*) FROM groups");
  list_ = std::make_unique<Statement>(
      db_, "SELECT id, body FROM groups WHERE archived = 0 AND id > ?1 ORDER BY id LIMIT ?2");
  get_ = std::make_unique<Statement>(db_, "SELECT body, archived FROM groups WHERE id = ?1");
  max_id_ = std::make_unique<Statement>(db_, "SELECT COALESCE(MAX(id), 0) FROM groups");
  key_owner_ = std::make_unique<Statement>(db_, "SELECT id FROM groups WHERE key = ?1");
  insert_ = std::make_unique<Statement>(
      db_, "INSERT INTO groups (id, key, archived, body) VALUES (?1, ?2, 0, ?3)");
  update_ =
      std::make_unique<Statement>(db_, "UPDATE groups SET body = ?2, archived = ?3 WHERE id = ?1");
  bump_ = std::make_unique<Statement>(
      db_, "UPDATE meta SET value = value + 1 WHERE name = 'data_version' RETURNING value");
  cohort_count_ = std::make_unique<Statement>(db_, "SELECT COUNT(*) FROM cohorts");
  cohort_get_ = std::make_unique<Statement>(
      db_,
      "SELECT group_type, group_type_id, last_computed, last_modified, size, members FROM cohorts "
      "WHERE id = ?1");
  cohort_put_ = std::make_unique<Statement>(
      db_,
      "INSERT INTO cohorts (id, group_type, group_type_id, last_computed, last_modified, size, "
      "members) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO UPDATE SET "
      "group_type = excluded.group_type, group_type_id = excluded.group_type_id, "
      "last_computed = excluded.last_computed, last_modified = excluded.last_modified, "
      "size = excluded.size, members = excluded.members");
}

Store::~Store() {
  // Statements first: a connection with live statements does not close.
  count_.reset();
  list_.reset();
  get_.reset();
  max_id_.reset();
  key_owner_.reset();
  insert_.reset();
  update_.reset();
  bump_.reset();
  cohort_count_.reset();
  cohort_get_.reset();
  cohort_put_.reset();
  sqlite3_close(db_);
}

ApiError Store::failure(const char* what) const {
  std::string message =
      std::string{"the database failed while "} + what + ": " + sqlite3_errmsg(db_);
  spdlog::error("msg=\"database error\" error={}", common::quote(message));
  return ApiError{ErrorCode::kStorageError, std::move(message)};
}

bool Store::key_taken(const std::string& key, std::int64_t& owner) {
  Statement::Use use{*key_owner_};
  use.bind(1, key);
  if (use.step() == SQLITE_ROW) {
    owner = sqlite3_column_int64(use.get(), 0);
    return true;
  }
  return false;
}

std::optional<ApiError> Store::commit_change(Transaction& tx, const char* what) {
  std::uint64_t version = 0;
  {
    Statement::Use use{*bump_};
    if (use.step() != SQLITE_ROW) {
      return failure("counting the change");
    }
    version = static_cast<std::uint64_t>(sqlite3_column_int64(use.get(), 0));
  }
  if (!tx.commit()) {
    return failure(what);
  }
  version_.store(version, std::memory_order_release);
  return std::nullopt;
}

StoreResult<std::size_t> Store::size() {
  std::lock_guard lock{mutex_};
  Statement::Use use{*count_};
  if (use.step() != SQLITE_ROW) {
    return failure("counting groups");
  }
  return static_cast<std::size_t>(sqlite3_column_int64(use.get(), 0));
}

StoreResult<std::size_t> Store::seed_if_empty(const std::vector<config::GroupConfig>& groups) {
  std::lock_guard lock{mutex_};
  Transaction tx{db_};
  if (!tx.begun()) {
    return failure("starting the seed");
  }
  {
    Statement::Use use{*count_};
    if (use.step() != SQLITE_ROW) {
      return failure("counting groups");
    }
    if (sqlite3_column_int64(use.get(), 0) != 0) {
      return std::size_t{0};
    }
  }
  for (const config::GroupConfig& group : groups) {
    const std::string body = config::group_json(group);
    Statement::Use use{*insert_};
    use.bind(1, group.id).bind(2, group.key).bind(3, body);
    if (use.step() != SQLITE_DONE) {
      return failure(("seeding group " + std::to_string(group.id)).c_str());
    }
  }
  if (auto refused = commit_change(tx, "committing the seed")) {
    return *refused;
  }
  return groups.size();
}

StoreResult<Store::Page> Store::list(std::int64_t after, std::size_t limit) {
  std::lock_guard lock{mutex_};
  Page page;
  page.groups.reserve(limit);
  Statement::Use use{*list_};
  // One more than asked: whether it exists says whether a next page does.
  use.bind(1, after).bind(2, static_cast<std::int64_t>(limit) + 1);
  std::int64_t last = after;
  int rc = SQLITE_OK;
  while ((rc = use.step()) == SQLITE_ROW) {
    if (page.groups.size() == limit) {
      page.next_after = last;
      break;
    }
    last = sqlite3_column_int64(use.get(), 0);
    page.groups.push_back(column_text(use.get(), 1));
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return failure("listing groups");
  }
  return page;
}

StoreResult<std::string> Store::get(std::int64_t id) {
  std::lock_guard lock{mutex_};
  Statement::Use use{*get_};
  use.bind(1, id);
  const int rc = use.step();
  if (rc == SQLITE_DONE) {
    return ApiError{ErrorCode::kNotFound, "there is no mutex group with id " + std::to_string(id)};
  }
  if (rc != SQLITE_ROW) {
    return failure("reading a group");
  }
  if (sqlite3_column_int(use.get(), 1) != 0) {
    return ApiError{ErrorCode::kNotFound, "mutex group " + std::to_string(id) + " is archived"};
  }
  return column_text(use.get(), 0);
}

StoreResult<std::string> Store::create(config::GroupConfig& group, bool key_given) {
  std::lock_guard lock{mutex_};
  Transaction tx{db_};
  if (!tx.begun()) {
    return failure("starting a write");
  }
  std::int64_t id = 0;
  {
    Statement::Use use{*max_id_};
    if (use.step() != SQLITE_ROW) {
      return failure("choosing an id");
    }
    id = sqlite3_column_int64(use.get(), 0) + 1;
  }
  std::int64_t owner = 0;
  if (key_given) {
    if (key_taken(group.key, owner)) {
      return ApiError{ErrorCode::kDuplicateKey,
                      "key \"" + group.key + "\" is already used by mutex group " +
                          std::to_string(owner) +
                          "; keys are unique (archived groups keep theirs)"};
    }
  } else if (key_taken(group.key, owner)) {
    const std::string base = group.key + "-" + std::to_string(id);
    group.key = base;
    // `base` is taken only if a client chose it as a key; a few more tries settle that.
    for (int n = 2; key_taken(group.key, owner) && n < 1000; ++n) {
      group.key = base + "-" + std::to_string(n);
    }
  }
  group.id = id;
  std::string body = config::group_json(group);
  {
    Statement::Use use{*insert_};
    use.bind(1, id).bind(2, group.key).bind(3, body);
    if (use.step() != SQLITE_DONE) {
      return failure("inserting a group");
    }
  }
  if (auto refused = commit_change(tx, "committing a new group")) {
    return *refused;
  }
  return body;
}

StoreResult<std::string> Store::update(std::int64_t id, const Mutation& mutate) {
  std::lock_guard lock{mutex_};
  Transaction tx{db_};
  if (!tx.begun()) {
    return failure("starting a write");
  }
  std::string body;
  bool archived = false;
  {
    Statement::Use use{*get_};
    use.bind(1, id);
    const int rc = use.step();
    if (rc == SQLITE_DONE) {
      return ApiError{ErrorCode::kNotFound,
                      "there is no mutex group with id " + std::to_string(id)};
    }
    if (rc != SQLITE_ROW) {
      return failure("reading a group");
    }
    body = column_text(use.get(), 0);
    archived = sqlite3_column_int(use.get(), 1) != 0;
  }
  // As stored: a seeded group may leave a share unallocated, and one stored before "off" and
  // "unallocated" were refused as variant keys can still be archived (edits refuse it).
  config::ParseOptions stored;
  stored.allow_reserved_variant_keys = true;
  auto parsed = config::parse_group(body, stored);
  if (!parsed) {
    const std::string why = parsed.error().empty() ? "" : parsed.error().front().to_string();
    spdlog::error("msg=\"stored group unreadable\" id={} error={}", id, common::quote(why));
    return ApiError{ErrorCode::kStorageError,
                    "stored mutex group " + std::to_string(id) + " cannot be read: " + why};
  }
  config::GroupConfig group = std::move(*parsed);
  const config::GroupConfig before = group;
  const bool was_archived = archived;
  if (auto refused = mutate(group, archived)) {
    return *refused;
  }
  if (group == before && archived == was_archived) {
    return body;  // nothing changed: no write, the data version stays
  }
  group.id = id;
  body = config::group_json(group);
  {
    Statement::Use use{*update_};
    use.bind(1, id).bind(2, body).bind(3, std::int64_t{archived ? 1 : 0});
    if (use.step() != SQLITE_DONE) {
      return failure("updating a group");
    }
  }
  if (auto refused = commit_change(tx, "committing an edit")) {
    return *refused;
  }
  return body;
}

}  // namespace mutex_edge::mgmt

namespace mutex_edge::mgmt {

StoreResult<std::size_t> Store::cohort_count() {
  std::lock_guard lock{mutex_};
  Statement::Use use{*cohort_count_};
  if (use.step() != SQLITE_ROW) {
    return failure("counting cohorts");
  }
  return static_cast<std::size_t>(sqlite3_column_int64(use.get(), 0));
}

StoreResult<std::size_t> Store::seed_cohorts_if_empty(const std::vector<config::Cohort>& cohorts,
                                                      std::int64_t now_ms) {
  std::lock_guard lock{mutex_};
  Transaction tx{db_};
  if (!tx.begun()) {
    return failure("starting the cohorts seed");
  }
  {
    Statement::Use use{*cohort_count_};
    if (use.step() != SQLITE_ROW) {
      return failure("counting cohorts");
    }
    if (sqlite3_column_int64(use.get(), 0) != 0) {
      return std::size_t{0};
    }
  }
  for (const config::Cohort& cohort : cohorts) {
    const std::int64_t modified = cohort.last_modified.value_or(now_ms);
    const std::string members = members_json(cohort.members);
    Statement::Use use{*cohort_put_};
    use.bind(1, cohort.id)
        .bind(2, cohort.group_type)
        .bind(3, cohort.group_type_id)
        .bind(4, cohort.last_computed.value_or(modified))
        .bind(5, modified)
        .bind(6, static_cast<std::int64_t>(cohort.members.size()))
        .bind(7, members);
    if (use.step() != SQLITE_DONE) {
      return failure(("seeding cohort " + cohort.id).c_str());
    }
  }
  if (auto refused = commit_change(tx, "committing the cohorts seed")) {
    return *refused;
  }
  return cohorts.size();
}

StoreResult<Store::StoredCohort> Store::cohort(
    const std::string& id, const std::function<bool(const StoredCohort&)>& with_members) {
  std::lock_guard lock{mutex_};
  Statement::Use use{*cohort_get_};
  use.bind(1, id);
  const int rc = use.step();
  if (rc == SQLITE_DONE) {
    return ApiError{ErrorCode::kNotFound, "there is no cohort " + common::excerpt(id)};
  }
  if (rc != SQLITE_ROW) {
    return failure("reading a cohort");
  }
  sqlite3_stmt* row = use.get();
  StoredCohort cohort;
  cohort.id = id;
  cohort.group_type = column_text(row, 0);
  cohort.group_type_id = sqlite3_column_int64(row, 1);
  cohort.last_computed = sqlite3_column_int64(row, 2);
  cohort.last_modified = sqlite3_column_int64(row, 3);
  cohort.size = sqlite3_column_int64(row, 4);
  if (with_members(cohort)) {
    cohort.members_json = column_text(row, 5);  // the large part: only when it is sent
  }
  return cohort;
}

StoreResult<Store::StoredCohort> Store::put_cohort(const std::string& id, config::CohortPut put,
                                                   std::int64_t now_ms) {
  // Serialised before the lock: a large cohort's JSON takes a while.
  const std::string members = members_json(put.members);
  std::lock_guard lock{mutex_};
  Transaction tx{db_};
  if (!tx.begun()) {
    return failure("starting a write");
  }
  StoredCohort cohort;
  cohort.id = id;
  cohort.group_type = std::string{config::kUserGroupType};
  std::int64_t previous = -1;
  {
    Statement::Use use{*cohort_get_};
    use.bind(1, id);
    const int rc = use.step();
    if (rc == SQLITE_ROW) {
      cohort.group_type = column_text(use.get(), 0);
      cohort.group_type_id = sqlite3_column_int64(use.get(), 1);
      previous = sqlite3_column_int64(use.get(), 3);
    } else if (rc != SQLITE_DONE) {
      return failure("reading a cohort");
    }
  }
  if (put.group_type && *put.group_type != cohort.group_type) {
    cohort.group_type = std::move(*put.group_type);
    cohort.group_type_id = 0;  // another type's id is not this one's
  }
  if (put.group_type_id) {
    cohort.group_type_id = *put.group_type_id;
  }
  cohort.last_modified = std::max(now_ms, previous + 1);
  cohort.last_computed = cohort.last_modified;
  cohort.size = static_cast<std::int64_t>(put.members.size());
  {
    Statement::Use use{*cohort_put_};
    use.bind(1, id)
        .bind(2, cohort.group_type)
        .bind(3, cohort.group_type_id)
        .bind(4, cohort.last_computed)
        .bind(5, cohort.last_modified)
        .bind(6, cohort.size)
        .bind(7, members);
    if (use.step() != SQLITE_DONE) {
      return failure("writing a cohort");
    }
  }
  if (auto refused = commit_change(tx, "committing a cohort")) {
    return *refused;
  }
  return cohort;
}

}  // namespace mutex_edge::mgmt
