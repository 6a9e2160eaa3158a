#pragma once
// Wording shared by the JSON decoders' error messages. Includes simdjson: for .cpp files only,
// never for a header of a library's interface.

#include <string>
#include <string_view>

#include <simdjson.h>

namespace mutex_edge::cache {

/// "an array", "a number", "null", ...: the type a JSON value was, for "must be X, got Y".
[[nodiscard]] std::string_view json_type_name(simdjson::dom::element_type type) noexcept;

/// `s` in double quotes, cut to `max` bytes with "..." when longer: safe to put in a message.
[[nodiscard]] std::string excerpt(std::string_view s, std::size_t max = 64);

}  // namespace mutex_edge::cache
