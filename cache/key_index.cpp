#include "cache/key_index.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <utility>

namespace mutex_edge::cache {
namespace {

std::uint64_t hash_of(std::string_view key) noexcept {
  return static_cast<std::uint64_t>(std::hash<std::string_view>{}(key));
}

/// The table size that holds `count` keys at most 70% full.
std::size_t capacity_for(std::size_t count) {
  return std::bit_ceil(std::max<std::size_t>(8, count + count / 2 + 1));
}

}  // namespace

void KeyIndex::reserve(std::size_t count) {
  if (capacity_for(count) > slots_.size()) {
    rehash(capacity_for(count));
  }
}

std::size_t KeyIndex::probe(std::string_view key, std::uint64_t hash) const noexcept {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.position_plus_one == 0 ||
        (slot.hash == hash && std::string_view{slot.key, slot.length} == key)) {
      return i;
    }
  }
}

std::optional<std::size_t> KeyIndex::insert(std::string_view key, std::size_t position) {
  if (position >= UINT32_MAX || key.size() > UINT32_MAX) {
    throw std::length_error("too many groups or too long a key for the key index");
  }
  if ((size_ + 1) * 10 > slots_.size() * 7) {
    rehash(capacity_for(size_ + 1));
  }
  const std::uint64_t hash = hash_of(key);
  Slot& slot = slots_[probe(key, hash)];
  if (slot.position_plus_one != 0) {
    return slot.position_plus_one - 1;
  }
  slot = {hash, key.data(), static_cast<std::uint32_t>(key.size()),
          static_cast<std::uint32_t>(position + 1)};
  ++size_;
  return std::nullopt;
}

std::optional<std::size_t> KeyIndex::find(std::string_view key) const noexcept {
  if (size_ == 0) {
    return std::nullopt;
  }
  const Slot& slot = slots_[probe(key, hash_of(key))];
  if (slot.position_plus_one == 0) {
    return std::nullopt;
  }
  return slot.position_plus_one - 1;
}

void KeyIndex::rehash(std::size_t capacity) {
  std::vector<Slot> old = std::exchange(slots_, std::vector<Slot>(capacity));
  const std::size_t mask = capacity - 1;
  for (const Slot& slot : old) {
    if (slot.position_plus_one == 0) {
      continue;
    }
    std::size_t i = slot.hash & mask;
    while (slots_[i].position_plus_one != 0) {
      i = (i + 1) & mask;
    }
    slots_[i] = slot;
  }
}

}  // namespace mutex_edge::cache
