#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace mutex_edge::testing {

/// The real `mutex-edge` binary started on an ephemeral loopback port, its log in a temp file.
/// Stops it (SIGKILL) in the destructor if the test did not.
class EdgeProcess {
 public:
  /// Starts `mutex-edge --listen 127.0.0.1:0 <args>` and waits (bounded) for it to listen.
  explicit EdgeProcess(std::vector<std::string> args);
  ~EdgeProcess();
  EdgeProcess(const EdgeProcess&) = delete;
  EdgeProcess& operator=(const EdgeProcess&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::string log() const;

  /// Sends `signal` and waits up to `timeout` for the exit; returns the exit code, or -1 if it
  /// did not exit in time (it is then killed), or 128+N if a signal N ended it.
  int stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds{15});
  /// True while the process runs.
  [[nodiscard]] bool running();

 private:
  int pid_ = -1;
  std::uint16_t port_ = 0;
  std::filesystem::path log_path_;
};

/// Runs `mutex-edge <args>` to completion (bounded); returns its exit code and output.
struct CommandResult {
  int code = -1;
  std::string output;  // stdout and stderr together
};
CommandResult run_edge(const std::vector<std::string>& args);

/// A unique temporary directory, removed with its content by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  /// Writes `content` to `name` inside the directory atomically (write, then rename).
  std::filesystem::path write(const std::string& name, const std::string& content) const;

 private:
  std::filesystem::path path_;
};

/// Reads a whole file (for fixtures).
std::string read_file(const std::filesystem::path& path);

}  // namespace mutex_edge::testing
