#include "sources/file_source.hpp"

#include <cerrno>
#include <cstring>

#include <sys/stat.h>

namespace mutex_edge::sources {

FileSource::FileSource(boost::asio::any_io_executor executor, std::filesystem::path path,
                       std::chrono::milliseconds interval, config::ParseOptions options,
                       Callbacks callbacks)
    : timer_{std::move(executor)},
      path_{std::move(path)},
      interval_{interval},
      options_{options},
      callbacks_{std::move(callbacks)} {}

bool FileSource::stamp(Stamp& out, std::string& error) const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    error = "cannot stat " + path_.string() + ": " + std::strerror(errno);
    return false;
  }
  std::error_code ec;
  out.size = static_cast<std::uintmax_t>(st.st_size);
  out.inode = static_cast<std::uint64_t>(st.st_ino);
  out.mtime = std::filesystem::last_write_time(path_, ec);
  return true;
}

bool FileSource::load() {
  std::string error;
  Stamp before;
  if (!stamp(before, error)) {
    failing_ = true;
    callbacks_.failed(error);
    return false;
  }
  const auto started = std::chrono::steady_clock::now();
  auto page = config::load_list_file(path_, options_);
  if (!page) {
    // Remember the stamp anyway: the same bad file is reported once, not every interval.
    last_ = before;
    have_stamp_ = true;
    failing_ = true;
    callbacks_.failed(page.error().message);
    return false;
  }
  last_ = before;
  have_stamp_ = true;
  failing_ = false;
  callbacks_.loaded(std::move(*page), std::chrono::steady_clock::now() - started);
  return true;
}

void FileSource::start() {
  stopped_ = false;
  schedule();
}

void FileSource::stop() {
  stopped_ = true;
  timer_.cancel();
}

void FileSource::schedule() {
  timer_.expires_after(interval_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec && !stopped_) {
      check();
      schedule();
    }
  });
}

void FileSource::check() {
  std::string error;
  Stamp now;
  if (!stamp(now, error)) {
    have_stamp_ = false;  // whatever appears next is loaded
    if (!failing_) {
      failing_ = true;
      callbacks_.failed(error);
    }
    return;
  }
  if (have_stamp_ && now == last_) {
    if (!failing_) {
      callbacks_.unchanged();
    }
    return;
  }
  load();
}

}  // namespace mutex_edge::sources
