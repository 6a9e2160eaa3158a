// A page of the Management API's list endpoint, as mutex-edge's poller reads one
// (cache/upstream_source.cpp): config::parse_list_page with the served limits and the digests of
// the served snapshot (so unchanged groups are not decoded), the page merged into the listing,
// and the snapshot built on top of the served one. What the new snapshot serves must read back
// the same (one mutex-edge is another's upstream).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/snapshots.hpp"

using namespace mutex_edge;

namespace {

const cache::Snapshot& served() {
  static const std::unique_ptr<const cache::Snapshot> snapshot = [] {
    fuzz::quiet_logs();
    std::vector<config::ConfigError> rejected;
    return cache::Snapshot::build(fuzz::serving_page(), 1, {"upstream:fuzz"}, rejected);
  }();
  return *snapshot;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const cache::Snapshot& previous = served();
  auto page = config::parse_list_page(fuzz::text(data, size), fuzz::serving_options(&previous));
  if (!page) {
    (void)page.error().to_string();
    return 0;
  }
  for (config::ConfigError& error : page->rejected) {
    error.group = "page 1 " + error.group;
  }
  config::ListPage merged;
  merged.append(std::move(*page));
  std::vector<config::ConfigError> rejected = std::move(merged.rejected);
  auto snapshot = fuzz::build(merged, 2, "upstream:fuzz", rejected, &previous);
  fuzz::check_served_copy(*snapshot);
  return 0;
}
