#include "cache/config_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace mutex_edge::cache {

boost::system::result<std::string, FileError> read_file(const std::filesystem::path& path,
                                                          std::size_t max_bytes) {
  std::ifstream in{path, std::ios::binary};
  if (!in) {
    return FileError{"cannot open " + path.string() + ": " + std::strerror(errno)};
  }
  std::string data;
  constexpr std::size_t kChunk = 64 * 1024;
  while (in) {
    const std::size_t before = data.size();
    if (before > max_bytes) {
      return FileError{path.string() + " is larger than the limit of " +
                       std::to_string(max_bytes) + " bytes"};
    }
    data.resize(before + kChunk);
    in.read(data.data() + before, static_cast<std::streamsize>(kChunk));
    data.resize(before + static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) {
    return FileError{"cannot read " + path.string() + ": " + std::strerror(errno)};
  }
  if (data.size() > max_bytes) {
    return FileError{path.string() + " is larger than the limit of " + std::to_string(max_bytes) +
                     " bytes"};
  }
  return {boost::system::in_place_value, std::move(data)};
}

boost::system::result<ListPage, std::string> load_config_file(const std::filesystem::path& path,
                                                              const ParseOptions& options) {
  auto data = read_file(path, options.limits.max_document_bytes);
  if (!data) {
    return data.error().message;
  }
  auto page = parse_list_page(*data, options);
  if (!page) {
    return path.string() + ": " + page.error().to_string();
  }
  return std::move(*page);
}

}  // namespace mutex_edge::cache
