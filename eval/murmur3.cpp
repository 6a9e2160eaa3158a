#include "eval/murmur3.hpp"

#include <bit>

namespace mutex_edge::eval {
namespace {

constexpr std::uint32_t kC1 = 0xcc9e2d51;
constexpr std::uint32_t kC2 = 0x1b873593;

constexpr std::uint32_t scramble(std::uint32_t k) noexcept {
  k *= kC1;
  k = std::rotl(k, 15);
  k *= kC2;
  return k;
}

constexpr std::uint32_t fmix32(std::uint32_t h) noexcept {
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

}  // namespace

void Murmur3Stream::mix_block(std::uint32_t k) noexcept {
  h_ ^= scramble(k);
  h_ = std::rotl(h_, 13);
  h_ = h_ * 5 + 0xe6546b64;
}

void Murmur3Stream::update(std::string_view data) noexcept {
  total_len_ += static_cast<std::uint32_t>(data.size());
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const auto* end = p + data.size();

  // Complete a block left pending by the previous piece.
  while (tail_len_ != 0 && p != end) {
    tail_ |= static_cast<std::uint32_t>(*p++) << (8 * tail_len_);
    if (++tail_len_ == 4) {
      mix_block(tail_);
      tail_ = 0;
      tail_len_ = 0;
    }
  }
  for (; end - p >= 4; p += 4) {
    mix_block(static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
              static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24);
  }
  for (; p != end; ++p) {
    tail_ |= static_cast<std::uint32_t>(*p) << (8 * tail_len_++);
  }
}

std::uint32_t Murmur3Stream::finish() const noexcept {
  std::uint32_t h = h_;
  if (tail_len_ != 0) {
    h ^= scramble(tail_);
  }
  h ^= total_len_;
  return fmix32(h);
}

std::uint32_t murmur3_x86_32(std::string_view data, std::uint32_t seed) noexcept {
  Murmur3Stream stream{seed};
  stream.update(data);
  return stream.finish();
}

}  // namespace mutex_edge::eval
