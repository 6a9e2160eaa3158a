#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>

#include "eval/user.hpp"

namespace mutex_edge::cache {

struct UserLimits {
  std::size_t max_document_bytes = 1024 * 1024;
  std::size_t max_fields = 256;       // top-level fields
  std::size_t max_properties = 1024;  // user_properties entries
  std::size_t max_cohorts = 10000;    // cohort_ids entries
};

/// Why a user or request document was refused. `code` is the snake_case error code of the
/// HTTP API (invalid_json, invalid_request, empty_user, too_many_users); `message` says what to
/// fix.
struct UserError {
  std::string message;
  std::string code = "invalid_user";
};

/// Decodes users given as JSON into eval::User, coercing values as Amplitude's engine does
/// (numbers to JavaScript's decimal form, booleans to "true"/"false"). Reuses its parser and
/// storage across calls: the returned User is valid until the next decode. One per thread.
class UserDecoder {
 public:
  explicit UserDecoder(UserLimits limits = {});
  ~UserDecoder();
  UserDecoder(const UserDecoder&) = delete;
  UserDecoder& operator=(const UserDecoder&) = delete;

  /// Decodes a document holding one user object.
  [[nodiscard]] boost::system::result<eval::User, UserError> decode(std::string_view json);

 private:
  friend class RequestDecoder;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// What an assignment request asks besides its users.
struct AssignRequest {
  bool has_mutexes = false;              // false: every group
  std::vector<std::string_view> mutexes;  // requested group keys, as given
  bool explain = false;
  std::size_t user_count = 0;
};

struct RequestLimits {
  UserLimits user;
  std::size_t max_mutexes = 1000;  // keys in "mutexes"
  std::size_t max_users = 1000;    // users in a batch
};

/// Decodes the bodies of POST /assign (`{"user": {...}, "mutexes": [...], "explain": true}`) and
/// POST /assign/batch (`{"users": [...], ...}`). Views stay valid until the next parse; a user
/// from user() until the next call to user(). One per thread; reuses its buffers.
class RequestDecoder {
 public:
  explicit RequestDecoder(RequestLimits limits = {});
  ~RequestDecoder();
  RequestDecoder(const RequestDecoder&) = delete;
  RequestDecoder& operator=(const RequestDecoder&) = delete;

  [[nodiscard]] boost::system::result<AssignRequest, UserError> parse_assign(std::string_view body);
  [[nodiscard]] boost::system::result<AssignRequest, UserError> parse_batch(std::string_view body);

  /// The i-th user of the last parsed body (0 for POST /assign).
  [[nodiscard]] boost::system::result<eval::User, UserError> user(std::size_t i);

 private:
  boost::system::result<AssignRequest, UserError> parse(std::string_view body, bool batch);

  RequestLimits limits_;
  std::unique_ptr<UserDecoder::Impl> impl_;
};

}  // namespace mutex_edge::cache
