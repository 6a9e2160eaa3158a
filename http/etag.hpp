#pragma once

#include <string_view>

namespace mutex_edge::http {

/// Whether an If-None-Match field value matches `etag`, the entity tag of the current
/// representation (RFC 9110, section 13.1.2): `*` matches any current representation; otherwise
/// the value is a comma-separated list of entity tags, compared weakly (a `W/` on either side is
/// ignored). An empty `etag` (no current representation), an empty value and a malformed one (an
/// unquoted or unterminated tag, a list without commas) match nothing: the request is then
/// answered in full, which is never wrong. Allocates nothing.
[[nodiscard]] bool etag_matches(std::string_view if_none_match, std::string_view etag) noexcept;

}  // namespace mutex_edge::http
