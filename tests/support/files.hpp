#pragma once

#include <filesystem>
#include <string>

namespace mutex_edge::testing {

/// A path in the temporary directory that no other test (or process) uses.
std::filesystem::path unique_path(const std::string& stem);

/// A unique temporary directory, removed with its content by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  /// Writes `content` to `name` inside the directory atomically (write, then rename).
  std::filesystem::path write(const std::string& name, const std::string& content) const;

 private:
  std::filesystem::path path_;
};

/// Reads a whole file (for fixtures).
std::string read_file(const std::filesystem::path& path);

}  // namespace mutex_edge::testing
