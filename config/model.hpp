#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mutex_edge::config {

/// One slot of a mutex group, as the Management API describes it (design.md section 1).
struct SlotConfig {
  std::string name;         // "SLOT <index>"
  int index = 0;            // from 1
  std::string variant_key;  // "slot-<index>"
  int percentage = 0;       // integer 1..100
  std::vector<std::int64_t> experiments;
  std::vector<std::int64_t> holdouts;
  std::vector<std::string> individuals;
  std::vector<std::string> cohorts;

  bool operator==(const SlotConfig&) const = default;
};

/// One mutex group. Slots are kept in `index` order.
struct GroupConfig {
  std::int64_t id = 0;
  std::int64_t project_id = 0;
  std::string name;
  std::string key;
  std::optional<std::string> description;  // none: the API's "description": null
  std::string evaluation_mode;             // "local" or "remote"
  std::string bucketing_key;
  std::string bucketing_salt;
  std::vector<SlotConfig> slots;

  [[nodiscard]] int percentage_sum() const noexcept {
    int sum = 0;
    for (const SlotConfig& slot : slots) {
      sum += slot.percentage;
    }
    return sum;
  }
  bool operator==(const GroupConfig&) const = default;
};

/// Size limits on configuration input. Every input crossing a boundary has one.
struct ConfigLimits {
  std::size_t max_document_bytes = 64 * 1024 * 1024;
  std::size_t max_groups = 200000;      // across all the pages of a listing
  std::size_t max_string_bytes = 1024;  // key, name, salt, bucketing key, ids in lists
  std::size_t max_description_bytes = 16 * 1024;
  std::size_t max_list_items = 100000;  // experiments, holdouts, individuals, cohorts
  std::size_t max_slots = 20;
};

/// A group id or cursor as text (a path segment, a query value, a string id in JSON): decimal
/// digits only, fitting in int64.
[[nodiscard]] std::optional<std::int64_t> parse_id(std::string_view text) noexcept;

}  // namespace mutex_edge::config
