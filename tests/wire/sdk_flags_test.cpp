// The gzip of GET /sdk/v2/flags, built run by run: a swap copies the compressed runs whose groups
// it keeps, and what it serves is byte for byte what a build from nothing gives.
#include <string>
#include <string_view>
#include <vector>

#include "wire/sdk_api.hpp"

#include <catch2/catch.hpp>

#include "config/parser.hpp"
#include "tests/support/checks.hpp"
#include "tests/support/groups.hpp"

using namespace mutex_edge;

namespace {

std::unique_ptr<const cache::Snapshot> snapshot_of(const std::string& json, std::uint64_t version,
                                                   const cache::Snapshot* previous = nullptr) {
  auto page = config::parse_list_page(json);
  REQUIRE(page.has_value());
  std::vector<config::ConfigError> rejected;
  auto snapshot = cache::Snapshot::build(*page, version, {}, rejected, previous);
  REQUIRE(rejected.empty());
  return snapshot;
}

}  // namespace

TEST_CASE("a swap's SDK gzip copies the unchanged runs and equals a build from nothing",
          "[wire][sdk]") {
  const auto before = snapshot_of(testing::many_groups_json(300, 40), 1);
  const auto first = wire::build_sdk_flags(*before);
  REQUIRE(first->gzip != nullptr);
  CHECK(first->runs.size() > 4);  // about 16 groups a run
  CHECK(testing::gunzip(*first->gzip) == *first->body);

  // One group's share changes: the same groups otherwise, most of them the same entries.
  std::string edited = testing::many_groups_json(300, 40);
  const std::string from = R"("percentage":40)";
  const std::size_t at = edited.rfind(from);
  REQUIRE(at != std::string::npos);
  edited.replace(at, from.size(), R"("percentage":41)");
  const auto after = snapshot_of(edited, 2, before.get());
  const auto swapped = wire::build_sdk_flags(*after, before.get(), first.get());
  const auto fresh = wire::build_sdk_flags(*after);

  CHECK(*swapped->body == *fresh->body);
  CHECK(*swapped->gzip == *fresh->gzip);
  CHECK(testing::gunzip(*swapped->gzip) == *fresh->body);
  CHECK(*swapped->body != *first->body);
  std::size_t copied = 0;  // runs the previous build had too (same groups, same bytes)
  for (const auto& run : swapped->runs) {
    for (const auto& old : first->runs) {
      if (old.first == run.first && old.count == run.count && old.crc == run.crc) {
        ++copied;
      }
    }
  }
  CHECK(copied + 1 >= swapped->runs.size());  // every run but the edited group's
}
