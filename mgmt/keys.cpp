#include "mgmt/keys.hpp"

#include <array>
#include <random>

#include <openssl/rand.h>

namespace mutex_edge::mgmt {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Random bytes from OpenSSL; std::random_device (getrandom on Linux) if OpenSSL fails.
void fill_random(std::array<unsigned char, 64>& bytes) {
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) == 1) {
    return;
  }
  std::random_device device;
  for (unsigned char& b : bytes) {
    b = static_cast<unsigned char>(device() & 0xffU);
  }
}

}  // namespace

std::string slugify(std::string_view name) {
  std::string out;
  bool dash = false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    const bool alnum = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9');
    if (!alnum) {
      dash = !out.empty();
      continue;
    }
    if (out.size() + (dash ? 2 : 1) > kMaxSlugBytes) {
      break;
    }
    if (dash) {
      out += '-';
      dash = false;
    }
    out += static_cast<char>(u >= 'A' && u <= 'Z' ? u - 'A' + 'a' : u);
  }
  return out.empty() ? std::string{"mutex"} : out;
}

std::string random_alphanumeric(std::size_t count) {
  // 248 = 4 * 62: bytes at or above it are dropped so that every character is equally likely.
  constexpr unsigned kLimit = 4 * kAlphabet.size();
  std::string out;
  out.reserve(count);
  std::array<unsigned char, 64> bytes{};
  while (out.size() < count) {
    fill_random(bytes);
    for (unsigned char b : bytes) {
      if (b < kLimit && out.size() < count) {
        out += kAlphabet[b % kAlphabet.size()];
      }
    }
  }
  return out;
}

}  // namespace mutex_edge::mgmt
