#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace mutex_edge::eval {

/// One user field as Amplitude's engine sees it after coercion to a string: `std::nullopt`
/// for an explicit JSON null, otherwise the string (numbers in JavaScript's decimal form,
/// booleans as "true"/"false", objects and arrays as compact JSON).
struct Field {
  std::string_view name;
  std::optional<std::string_view> value;
};

/// A user to assign, as views into storage the caller owns (see cache/user_json.hpp).
/// Nothing here allocates; `assign` only reads it.
struct User {
  std::optional<std::string_view> user_id;    // nullopt: missing or null
  std::optional<std::string_view> device_id;  // nullopt: missing or null
  std::span<const Field> fields;      // every other top-level field (amplitude_id, country, ...)
  std::span<const Field> properties;  // user_properties
  bool has_cohort_ids = false;        // false: cohort_ids missing or null
  std::span<const std::string_view> cohort_ids;  // non-empty ids only (the engine drops empty ones)
};

/// Top-level user fields of Amplitude's evaluation context. A bucketing key naming one of them
/// reads the user's own field; any other name reads `user_properties.<name>` (as does `gp:<name>`).
[[nodiscard]] bool is_top_level_user_field(std::string_view name) noexcept;

/// Writes `value` as JavaScript's Number.prototype.toString() would (the engine's String(value)),
/// e.g. 1234567890 -> "1234567890", 0.5 -> "0.5", 1e21 -> "1e+21". Returns the length written;
/// `out` must hold at least kMaxJsNumberChars characters.
inline constexpr std::size_t kMaxJsNumberChars = 32;
std::size_t format_js_number(double value, char* out) noexcept;

}  // namespace mutex_edge::eval
