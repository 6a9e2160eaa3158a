// Micro-benchmark of cohort membership as the assignment path will hold it (cache::CohortMembers),
// each figure next to a reference measured in the same run (the machine is shared: read the
// ratios).
//
//   download: sources::parse_cohort_download of one answer of the cohort download API with
//             --members members (default 1,000,000), against simdjson parsing the same body into
//             its DOM, which any decoder must do first. The set it builds is what a swap publishes.
//   lookup:   one answer's cohort check: the user id hashed once, then one probe in each of
//             --cohorts referenced cohorts (default 8, of --members members each, half the users
//             members), against MurmurHash3 of the same "salt/user id", the bucketing hash every
//             group's answer computes.
//
//   mutex-edge-bench-cohorts [--seconds 0.5] [--members 1000000] [--cohorts 8]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "sources/cohort_download.hpp"

#include <simdjson.h>

#include "eval/murmur3.hpp"
#include "load/bench_args.hpp"

namespace {

using namespace mutex_edge;

volatile std::uint64_t g_sink = 0;

std::string member(std::size_t cohort, std::size_t i) {
  return "user-" + std::to_string(cohort) + "-" + std::to_string(i) + "@example.com";
}

std::string download_body(std::size_t cohort, std::size_t members) {
  std::string body = R"({"cohortId":"c)" + std::to_string(cohort) +
                     R"(","groupType":"User","groupTypeId":0,"lastComputed":1764633600000,)"
                     R"("lastModified":1764633600000,"size":)" +
                     std::to_string(members) + R"(,"memberIds":[)";
  for (std::size_t i = 0; i < members; ++i) {
    if (i != 0) {
      body += ',';
    }
    body += '"';
    body += member(cohort, i);
    body += '"';
  }
  body += "]}";
  return body;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = bench::number_arg(argc, argv, "--seconds", 0.5);
  const auto members = static_cast<std::size_t>(bench::number_arg(argc, argv, "--members", 1e6));
  const auto cohorts = static_cast<std::size_t>(bench::number_arg(argc, argv, "--cohorts", 8));

  // Download: parse and build, against the DOM parse alone.
  const std::string body = download_body(0, members);
  simdjson::dom::parser dom;
  const double dom_ms = bench::measure_ms(seconds, [&] {
    simdjson::dom::element root;
    if (dom.parse(body).get(root) == simdjson::SUCCESS) {
      g_sink = g_sink + 1;
    }
  });
  std::size_t bytes = 0;
  const double build_ms = bench::measure_ms(seconds, [&] {
    auto parsed = sources::parse_cohort_download(body, members);
    if (!parsed) {
      std::fprintf(stderr, "bench: %s\n", parsed.error().c_str());
      std::exit(1);
    }
    bytes = parsed->members.memory_bytes();
    g_sink = g_sink + parsed->members.size();
  });
  std::printf(
      "download of %zu members (%.1f MB body): %.1f ms to parse and build the set; "
      "simdjson DOM parse alone %.1f ms (%.2fx)\n",
      members, static_cast<double>(body.size()) / 1e6, build_ms, dom_ms, build_ms / dom_ms);
  std::printf("memory: %.1f bytes a member (%.1f MB for %zu members; the ids are not kept)\n",
              static_cast<double>(bytes) / static_cast<double>(members),
              static_cast<double>(bytes) / 1e6, members);

  // Lookup: `cohorts` sets, users half members of each.
  std::vector<cache::CohortMembers> sets(cohorts);
  for (std::size_t c = 0; c < cohorts; ++c) {
    sets[c].reserve(members);
    for (std::size_t i = 0; i < members; ++i) {
      sets[c].add(member(c, i));
    }
  }
  std::mt19937_64 rng{7};
  std::vector<std::string> users(1 << 16);
  for (std::string& user : users) {
    const std::size_t c = rng() % cohorts;
    user = rng() % 2 == 0 ? member(c, rng() % members) : "stranger-" + std::to_string(rng());
  }
  std::size_t next = 0;
  std::uint64_t hits = 0;
  constexpr int kPerCall = 1024;
  const double lookup_ms = bench::measure_ms(seconds, [&] {
    for (int n = 0; n < kPerCall; ++n) {
      const std::string& user = users[next++ & (users.size() - 1)];
      const std::uint64_t key = cache::CohortMembers::key(user);
      for (const cache::CohortMembers& set : sets) {
        hits += set.contains(key) ? 1U : 0U;
      }
    }
  });
  std::string salted;
  const double murmur_ms = bench::measure_ms(seconds, [&] {
    for (int n = 0; n < kPerCall; ++n) {
      const std::string& user = users[next++ & (users.size() - 1)];
      salted.assign("aB3dE5gH/");
      salted += user;
      g_sink = g_sink + eval::murmur3_x86_32(salted, 0);
    }
  });
  g_sink = g_sink + hits;
  const double per_cohort_ns = lookup_ms * 1e6 / kPerCall / static_cast<double>(cohorts);
  const double murmur_ns = murmur_ms * 1e6 / kPerCall;
  std::printf(
      "lookup: %.1f ns a referenced cohort (%zu cohorts of %zu members, the user id "
      "hashed once); one bucketing hash %.1f ns (%.2fx)\n",
      per_cohort_ns, cohorts, members, murmur_ns, per_cohort_ns / murmur_ns);
  return 0;
}
