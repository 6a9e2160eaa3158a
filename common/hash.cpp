#include "common/hash.hpp"

namespace mutex_edge::common {
namespace {

constexpr std::uint64_t fmix64(std::uint64_t k) noexcept {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

}  // namespace

Digest Hasher::digest() const noexcept {
  std::uint64_t h1 = h1_ ^ count_;
  std::uint64_t h2 = h2_ ^ count_;
  h1 += h2;
  h2 += h1;
  h1 = fmix64(h1);
  h2 = fmix64(h2);
  h1 += h2;
  h2 += h1;
  return Digest{h1, h2};
}

}  // namespace mutex_edge::common
