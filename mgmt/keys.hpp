#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mutex_edge::mgmt {

/// Longest key slugify() makes, before a "-2" style suffix.
inline constexpr std::size_t kMaxSlugBytes = 64;

/// A group key made from its name: ASCII letters and digits lower-cased, every other run of
/// bytes one '-', no '-' at either end, at most kMaxSlugBytes. "mutex" when nothing is left.
[[nodiscard]] std::string slugify(std::string_view name);

/// `count` characters of [A-Za-z0-9] from OpenSSL's CSPRNG, without modulo bias (bucketing
/// salts).
[[nodiscard]] std::string random_alphanumeric(std::size_t count);

}  // namespace mutex_edge::mgmt
