#include "cache/persistence.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <simdjson.h>

#include "cache/config_file.hpp"
#include "cache/json_writer.hpp"
#include "cache/serialize.hpp"

namespace mutex_edge::cache {
namespace {

PersistenceError os_error(const std::string& what, const std::filesystem::path& path) {
  return {what + " " + path.string() + ": " + std::strerror(errno)};
}

/// Closes a file descriptor on every path out.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

}  // namespace

std::filesystem::path persisted_path(const std::filesystem::path& state_dir) {
  return state_dir / "mutexes.json";
}

boost::system::result<void, PersistenceError> save_config(
    const std::filesystem::path& state_dir, std::span<const GroupConfig> groups,
    const std::string& source, std::chrono::system_clock::time_point fetched_at) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) {
    return PersistenceError{"cannot create " + state_dir.string() + ": " + ec.message()};
  }
  // {"source":..., "fetchedAtMs":..., "mutexes":[...], "nextCursor":null}
  std::string body = serialize_list(groups);
  std::string head;
  JsonWriter writer{head};
  writer.begin_object().key("source").value(source);
  writer.key("fetchedAtMs").value(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      fetched_at.time_since_epoch())
                                      .count());
  head += ',';
  const std::string data = head + body.substr(1);  // splice the list's members in

  const std::filesystem::path target = persisted_path(state_dir);
  const std::filesystem::path temp = target.string() + ".tmp";
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
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    return os_error("cannot rename into", target);
  }
  Fd dir{::open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (dir.fd < 0 || ::fsync(dir.fd) != 0) {
    return os_error("cannot fsync directory", state_dir);
  }
  return {};
}

boost::system::result<PersistedConfig, PersistenceError> load_config(
    const std::filesystem::path& state_dir, const ParseOptions& options) {
  const std::filesystem::path path = persisted_path(state_dir);
  auto data = read_file(path, options.limits.max_document_bytes);
  if (!data) {
    return PersistenceError{data.error().message};
  }
  auto page = parse_list_page(*data, options);
  if (!page) {
    return PersistenceError{path.string() + ": " + page.error().to_string()};
  }
  PersistedConfig persisted;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view source;
  std::int64_t fetched_ms = 0;
  if (parser.parse(*data).get(root) != simdjson::SUCCESS ||
      root["source"].get_string().get(source) != simdjson::SUCCESS ||
      root["fetchedAtMs"].get_int64().get(fetched_ms) != simdjson::SUCCESS) {
    return PersistenceError{path.string() + ": no source or fetchedAtMs: not a saved state"};
  }
  persisted.page = std::move(*page);
  persisted.source = std::string{source};
  persisted.fetched_at =
      std::chrono::system_clock::time_point{std::chrono::milliseconds{fetched_ms}};
  return persisted;
}

}  // namespace mutex_edge::cache
