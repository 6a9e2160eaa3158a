#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/files.hpp"
#include "tests/support/paths.hpp"

namespace mutex_edge::testing {

using Env = std::vector<std::pair<std::string, std::string>>;

/// One of our server binaries started on an ephemeral loopback port, its log in a temp file.
/// It must log `msg="listening" address=127.0.0.1:<port>` once it listens. Stops it (SIGKILL)
/// in the destructor if the test did not.
class ServerProcess {
 public:
  /// Starts `<binary> --listen <listen> <args>` with `env` added to the environment and waits
  /// (up to scaled(20 s)) for it to listen.
  ServerProcess(std::string binary, std::vector<std::string> args, const Env& env = {},
                const std::string& listen = "127.0.0.1:0");
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::string log() const;

  /// Sends `signal` and waits up to scaled(`timeout`) for the exit; returns the exit code, or -1
  /// if it did not exit in time (it is then killed), or 128+N if a signal N ended it.
  int stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds{15});
  /// True while the process runs.
  [[nodiscard]] bool running();
  [[nodiscard]] int pid() const noexcept { return pid_; }

 private:
  int pid_ = -1;
  std::uint16_t port_ = 0;
  std::filesystem::path log_path_;
};

/// The mutex-edge server.
class EdgeProcess : public ServerProcess {
 public:
  explicit EdgeProcess(std::vector<std::string> args, const Env& env = {},
                       const std::string& listen = "127.0.0.1:0")
      : ServerProcess(kEdgeBinary, std::move(args), env, listen) {}
};

/// The mutex-mgmt server (the local Management API).
class MgmtProcess : public ServerProcess {
 public:
  explicit MgmtProcess(std::vector<std::string> args, const Env& env = {},
                       const std::string& listen = "127.0.0.1:0")
      : ServerProcess(kMgmtBinary, std::move(args), env, listen) {}
};

/// mutex-edge's flags to poll `url` quickly (every 100 ms, backing off from 50 to 200 ms, a
/// 500 ms connect timeout and `timeout` for each page, both scaled()), then `more`.
std::vector<std::string> fast_polling(const std::string& url, std::vector<std::string> more = {},
                                      std::chrono::milliseconds timeout = std::chrono::seconds{1});

/// Runs `<binary> <args>` to completion (bounded); returns its exit code and output.
struct CommandResult {
  int code = -1;
  std::string output;  // stdout and stderr together
};
CommandResult run_binary(const std::string& binary, const std::vector<std::string>& args,
                         const Env& env = {});
inline CommandResult run_edge(const std::vector<std::string>& args) {
  return run_binary(kEdgeBinary, args);
}

}  // namespace mutex_edge::testing
