#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace mutex_edge::common {

/// Reads a whole file, refusing one larger than `max_bytes`. The error names the path and cause.
/// The string has room for `padding` more bytes past its end (a parser that reads a little past
/// the end, as simdjson does, then needs no copy).
[[nodiscard]] Result<std::string> read_file(const std::filesystem::path& path,
                                            std::size_t max_bytes, std::size_t padding = 0);

/// Replaces `path` with `data` atomically and durably: a temporary file beside it, fsync, rename
/// over the old file, fsync of the directory. A crash at any moment leaves the old file or the
/// new one, never a mix. Creates the directory if needed.
[[nodiscard]] Result<void> write_file_atomically(const std::filesystem::path& path,
                                                 std::string_view data);

}  // namespace mutex_edge::common
