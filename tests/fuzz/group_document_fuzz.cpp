// A single group document: the get endpoint's answer, and what mutex-mgmt reads back from its
// database before an edit (mgmt/store.cpp), through config::parse_group. A group that parses is
// valid, serialises to JSON that parses to the same group, and compiles into a snapshot.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "config/serialize.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/snapshots.hpp"

using namespace mutex_edge;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto group = config::parse_group(fuzz::text(data, size));
  if (!group) {
    for (const config::ConfigError& e : group.error()) {
      (void)e.to_string();
      (void)e.field_message();
    }
    return 0;
  }
  if (auto problems = config::validate_group(*group); !problems.empty()) {
    fuzz::fail("a parsed group does not validate", problems.front().to_string());
  }
  // Served, it reads back to what serves the same JSON (an absent evaluationMode is "remote").
  const std::string json = config::group_json(*group);
  auto again = config::parse_group(json);
  if (!again || config::group_json(*again) != json) {
    fuzz::fail("a group reads back otherwise", json);
  }
  config::ListPage page;
  page.groups.push_back(std::move(*group));
  std::vector<config::ConfigError> rejected;
  auto snapshot = fuzz::build(page, 1, "upstream:fuzz", rejected, nullptr);
  if (!rejected.empty() || snapshot->size() != 1) {
    fuzz::fail("a valid group is left out of a snapshot",
               rejected.empty() ? json : rejected.front().to_string());
  }
  fuzz::check_served_copy(*snapshot);
  return 0;
}
