#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace mutex_edge::common {

/// 128 bits of hash.
struct Digest {
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  bool operator==(const Digest&) const = default;
};

struct DigestHash {
  std::size_t operator()(const Digest& d) const noexcept { return static_cast<std::size_t>(d.a); }
};

/// A 128-bit hash of a sequence of values, fed one at a time with MurmurHash3 x64_128's block
/// mixing and finalised with its fmix64. A fixed function (not std::hash): equal input hashes
/// equal in every process, so a digest can be kept and compared across restarts. Not meant to
/// resist an adversary who picks the input.
class Hasher {
 public:
  void add(std::uint64_t value) noexcept {
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
  /// Length first, so consecutive strings cannot run into each other.
  void add(std::string_view bytes) noexcept {
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
  [[nodiscard]] Digest digest() const noexcept;

 private:
  static constexpr std::uint64_t kC1 = 0x87c37b91114253d5ULL;
  static constexpr std::uint64_t kC2 = 0x4cf5ad432745937fULL;
  static constexpr std::uint64_t rotl(std::uint64_t x, int r) noexcept {
    return (x << r) | (x >> (64 - r));
  }

  std::uint64_t h1_ = 0x9e3779b97f4a7c15ULL;
  std::uint64_t h2_ = 0xc2b2ae3d27d4eb4fULL;
  std::uint64_t count_ = 0;
};

}  // namespace mutex_edge::common
