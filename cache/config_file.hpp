#pragma once

#include <filesystem>
#include <string>

#include <boost/system/result.hpp>

#include "cache/config_parser.hpp"

namespace mutex_edge::cache {

struct FileError {
  std::string message;  // names the path and the cause
};

/// Reads a whole file, refusing one larger than `max_bytes`.
[[nodiscard]] boost::system::result<std::string, FileError> read_file(
    const std::filesystem::path& path, std::size_t max_bytes);

/// Reads and parses a configuration file in the list endpoint's shape (`{"mutexes": [...]}`).
/// Invalid groups are reported in `rejected`; a file that is unusable as a whole is an error.
[[nodiscard]] boost::system::result<ListPage, std::string> load_config_file(
    const std::filesystem::path& path, const ParseOptions& options = {});

}  // namespace mutex_edge::cache
