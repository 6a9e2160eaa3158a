#include "common/file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <fcntl.h>
#include <unistd.h>

namespace mutex_edge::common {
namespace {

Error os_error(const std::string& what, const std::filesystem::path& path) {
  return {what + " " + path.string() + ": " + std::strerror(errno)};
}

/// Closes a file descriptor on every path out.
struct Fd {
  explicit Fd(int descriptor) noexcept : fd{descriptor} {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
  int fd;
};

}  // namespace

Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_bytes,
                              std::size_t padding) {
  std::ifstream in{path, std::ios::binary};
  if (!in) {
    return os_error("cannot open", path);
  }
  auto too_large = [&] {
    return Error{path.string() + " is larger than the limit of " + std::to_string(max_bytes) +
                 " bytes"};
  };
  // Sized once from the file's size (it may still grow or shrink while read: read to the end).
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > max_bytes) {
    return too_large();
  }
  std::string data;
  data.reserve((ec ? 0 : static_cast<std::size_t>(size)) + padding + 1);
  constexpr std::size_t kChunk = 64 * 1024;
  while (in) {
    const std::size_t before = data.size();
    if (before > max_bytes) {
      return too_large();
    }
    // Fill what the reservation left (keeping the padding spare), at least a chunk at a time.
    const std::size_t room = data.capacity() - std::min(data.capacity(), before + padding);
    const std::size_t chunk = std::max(kChunk, room);
    data.resize(before + chunk);
    in.read(data.data() + before, static_cast<std::streamsize>(chunk));
    data.resize(before + static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) {
    return os_error("cannot read", path);
  }
  if (data.size() > max_bytes) {
    return too_large();
  }
  if (data.capacity() < data.size() + padding) {
    data.reserve(data.size() + padding);
  }
  return {boost::system::in_place_value, std::move(data)};
}

Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view data) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Error{"cannot create " + dir.string() + ": " + ec.message()};
  }
  const std::filesystem::path temp = path.string() + ".tmp";
  {
    Fd file{::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    if (file.fd < 0) {
      return os_error("cannot create", temp);
    }
    std::size_t written = 0;
    while (written < data.size()) {
      const ssize_t n = ::write(file.fd, data.data() + written, data.size() - written);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        return os_error("cannot write", temp);
      }
      written += static_cast<std::size_t>(n);
    }
    if (::fsync(file.fd) != 0) {
      return os_error("cannot fsync", temp);
    }
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return os_error("cannot rename into", path);
  }
  Fd directory{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (directory.fd < 0 || ::fsync(directory.fd) != 0) {
    return os_error("cannot fsync directory", dir);
  }
  return {};
}

}  // namespace mutex_edge::common
