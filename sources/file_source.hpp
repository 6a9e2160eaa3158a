#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/parser.hpp"

namespace mutex_edge::sources {

/// Serves a configuration file: loads it, then checks it every `interval` and reloads it when
/// it changed (size, modification time or inode). Runs on one executor (the control thread).
class FileSource {
 public:
  struct Callbacks {
    /// A new or edited file read and parsed (in `read_time`).
    std::function<void(config::ListPage, std::chrono::steady_clock::duration read_time)> loaded;
    std::function<void()> unchanged;                 // checked: nothing changed
    std::function<void(const std::string&)> failed;  // unreadable or unusable as a whole
  };

  FileSource(boost::asio::any_io_executor executor, std::filesystem::path path,
             std::chrono::milliseconds interval, config::ParseOptions options, Callbacks callbacks);

  /// Loads the file now. Returns false (after calling `failed`) when it cannot be used.
  bool load();
  /// Starts the periodic checks.
  void start();
  void stop();

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  struct Stamp {
    std::uintmax_t size = 0;
    std::filesystem::file_time_type mtime{};
    std::uint64_t inode = 0;
    bool operator==(const Stamp&) const = default;
  };

  bool stamp(Stamp& out, std::string& error) const;
  void schedule();
  void check();

  boost::asio::steady_timer timer_;
  std::filesystem::path path_;
  std::chrono::milliseconds interval_;
  config::ParseOptions options_;
  Callbacks callbacks_;
  Stamp last_{};
  bool have_stamp_ = false;
  bool failing_ = false;  // the last check failed: report the next success even if unchanged
  bool stopped_ = false;
};

}  // namespace mutex_edge::sources
