#pragma once

#include <cstddef>
#include <cstdint>
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
  void add(std::uint64_t value) noexcept;
  /// Length first, so consecutive strings cannot run into each other.
  void add(std::string_view bytes) noexcept;
  [[nodiscard]] Digest digest() const noexcept;

 private:
  std::uint64_t h1_ = 0x9e3779b97f4a7c15ULL;
  std::uint64_t h2_ = 0xc2b2ae3d27d4eb4fULL;
  std::uint64_t count_ = 0;
};

}  // namespace mutex_edge::common
