#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/bearer_keys.hpp"

namespace mutex_edge::http {

/// The user and password of `Authorization: Basic base64(user:password)` (the scheme in any
/// case). Empty when the header is absent, of another scheme, not base64, or has no ':'; the
/// password is everything after the first ':'.
struct BasicCredentials {
  std::string user;
  std::string password;
};
[[nodiscard]] std::optional<BasicCredentials> parse_basic(std::string_view authorization);
/// The `Authorization` value `Basic base64(user:password)` that parse_basic reads.
[[nodiscard]] std::string basic_authorization(std::string_view user, std::string_view password);

/// Basic authentication as Amplitude's cohort download API takes it, `apiKey:secretKey`: the
/// user is one of `users`, the password is `secret`. Both are compared as digests in constant
/// time, and both always, so timing shows neither which one was wrong nor where. Without a
/// secret (default-constructed, or an empty one) every request is refused.
class BasicAuth {
 public:
  BasicAuth() = default;
  BasicAuth(BearerKeys users, std::string_view secret);

  [[nodiscard]] bool has_secret() const noexcept { return !secret_.empty(); }
  /// kMissing: no Basic credentials at all; kInvalid: a wrong user or password (or no secret).
  [[nodiscard]] KeyCheck check(std::string_view authorization) const;

 private:
  BearerKeys users_;
  BearerKeys secret_;  // one digest, or none
};

}  // namespace mutex_edge::http
