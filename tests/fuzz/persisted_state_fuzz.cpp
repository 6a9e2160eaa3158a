// The persisted state (<state-dir>/mutexes.json), read at start as mutex-edge reads it
// (sources::load_config), and the snapshot built from it. A snapshot that built is then saved
// (sources::save_config) and loaded back, as the next restart does: it must come back the same.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "sources/persistence.hpp"

#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/snapshots.hpp"

using namespace mutex_edge;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::filesystem::path read_dir = fuzz::scratch_dir() / "read";
  static const std::filesystem::path saved_dir = fuzz::scratch_dir() / "saved";
  static const bool made = [] {
    fuzz::quiet_logs();
    std::filesystem::create_directories(read_dir);
    return true;
  }();
  (void)made;
  fuzz::write_file(sources::persisted_path(read_dir), fuzz::text(data, size));

  auto persisted = sources::load_config(read_dir, fuzz::serving_options(nullptr));
  if (!persisted) {
    return 0;
  }
  std::vector<config::ConfigError> rejected = std::move(persisted->page.rejected);
  auto snapshot =
      fuzz::build(persisted->page, 1, "persisted:" + persisted->source, rejected, nullptr);

  auto saved = sources::save_config(saved_dir, *snapshot, persisted->source, persisted->fetched_at);
  if (!saved) {
    fuzz::fail("the state cannot be saved", saved.error().message);
  }
  auto again = sources::load_config(saved_dir, fuzz::serving_options(nullptr));
  if (!again) {
    fuzz::fail("a saved state does not load", again.error().message);
  }
  if (!again->page.rejected.empty() || again->source != persisted->source ||
      again->fetched_at != persisted->fetched_at) {
    fuzz::fail("a saved state loads otherwise", again->page.rejected.empty()
                                                    ? again->source
                                                    : again->page.rejected.front().to_string());
  }
  std::vector<config::ConfigError> rejected_again;
  auto restarted =
      fuzz::build(again->page, 2, "persisted:" + again->source, rejected_again, nullptr);
  if (!rejected_again.empty()) {
    fuzz::fail("a saved state builds with rejections", rejected_again.front().to_string());
  }
  // The same groups served (not the same content hash: an absent evaluationMode is saved as
  // "remote").
  if (fuzz::served_listing(*restarted) != fuzz::served_listing(*snapshot)) {
    fuzz::fail("a saved state builds another snapshot", fuzz::served_listing(*restarted));
  }
  return 0;
}
