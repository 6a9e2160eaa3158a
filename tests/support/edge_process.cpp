#include "tests/support/edge_process.hpp"

#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/timing.hpp"

namespace mutex_edge::testing {
namespace {

using Clock = std::chrono::steady_clock;

int spawn(const std::string& binary, const std::vector<std::string>& args, const Env& env,
          const std::filesystem::path& output) {
  std::vector<std::string> full{binary};
  full.insert(full.end(), args.begin(), args.end());
  const int pid = ::fork();
  if (pid < 0) {
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    for (const auto& [name, value] : env) {
      ::setenv(name.c_str(), value.c_str(), 1);
    }
    const int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    const int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, STDIN_FILENO);
    std::vector<char*> argv;
    for (std::string& a : full) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

/// Waits for `pid` up to `timeout`; the decoded exit code, or -1 on timeout.
int wait_for(int pid, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    int status = 0;
    const int done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  return -1;
}

}  // namespace

ServerProcess::ServerProcess(std::string binary, std::vector<std::string> args, const Env& env,
                             const std::string& listen)
    : log_path_{unique_path("server-log")} {
  args.insert(args.begin(), {"--listen", listen});
  pid_ = spawn(binary, args, env, log_path_);
  const auto start_timeout = scaled(std::chrono::seconds{20});
  const auto deadline = Clock::now() + start_timeout;
  while (Clock::now() < deadline) {
    const std::string text = log();
    const auto at = text.find("msg=\"listening\" address=127.0.0.1:");
    if (at != std::string::npos) {
      port_ = static_cast<std::uint16_t>(std::stoi(
          text.substr(at + std::string_view{"msg=\"listening\" address=127.0.0.1:"}.size())));
      return;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error(binary + " exited at start:\n" + text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  throw std::runtime_error(binary + " did not start listening within " +
                           std::to_string(start_timeout.count()) + " ms:\n" + log());
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    wait_for(pid_, std::chrono::seconds{5});
  }
  std::error_code ec;
  std::filesystem::remove(log_path_, ec);
}

std::string ServerProcess::log() const {
  return read_file(log_path_);
}

int ServerProcess::stop(int signal, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) {
    return -1;
  }
  ::kill(pid_, signal);
  const int code = wait_for(pid_, scaled(timeout));
  if (code == -1) {
    ::kill(pid_, SIGKILL);
    wait_for(pid_, std::chrono::seconds{5});
  }
  pid_ = -1;
  return code;
}

bool ServerProcess::running() {
  if (pid_ <= 0) {
    return false;
  }
  int status = 0;
  return ::waitpid(pid_, &status, WNOHANG) == 0;
}

CommandResult run_binary(const std::string& binary, const std::vector<std::string>& args,
                         const Env& env) {
  const auto output = unique_path("server-run");
  const int pid = spawn(binary, args, env, output);
  CommandResult result;
  result.code = wait_for(pid, scaled(std::chrono::seconds{30}));
  if (result.code == -1) {
    ::kill(pid, SIGKILL);
    wait_for(pid, std::chrono::seconds{5});
  }
  result.output = read_file(output);
  std::error_code ec;
  std::filesystem::remove(output, ec);
  return result;
}

std::vector<std::string> fast_polling(const std::string& url, std::vector<std::string> more,
                                      std::chrono::milliseconds timeout) {
  std::vector<std::string> args = {"--upstream",
                                   url,
                                   "--poll-interval",
                                   "100ms",
                                   "--poll-failure-interval",
                                   "50ms",
                                   "--poll-backoff-max",
                                   "200ms",
                                   "--connect-timeout",
                                   flag_value(scaled(std::chrono::milliseconds{500})),
                                   "--upstream-timeout",
                                   flag_value(scaled(timeout))};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

}  // namespace mutex_edge::testing
