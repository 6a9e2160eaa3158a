// The config file (--config-file), read as mutex-edge reads it: a sources::FileSource loads the
// file (config::load_list_file) with the served limits, and the snapshot is built from what
// parsed. Then the file is loaded again as a reload does, with the first snapshot served (its
// groups recognised by digest, not decoded): the same bytes must give the same configuration.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sources/file_source.hpp"

#include <boost/asio/io_context.hpp>

#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/snapshots.hpp"

using namespace mutex_edge;

namespace {

/// One load of the file by a FileSource whose parse options know `served`'s groups.
std::optional<config::ListPage> load(const std::filesystem::path& path,
                                     const cache::Snapshot* served) {
  static boost::asio::io_context io;
  std::optional<config::ListPage> loaded;
  sources::FileSource::Callbacks callbacks;
  callbacks.loaded = [&loaded](config::ListPage page, std::chrono::steady_clock::duration) {
    loaded = std::move(page);
  };
  callbacks.unchanged = [] {};
  callbacks.failed = [](const std::string&) {};
  sources::FileSource source{io.get_executor(), path, std::chrono::seconds{1},
                             fuzz::serving_options(served), std::move(callbacks)};
  if (source.load() != loaded.has_value()) {
    fuzz::fail("FileSource::load's result and its callbacks disagree");
  }
  return loaded;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::filesystem::path path = [] {
    fuzz::quiet_logs();
    return fuzz::scratch_dir() / "groups.json";
  }();
  fuzz::write_file(path, fuzz::text(data, size));
  const std::string source = "file:" + path.string();

  auto first = load(path, nullptr);
  if (!first) {
    return 0;
  }
  std::vector<config::ConfigError> rejected = std::move(first->rejected);
  auto snapshot = fuzz::build(*first, 1, source, rejected, nullptr);

  auto second = load(path, snapshot.get());
  if (!second) {
    fuzz::fail("a config file that loaded once does not load again");
  }
  std::vector<config::ConfigError> rejected_again = std::move(second->rejected);
  auto reloaded = fuzz::build(*second, 2, source, rejected_again, snapshot.get());
  if (reloaded->content_hash() != snapshot->content_hash() ||
      reloaded->size() != snapshot->size() || rejected_again.size() != rejected.size()) {
    fuzz::fail("reloading an unchanged config file changes the configuration",
               std::to_string(snapshot->size()) + " groups and " + std::to_string(rejected.size()) +
                   " rejections, then " + std::to_string(reloaded->size()) + " and " +
                   std::to_string(rejected_again.size()));
  }
  return 0;
}
