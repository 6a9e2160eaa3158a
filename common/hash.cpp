#include "common/hash.hpp"

#include <cstring>

namespace mutex_edge::common {
namespace {

constexpr std::uint64_t kC1 = 0x87c37b91114253d5ULL;
constexpr std::uint64_t kC2 = 0x4cf5ad432745937fULL;

constexpr std::uint64_t rotl(std::uint64_t x, int r) noexcept {
  return (x << r) | (x >> (64 - r));
}

constexpr std::uint64_t fmix64(std::uint64_t k) noexcept {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

}  // namespace

void Hasher::add(std::uint64_t value) noexcept {
  ++count_;
  std::uint64_t k1 = value * kC1;
  k1 = rotl(k1, 31) * kC2;
  h1_ ^= k1;
  h1_ = rotl(h1_, 27) + h2_;
  h1_ = h1_ * 5 + 0x52dce729;
  std::uint64_t k2 = (value ^ 0x5bd1e9955bd1e995ULL) * kC2;
  k2 = rotl(k2, 33) * kC1;
  h2_ ^= k2;
  h2_ = rotl(h2_, 31) + h1_;
  h2_ = h2_ * 5 + 0x38495ab5;
}

void Hasher::add(std::string_view bytes) noexcept {
  add(static_cast<std::uint64_t>(bytes.size()));
  std::size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, bytes.data() + i, 8);
    add(word);
  }
  if (i < bytes.size()) {
    std::uint64_t word = 0;
    std::memcpy(&word, bytes.data() + i, bytes.size() - i);
    add(word);
  }
}

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
