#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace mutex_edge::cache {

/// Group keys to positions in a snapshot: an open-addressing table of (hash, key, position). A
/// lookup in a large configuration, whose table is rarely in the cache, then costs one load of
/// the table and one of the key's bytes, where a node-based map chases a bucket, a node and the
/// key one after another.
class KeyIndex {
 public:
  /// Sizes the table for `count` keys, so that inserting them does not grow it.
  void reserve(std::size_t count);
  /// Adds `key` (whose bytes outlive the index) at `position`, unless the key is there already:
  /// then returns the position it has.
  std::optional<std::size_t> insert(std::string_view key, std::size_t position);
  [[nodiscard]] std::optional<std::size_t> find(std::string_view key) const noexcept;

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  /// Heap bytes held, for the memory a snapshot reports.
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return slots_.capacity() * sizeof(Slot);
  }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    const char* key = nullptr;
    std::uint32_t length = 0;
    std::uint32_t position_plus_one = 0;  // 0: empty
  };

  /// The slot holding `key`, or the empty slot where it would go.
  [[nodiscard]] std::size_t probe(std::string_view key, std::uint64_t hash) const noexcept;
  void rehash(std::size_t capacity);

  std::vector<Slot> slots_;  // a power of two in size, at most 70% full; or empty
  std::size_t size_ = 0;
};

}  // namespace mutex_edge::cache
