// Micro-benchmark of the bucketing engine: nanoseconds per assignment for 1, 10 and 100 groups
// of 2 and 20 slots, next to the cost of hashing alone, measured in the same run. The machine is
// shared and noisy: read the ratio to the hash, not the absolute figures.
//
//   mutex-edge-bench-assign [--seconds 0.3]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "eval/group.hpp"
#include "eval/murmur3.hpp"
#include "load/bench_args.hpp"

namespace {

using namespace mutex_edge::eval;
using Clock = std::chrono::steady_clock;

volatile std::uint64_t g_sink = 0;  // keeps the optimiser from dropping the work

/// Runs `body(i)` in rounds until `seconds` have passed; returns nanoseconds per call.
template <typename Body>
double measure(double seconds, std::size_t calls_per_round, Body body) {
  std::uint64_t calls = 0;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  auto now = start;
  do {
    for (std::size_t i = 0; i < calls_per_round; ++i) {
      body(i);
    }
    calls += calls_per_round;
    now = Clock::now();
  } while (now < deadline);
  return std::chrono::duration<double, std::nano>(now - start).count() / static_cast<double>(calls);
}

struct GroupSet {
  std::vector<std::vector<std::string>> no_strings;
  std::vector<CompiledGroup> groups;
};

GroupSet make_groups(std::size_t count, int slots, std::mt19937& rng) {
  GroupSet set;
  set.no_strings.resize(1);
  for (std::size_t g = 0; g < count; ++g) {
    std::vector<SlotDef> defs;
    const int each = 100 / slots;
    for (int s = 1; s <= slots; ++s) {
      defs.push_back(
          {s, s == slots ? 100 - each * (slots - 1) : each, set.no_strings[0], set.no_strings[0]});
    }
    const std::string salt = std::to_string(rng());
    set.groups.push_back(CompiledGroup::compile({"device_id", salt, defs}));
  }
  return set;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = mutex_edge::bench::number_arg(argc, argv, "--seconds", 0.3);
  std::mt19937 rng{12345};
  constexpr std::size_t kUsers = 4096;
  std::vector<std::string> ids;
  std::vector<std::string> keys;  // "salt/value", what the hash-only reference hashes
  std::vector<User> users(kUsers);
  for (std::size_t i = 0; i < kUsers; ++i) {
    ids.push_back("3b1e1f4c-8e2a-4c1b-9d2e-" + std::to_string(rng()));
    keys.push_back("4193517218/" + ids.back());
  }
  for (std::size_t i = 0; i < kUsers; ++i) {
    users[i].device_id = ids[i];
  }

  const double hash_ns =
      measure(seconds, kUsers, [&](std::size_t i) { g_sink = g_sink + murmur3_x86_32(keys[i]); });
  std::printf("reference: murmur3 of a %zu-byte \"salt/device_id\" key: %.1f ns\n\n",
              keys[0].size(), hash_ns);
  std::printf("%-7s %-6s %14s %14s %10s\n", "groups", "slots", "ns/assignment", "ns/user",
              "x hash");
  for (std::size_t count : {std::size_t{1}, std::size_t{10}, std::size_t{100}}) {
    for (int slots : {2, 20}) {
      GroupSet set = make_groups(count, slots, rng);
      const double per_user = measure(seconds, kUsers, [&](std::size_t i) {
        std::uint64_t acc = 0;
        for (const CompiledGroup& group : set.groups) {
          acc += static_cast<std::uint64_t>(group.assign(users[i]).slot);
        }
        g_sink = g_sink + acc;
      });
      const double per_assignment = per_user / static_cast<double>(count);
      std::printf("%-7zu %-6d %14.1f %14.1f %10.2f\n", count, slots, per_assignment, per_user,
                  per_assignment / hash_ns);
    }
  }
  return 0;
}
