#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wire/errors.hpp"

#include <boost/system/result.hpp>

#include "eval/user.hpp"

namespace mutex_edge::wire {

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

/// One observation of an exposure: the group's key and the slot the user was seen in.
struct Exposure {
  std::string_view mutex;
  std::optional<std::string_view> slot;  // nullopt: seen in no slot
};

/// An input line of `mutex-edge audit`, as parse_exposure() read it. Views stay valid until the
/// next parse.
struct ExposureLine {
  enum class Shape : std::uint8_t {
    kLine,             // {"user": {...}, "mutex": "key", "slot": "slot-2" | null}
    kExposureEvent,    // Amplitude's "$exposure" / "[Experiment] Exposure" event
    kAssignmentEvent,  // Amplitude's "$assignment" / "[Experiment] Assignment" event
    kOtherEvent,       // an Amplitude event of another type: nothing to audit
  };
  Shape shape = Shape::kLine;
  std::span<const Exposure> exposures;
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

  /// A line of `mutex-edge audit`: `{"user": {...}, "mutex": "key", "slot": "slot-2" | null}`, or
  /// an event as Amplitude exports it: `event_type` "$exposure" or "[Experiment] Exposure" with
  /// `event_properties.flag_key` and `.variant`, or "$assignment" or "[Experiment] Assignment"
  /// with one `event_properties["<key>.variant"]` per group. An event's variant "off" or
  /// "unallocated", null or missing, is no slot. An event's user is read from its top-level
  /// user fields (user_id, device_id, amplitude_id, country, platform, ...: the engine's user
  /// context), user_properties and cohort_ids; its other fields are not user fields. user(0) then
  /// decodes the user.
  [[nodiscard]] boost::system::result<ExposureLine, ApiError> parse_exposure(std::string_view json);

  /// The i-th user of the last parse (i < user_count); kInvalidRequest for any other i, or after
  /// a parse that failed.
  [[nodiscard]] boost::system::result<eval::User, ApiError> user(std::size_t i);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mutex_edge::wire
