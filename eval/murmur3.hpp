#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mutex_edge::eval {

/// MurmurHash3 x86_32 over the bytes of `data` (std::string_view holds UTF-8 as-is).
/// Amplitude's engine hashes `salt + "/" + value` with seed 0 and reads the result unsigned.
[[nodiscard]] std::uint32_t murmur3_x86_32(std::string_view data, std::uint32_t seed = 0) noexcept;

/// Incremental MurmurHash3 x86_32: feed any number of pieces, then `finish()`. Hashing
/// "salt/" once per snapshot and copying the state per request saves re-hashing the prefix
/// and building the concatenated key. Trivially copyable, no allocation.
class Murmur3Stream {
 public:
  explicit Murmur3Stream(std::uint32_t seed = 0) noexcept : h_{seed} {}

  void update(std::string_view data) noexcept;
  [[nodiscard]] std::uint32_t finish() const noexcept;

 private:
  void mix_block(std::uint32_t k) noexcept;

  std::uint32_t h_;
  std::uint32_t tail_ = 0;       // pending bytes, little-endian
  std::uint32_t tail_len_ = 0;   // 0..3
  std::uint32_t total_len_ = 0;  // modulo 2^32, as the reference does
};

}  // namespace mutex_edge::eval
