#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>

#include "eval/user.hpp"
#include "proxy/routes.hpp"

namespace mutex_edge::proxy {

struct RequestLimits {
  std::size_t max_document_bytes = 1024 * 1024;  // a user document given alone
  std::size_t max_fields = 256;                  // a user's top-level fields
  std::size_t max_properties = 1024;             // user_properties entries
  std::size_t max_cohorts = 10000;               // cohort_ids entries
  std::size_t max_mutexes = 1000;                // keys in "mutexes"
  std::size_t max_users = 1000;                  // users in a batch
  std::size_t max_query_params = 512;            // parameters of a GET /assign
};

/// What an assignment request asks besides its users. Views stay valid until the next parse.
struct AssignRequest {
  bool has_mutexes = false;                   // false: every group
  std::span<const std::string_view> mutexes;  // requested group keys, as given
  bool explain = false;
  std::size_t user_count = 0;
};

/// Decodes every way users reach the engine into eval::User, coercing values as Amplitude's
/// engine does (numbers to JavaScript's decimal form, booleans to "true"/"false"): the query of
/// GET /assign, the bodies of POST /assign and /assign/batch, and the JSON lines of
/// `mutex-edge assign`. One per thread: it reuses its parser and buffers, so a request allocates
/// only while they grow. A user from user() is valid until the next call to user() or a parse.
class RequestDecoder {
 public:
  explicit RequestDecoder(RequestLimits limits = {});
  ~RequestDecoder();
  RequestDecoder(const RequestDecoder&) = delete;
  RequestDecoder& operator=(const RequestDecoder&) = delete;

  /// GET /assign?user_id=..&device_id=..&gp:plan=..&cohort_ids=a,b&mutex=k1,k2&explain=1: one user
  /// from the parameters (other names are top-level user fields).
  [[nodiscard]] boost::system::result<AssignRequest, ApiError> parse_query(std::string_view query);
  /// POST /assign: `{"user": {...}, "mutexes": [...], "explain": true}`.
  [[nodiscard]] boost::system::result<AssignRequest, ApiError> parse_assign(std::string_view body);
  /// POST /assign/batch: `{"users": [...], "mutexes": [...], "explain": true}`.
  [[nodiscard]] boost::system::result<AssignRequest, ApiError> parse_batch(std::string_view body);
  /// A document holding one user object, such as a line of `mutex-edge assign`'s input; unlike
  /// a request's, the user may be empty.
  [[nodiscard]] boost::system::result<AssignRequest, ApiError> parse_user(std::string_view json);

  /// The i-th user of the last parse (i < user_count).
  [[nodiscard]] boost::system::result<eval::User, ApiError> user(std::size_t i);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mutex_edge::proxy
