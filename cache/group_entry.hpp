#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/hash.hpp"
#include "config/model.hpp"
#include "eval/group.hpp"

namespace mutex_edge::cache {

/// A group's content hash: equal groups hash equal. A fixed 64-bit function of the fields, so a
/// configuration has the same hash (and ETag) in every process and after every restart.
[[nodiscard]] std::uint64_t content_hash(const config::GroupConfig& group) noexcept;

/// One group as a snapshot holds it: compiled for assignment and compact (its strings in one
/// buffer, its experiment and holdout ids in one array, its individuals and cohorts inside the
/// compiled group), immutable. Consecutive snapshots share the entry of a group whose content
/// did not change, so an edit of one group in thousands compiles one group.
class GroupEntry {
 public:
  struct Slot {
    int index = 0;
    int percentage = 0;
    std::string_view name;
    std::string_view variant_key;
    std::string_view experiments;  // JSON arrays of ids, as answers write them: "[7002,7003]"
    std::string_view holdouts;
  };

  /// Compiles a validated group whose content hash is `hash`. Throws std::invalid_argument on
  /// input that validation should have rejected.
  GroupEntry(const config::GroupConfig& group, std::uint64_t hash);

  [[nodiscard]] std::uint64_t hash() const noexcept { return hash_; }
  [[nodiscard]] std::int64_t id() const noexcept { return id_; }
  [[nodiscard]] std::int64_t project_id() const noexcept { return project_id_; }
  [[nodiscard]] std::string_view key() const noexcept { return view(key_); }
  [[nodiscard]] std::string_view name() const noexcept { return view(name_); }
  /// None when the group has none (the API's "description": null).
  [[nodiscard]] std::optional<std::string_view> description() const noexcept {
    return has_description_ ? std::optional<std::string_view>{view(description_)} : std::nullopt;
  }
  [[nodiscard]] std::string_view evaluation_mode() const noexcept { return view(mode_); }
  [[nodiscard]] std::string_view bucketing_key() const noexcept { return view(bucketing_key_); }
  [[nodiscard]] std::string_view bucketing_salt() const noexcept { return view(salt_); }
  [[nodiscard]] std::size_t slot_count() const noexcept { return slots_.size(); }
  [[nodiscard]] Slot slot(std::size_t pos) const noexcept;
  [[nodiscard]] const eval::CompiledGroup& compiled() const noexcept { return compiled_; }
  /// Starts loading what an answer for this user reads of the group into the cache.
  void prefetch(const eval::UserKeys& keys) const noexcept {
    __builtin_prefetch(text_.data());
    __builtin_prefetch(slots_.data());
    compiled_.prefetch(keys);
  }
  /// What an answer's writer needs to size and write this group's member at once: whether its
  /// key and every variant key are plain JSON strings (nothing to escape), the longest variant
  /// key, and the longest experiments and holdouts JSON of one slot, together.
  [[nodiscard]] bool plain_strings() const noexcept { return plain_strings_; }
  [[nodiscard]] std::size_t longest_variant_key() const noexcept { return longest_variant_key_; }
  [[nodiscard]] std::size_t longest_ids() const noexcept { return longest_ids_; }

  /// The group as it was configured (for the read API, persistence and comparisons).
  [[nodiscard]] config::GroupConfig to_config() const;
  /// True when `group` holds exactly this content.
  [[nodiscard]] bool same_content(const config::GroupConfig& group) const noexcept;
  /// Bytes held, for the memory a snapshot reports.
  [[nodiscard]] std::size_t memory_bytes() const noexcept;

 private:
  struct Span {
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
  };
  struct SlotRecord {
    int index;
    int percentage;
    Span name;
    Span variant_key;
    Span experiments;  // JSON arrays in text_
    Span holdouts;
  };

  [[nodiscard]] std::string_view view(Span span) const noexcept {
    return std::string_view{text_}.substr(span.offset, span.length);
  }
  Span store(std::string_view text);

  std::uint64_t hash_;
  std::int64_t id_;
  std::int64_t project_id_;
  std::string text_;  // every string of the group but its individuals and cohorts
  Span key_, name_, description_, mode_, bucketing_key_, salt_;
  std::vector<SlotRecord> slots_;
  eval::CompiledGroup compiled_;
  bool has_description_ = false;
  bool plain_strings_ = true;
  std::uint32_t longest_variant_key_ = 0;
  std::uint32_t longest_ids_ = 0;  // the longest experiments and holdouts JSON of one slot
};

}  // namespace mutex_edge::cache
