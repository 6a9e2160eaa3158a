// Micro-benchmark of what a configuration change costs: parsing a page of the list endpoint and
// building a snapshot from its groups, each next to a reference measured in the same run (the
// machine is shared and noisy: read the ratios).
//
//   parse:    config::parse_list_page of a page of --page-groups groups (default 1,000) against
//             simdjson parsing the same document into its DOM, which any decoder must do first.
//   snapshot: cache::Snapshot::build of --groups groups (default 10,000) from scratch, and again
//             with the previous snapshot when one group changed (the others decoded, then matched
//             to their entries by content hash), against copying those groups'
//             configuration (the least a build that keeps its own copy can do).
//
// The groups are shaped as load/gen_groups.py makes them: 2 to 20 slots, 3 experiments and 5
// individuals a slot, bucketing on device_id.
//
//   mutex-edge-bench-config [--seconds 0.3] [--groups 10000] [--page-groups 1000]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <simdjson.h>

#include "cache/snapshot.hpp"
#include "common/json_writer.hpp"
#include "config/parser.hpp"
#include "config/serialize.hpp"
#include "load/bench_args.hpp"
#include "load/bench_groups.hpp"

namespace {

using namespace mutex_edge;

volatile std::uint64_t g_sink = 0;  // keeps the optimiser from dropping the work

std::string list_page(const std::vector<config::GroupConfig>& groups) {
  std::string out;
  common::JsonWriter writer{out};
  config::write_list_page(
      writer, groups.size(),
      [&](common::JsonWriter& w, std::size_t i) { config::write_group(w, groups[i]); },
      std::nullopt);
  return out;
}

void print(const char* what, double ms, double reference_ms, std::size_t groups) {
  std::printf("%-44s %10.3f ms %9.2f us/group %8.2f x reference\n", what, ms,
              ms * 1000.0 / static_cast<double>(groups), ms / reference_ms);
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = bench::number_arg(argc, argv, "--seconds", 0.3);
  const auto snapshot_groups =
      static_cast<std::size_t>(bench::number_arg(argc, argv, "--groups", 10000));
  const auto page_groups =
      static_cast<std::size_t>(bench::number_arg(argc, argv, "--page-groups", 1000));
  if (snapshot_groups == 0 || page_groups == 0) {
    std::fprintf(stderr, "mutex-edge-bench-config: --groups and --page-groups must be over 0\n");
    return 2;
  }

  // ---- parse of one page
  const std::string page = list_page(bench::make_groups(page_groups, 1));
  simdjson::dom::parser dom;
  const double dom_ms = bench::measure_ms(seconds, [&] {
    simdjson::dom::element root;
    if (dom.parse(page).get(root) != simdjson::SUCCESS) {
      std::abort();
    }
    g_sink = g_sink + 1;
  });
  std::size_t parsed = 0;
  const double parse_ms = bench::measure_ms(seconds, [&] {
    auto result = config::parse_list_page(page);
    if (!result || !result->rejected.empty()) {
      std::abort();
    }
    parsed = result->groups.size();
  });
  if (parsed != page_groups) {
    std::fprintf(stderr, "mutex-edge-bench-config: parsed %zu of %zu groups\n", parsed,
                 page_groups);
    return 1;
  }
  std::printf("page of %zu groups, %zu bytes\n", page_groups, page.size());
  print("reference: simdjson DOM parse", dom_ms, dom_ms, page_groups);
  print("config::parse_list_page (decode + validate)", parse_ms, dom_ms, page_groups);

  // ---- snapshot build
  // Built from a parsed page, as every source does (the page is read, not copied).
  config::ListPage groups;
  groups.groups = bench::make_groups(snapshot_groups, 2);
  const double copy_ms = bench::measure_ms(seconds, [&] {
    std::vector<config::GroupConfig> copy = groups.groups;
    g_sink = g_sink + copy.size();
  });
  std::vector<config::ConfigError> rejected;
  const double full_ms = bench::measure_ms(seconds, [&] {
    auto snapshot = cache::Snapshot::build(groups, 1, {}, rejected);
    g_sink = g_sink + snapshot->size();
  });
  const auto previous = cache::Snapshot::build(groups, 1, {}, rejected);
  config::ListPage edited;
  edited.groups = groups.groups;
  edited.groups[snapshot_groups / 2].name += " (edited)";
  cache::BuildStats stats;
  const double one_ms = bench::measure_ms(seconds, [&] {
    stats = {};
    auto snapshot = cache::Snapshot::build(edited, 2, {}, rejected, previous.get(), &stats);
    g_sink = g_sink + snapshot->size();
  });
  if (!rejected.empty() || stats.compiled != 1 || stats.reused != snapshot_groups - 1) {
    std::fprintf(stderr,
                 "mutex-edge-bench-config: the one-group rebuild compiled %zu, reused %zu\n",
                 stats.compiled, stats.reused);
    return 1;
  }
  std::printf("\nsnapshot of %zu groups\n", snapshot_groups);
  print("reference: copy of the groups' configuration", copy_ms, copy_ms, snapshot_groups);
  print("Snapshot::build, every group compiled", full_ms, copy_ms, snapshot_groups);
  print("Snapshot::build, one changed, rest matched", one_ms, copy_ms, snapshot_groups);
  return 0;
}
