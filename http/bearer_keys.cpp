#include "http/bearer_keys.hpp"

#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/text.hpp"

namespace mutex_edge::http {
namespace {

using common::iequals;
using common::trim;

}  // namespace

BearerKeys::Digest BearerKeys::digest(std::string_view key) {
  Digest out{};
  unsigned int size = 0;
  if (EVP_Digest(key.data(), key.size(), out.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != out.size()) {
    throw std::runtime_error("SHA-256 is not available from OpenSSL");
  }
  return out;
}

BearerKeys BearerKeys::parse(std::string_view list) {
  BearerKeys keys;
  common::for_each_item(list, ',', [&](std::string_view item) {
    if (const std::string_view key = trim(item); !key.empty()) {
      keys.digests_.push_back(digest(key));
    }
  });
  return keys;
}

BearerKeys BearerKeys::of(std::string_view key) {
  BearerKeys keys;
  keys.digests_.push_back(digest(key));
  return keys;
}

KeyCheck BearerKeys::check(std::string_view authorization, std::string_view scheme) const {
  authorization = trim(authorization);
  const std::size_t space = authorization.find(' ');
  if (space == std::string_view::npos || !iequals(authorization.substr(0, space), scheme)) {
    return KeyCheck::kMissing;
  }
  const std::string_view key = trim(authorization.substr(space + 1));
  if (key.empty()) {
    return KeyCheck::kMissing;
  }
  return accepts(key) ? KeyCheck::kOk : KeyCheck::kInvalid;
}

bool BearerKeys::accepts(std::string_view key) const {
  const Digest presented = digest(key);
  // Every configured key is compared, whatever matched before: no early exit.
  int matched = 0;
  for (const Digest& expected : digests_) {
    matched |=
        static_cast<int>(CRYPTO_memcmp(expected.data(), presented.data(), presented.size()) == 0);
  }
  return matched != 0;
}

}  // namespace mutex_edge::http
