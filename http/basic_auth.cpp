#include "http/basic_auth.hpp"

#include <openssl/evp.h>

#include "common/text.hpp"

namespace mutex_edge::http {

std::optional<BasicCredentials> parse_basic(std::string_view authorization) {
  authorization = common::trim(authorization);
  const std::size_t space = authorization.find(' ');
  if (space == std::string_view::npos ||
      !common::iequals(authorization.substr(0, space), "basic")) {
    return std::nullopt;
  }
  std::string decoded;
  if (!common::decode_base64(common::trim(authorization.substr(space + 1)), decoded)) {
    return std::nullopt;
  }
  const std::size_t colon = decoded.find(':');
  if (colon == std::string::npos) {
    return std::nullopt;
  }
  return BasicCredentials{decoded.substr(0, colon), decoded.substr(colon + 1)};
}

std::string basic_authorization(std::string_view user, std::string_view password) {
  std::string plain;
  plain.reserve(user.size() + 1 + password.size());
  plain.append(user).append(1, ':').append(password);
  std::string encoded(4 * ((plain.size() + 2) / 3) + 1, '\0');  // EVP_EncodeBlock adds a NUL
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                      reinterpret_cast<const unsigned char*>(plain.data()),
                                      static_cast<int>(plain.size()));
  encoded.resize(static_cast<std::size_t>(written));
  return "Basic " + encoded;
}

BasicAuth::BasicAuth(BearerKeys users, std::string_view secret) : users_{std::move(users)} {
  if (!secret.empty()) {
    secret_ = BearerKeys::of(secret);
  }
}

KeyCheck BasicAuth::check(std::string_view authorization) const {
  const auto credentials = parse_basic(authorization);
  if (!credentials || (credentials->user.empty() && credentials->password.empty())) {
    return KeyCheck::kMissing;
  }
  // Both compared, whatever the first gave: no early exit.
  const bool user = users_.accepts(credentials->user);
  const bool password = secret_.accepts(credentials->password);
  return user && password ? KeyCheck::kOk : KeyCheck::kInvalid;
}

}  // namespace mutex_edge::http
