#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

#include "eval/user.hpp"

namespace mutex_edge::cache {

struct UserLimits {
  std::size_t max_document_bytes = 1024 * 1024;
  std::size_t max_fields = 256;       // top-level fields
  std::size_t max_properties = 1024;  // user_properties entries
  std::size_t max_cohorts = 10000;    // cohort_ids entries
};

/// Why a user document was refused; the message says what to fix.
struct UserError {
  std::string message;
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
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mutex_edge::cache
