#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mutex_edge::config {

/// What kind of rule a piece of configuration input broke. Each API maps it to its own error
/// code (mutex-mgmt: Problem::kTooLong is `value_too_long`).
enum class Problem : std::uint8_t {
  kNotJson,         // not JSON at all, or an empty body
  kTooLarge,        // the document is over its size limit
  kWrongType,       // a value of the wrong JSON type
  kBadValue,        // the right type, a value that is not allowed (a negative id, an empty key)
  kTooLong,         // a string over its limit
  kTooManyItems,    // a list over its limit
  kMissing,         // a required field is absent
  kBadPercentage,   // a slot percentage that is not an integer in 1..100
  kNoSlots,         // a group without slots
  kTooManySlots,    // more slots than allowed
  kDuplicateIndex,  // two slots with one index
  kEvaluationMode,  // evaluationMode neither "local" nor "remote"
  kAllocation,      // percentages summing over 100 (or, where required, not to exactly 100)
  kDuplicate,       // a key or id that another group of the configuration has (the last)
};

/// A problem with configuration input, naming where it is: the group (by position, id and key
/// as far as they could be read) and the field within it.
struct ConfigError {
  Problem problem = Problem::kBadValue;
  std::string group;  // e.g. `mutexes[3] (id 12, key "checkout")`; empty for the document
  std::string field;  // e.g. `slots[2].percentage`; empty for the group or document as a whole
  std::string message;

  /// `mutexes[3] (id 12) field slots[2].percentage: must be an integer in 1..100, got 0`.
  [[nodiscard]] std::string to_string() const;
  /// Without the group: `slots[2].percentage: must be an integer in 1..100, got 0`.
  [[nodiscard]] std::string field_message() const;
};

/// `mutexes[3] (id 12, key "checkout")`, as used in ConfigError::group; `group (id 12, key
/// "checkout")` without a position in the document. A zero id and an empty key are left out.
[[nodiscard]] std::string describe_group(std::optional<std::size_t> position, std::int64_t id,
                                         std::string_view key);

}  // namespace mutex_edge::config
