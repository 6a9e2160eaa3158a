#include "mgmt/auth.hpp"

#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/text.hpp"

namespace mutex_edge::mgmt {
namespace {

using common::iequals;
using common::trim;

}  // namespace

ApiKeys::Digest ApiKeys::digest(std::string_view key) {
  Digest out{};
  unsigned int size = 0;
  if (EVP_Digest(key.data(), key.size(), out.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != out.size()) {
    throw std::runtime_error("SHA-256 is not available from OpenSSL");
  }
  return out;
}

ApiKeys ApiKeys::parse(std::string_view list) {
  ApiKeys keys;
  common::for_each_item(list, ',', [&](std::string_view item) {
    if (const std::string_view key = trim(item); !key.empty()) {
      keys.digests_.push_back(digest(key));
    }
  });
  return keys;
}

AuthResult ApiKeys::check(std::string_view authorization) const {
  authorization = trim(authorization);
  const std::size_t space = authorization.find(' ');
  if (space == std::string_view::npos || !iequals(authorization.substr(0, space), "bearer")) {
    return AuthResult::kMissing;
  }
  const std::string_view key = trim(authorization.substr(space + 1));
  if (key.empty()) {
    return AuthResult::kMissing;
  }
  const Digest presented = digest(key);
  // Every configured key is compared, whatever matched before: no early exit.
  int matched = 0;
  for (const Digest& expected : digests_) {
    matched |=
        static_cast<int>(CRYPTO_memcmp(expected.data(), presented.data(), presented.size()) == 0);
  }
  return matched != 0 ? AuthResult::kOk : AuthResult::kInvalid;
}

}  // namespace mutex_edge::mgmt
