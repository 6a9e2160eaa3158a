#include "tests/support/files.hpp"

#include <fstream>
#include <mutex>
#include <random>
#include <sstream>

#include <unistd.h>

namespace mutex_edge::testing {

std::filesystem::path unique_path(const std::string& stem) {
  static std::mutex mutex;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard lock{mutex};
  return std::filesystem::temp_directory_path() /
         (stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(rng()));
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in{path, std::ios::binary};
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TempDir::TempDir() : path_{unique_path("edge-test")} {
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::write(const std::string& name, const std::string& content) const {
  const auto target = path_ / name;
  const auto temp = path_ / (name + ".tmp");
  {
    std::ofstream out{temp, std::ios::binary | std::ios::trunc};
    out << content;
  }
  std::filesystem::rename(temp, target);
  return target;
}

}  // namespace mutex_edge::testing
