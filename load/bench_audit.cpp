// Benchmark of `mutex-edge audit`: generates exposure lines (each user's slot from the engine, a
// few mismatches planted) into a temporary file, runs the real binary on it and prints lines/s
// and the audit's peak RSS. It checks what the audit reports: every line read, no bad line, and
// exactly the planted mismatches.
//
//   mutex-edge-bench-audit [--lines 10000000] [--users 2000000] [--plant 100] [--skew 0]
//                          [--bin build/bin/mutex-edge] [--write FILE]
//
// --skew S drops that share of group "a"'s slot-2 exposures (a sample ratio mismatch);
// --write FILE only writes the exposures and the config (FILE.config.json) and exits.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <simdjson.h>

#include "cache/snapshot.hpp"
#include "config/serialize.hpp"
#include "load/bench_args.hpp"

namespace {

using namespace mutex_edge;
using Clock = std::chrono::steady_clock;

std::string string_arg(int argc, char** argv, const std::string& name, std::string fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) {
      return argv[i + 1];
    }
  }
  return fallback;
}

config::SlotConfig slot(int index, int percentage) {
  config::SlotConfig s;
  s.index = index;
  s.name = "SLOT " + std::to_string(index);
  s.variant_key = "slot-" + std::to_string(index);
  s.percentage = percentage;
  s.experiments = {1000 + index};
  return s;
}

/// Four groups: "a" 50/50 and "b" 20/30/50 on device_id, "c" 25/25/25 (25% unallocated) on
/// user_id with a few individuals, "d" 10 x 10% on the "plan" property.
std::vector<config::GroupConfig> make_groups() {
  std::vector<config::GroupConfig> groups;
  auto group = [&](std::int64_t id, std::string key, std::string bucketing,
                   std::vector<int> percentages) {
    config::GroupConfig g;
    g.id = id;
    g.project_id = 1;
    g.name = key;
    g.key = std::move(key);
    g.evaluation_mode = "local";
    g.bucketing_key = std::move(bucketing);
    g.bucketing_salt = "bench-salt-" + std::to_string(id);
    for (std::size_t i = 0; i < percentages.size(); ++i) {
      g.slots.push_back(slot(static_cast<int>(i) + 1, percentages[i]));
    }
    groups.push_back(std::move(g));
  };
  group(1, "a", "device_id", {50, 50});
  group(2, "b", "device_id", {20, 30, 50});
  group(3, "c", "user_id", {25, 25, 25});
  groups.back().slots[1].individuals = {"u-1", "u-2", "u-3"};
  group(4, "d", "plan", std::vector<int>(10, 10));
  return groups;
}

long peak_rss_kb = 0;

/// Runs `argv` with stdin from `input` and stdout into `output`; returns the exit status.
int run(const std::vector<std::string>& args, const std::string& input, std::string& output) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) {
    std::perror("pipe");
    return -1;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    const int in = open(input.c_str(), O_RDONLY);
    dup2(in, 0);
    dup2(pipe_fds[1], 1);
    close(pipe_fds[0]);
    std::vector<char*> argv;
    for (const std::string& a : args) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    std::perror("execv");
    _exit(127);
  }
  close(pipe_fds[1]);
  char buffer[65536];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) > 0;) {
    output.append(buffer, static_cast<std::size_t>(n));
  }
  close(pipe_fds[0]);
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  peak_rss_kb = usage.ru_maxrss;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

int main(int argc, char** argv) {
  const auto lines = static_cast<std::uint64_t>(bench::number_arg(argc, argv, "--lines", 1e7));
  const auto users = static_cast<std::uint64_t>(bench::number_arg(argc, argv, "--users", 2e6));
  const auto plant = static_cast<std::uint64_t>(bench::number_arg(argc, argv, "--plant", 100));
  const double skew = bench::number_arg(argc, argv, "--skew", 0);
  const std::string write_only = string_arg(argc, argv, "--write", "");
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::string binary =
      string_arg(argc, argv, "--bin", (self.parent_path() / "mutex-edge").string());
  if (users == 0 || lines == 0) {
    std::fprintf(stderr, "--lines and --users must be positive\n");
    return 2;
  }

  const auto groups = make_groups();
  std::vector<config::ConfigError> rejected;
  const auto snapshot = cache::Snapshot::build(groups, 1, {"bench"}, rejected);
  const std::filesystem::path dir = write_only.empty()
                                        ? std::filesystem::temp_directory_path() /
                                              ("mutex-edge-bench-audit-" + std::to_string(getpid()))
                                        : std::filesystem::path{};
  if (!dir.empty()) {
    std::filesystem::create_directories(dir);
  }
  const std::string input = write_only.empty() ? (dir / "exposures.jsonl").string() : write_only;
  const std::string config_path = input + ".config.json";
  {
    std::FILE* f = std::fopen(config_path.c_str(), "w");
    const std::string json = config::serialize_list(groups);
    std::fwrite(json.data(), 1, json.size(), f);
    std::fclose(f);
  }

  // Lines: a random user and a random group each; every (lines / plant)-th line a wrong slot.
  const auto generate_started = Clock::now();
  std::FILE* out = std::fopen(input.c_str(), "w");
  if (out == nullptr) {
    std::perror(input.c_str());
    return 1;
  }
  std::vector<char> buffer(std::size_t{1} << 20);
  std::setvbuf(out, buffer.data(), _IOFBF, buffer.size());
  std::mt19937_64 rng{42};
  const std::uint64_t plant_every = plant == 0 ? 0 : std::max<std::uint64_t>(lines / plant, 1);
  std::uint64_t planted = 0;
  std::uint64_t written = 0;
  static constexpr const char* kPlans[] = {"free", "pro", "team", "enterprise", "trial"};
  for (std::uint64_t k = 0; k < lines; ++k) {
    const std::uint64_t r = rng();
    const std::uint64_t u = r % users;
    const std::size_t g = (r >> 40) % groups.size();
    char device[32], user_id[32];
    std::snprintf(device, sizeof device, "d-%llu", static_cast<unsigned long long>(u));
    std::snprintf(user_id, sizeof user_id, "u-%llu", static_cast<unsigned long long>(u));
    const char* plan = kPlans[u % 5];
    eval::User user;
    user.device_id = device;
    user.user_id = user_id;
    const eval::Field property{"plan", std::string_view{plan}};
    user.properties = std::span<const eval::Field>{&property, 1};
    const eval::Assignment a = snapshot->compiled(g).assign(user);
    int slot = a.slot;
    if (g == 0 && slot == 1 && skew > 0 &&
        static_cast<double>((u * 0x9e3779b97f4a7c15ULL) >> 11) / 9007199254740992.0 < skew) {
      continue;  // this user's slot-2 exposures are lost
    }
    if (plant_every != 0 && k % plant_every == plant_every / 2 && planted < plant) {
      slot = slot == 0 ? 1 : 0;  // a wrong slot (never the same as the engine's)
      ++planted;
    }
    char slot_text[24];
    if (slot == eval::kNoSlot) {
      std::snprintf(slot_text, sizeof slot_text, "null");
    } else {
      std::snprintf(slot_text, sizeof slot_text, "\"slot-%d\"", slot + 1);
    }
    std::fprintf(out,
                 "{\"user\":{\"device_id\":\"%s\",\"user_id\":\"%s\",\"user_properties\":{"
                 "\"plan\":\"%s\"}},\"mutex\":\"%s\",\"slot\":%s}\n",
                 device, user_id, plan, groups[g].key.c_str(), slot_text);
    ++written;
  }
  std::fclose(out);
  const double generate_seconds =
      std::chrono::duration<double>(Clock::now() - generate_started).count();
  const auto bytes = std::filesystem::file_size(input);
  std::printf("generated %llu lines (%.0f MB) in %.1f s, %llu mismatches planted\n",
              static_cast<unsigned long long>(written), static_cast<double>(bytes) / 1e6,
              generate_seconds, static_cast<unsigned long long>(planted));
  if (!write_only.empty()) {
    std::printf("wrote %s and %s\n", input.c_str(), config_path.c_str());
    return 0;
  }

  std::string report;
  const auto started = Clock::now();
  const int status = run({binary, "audit", "--config-file", config_path, "--json"}, input, report);
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::filesystem::remove_all(dir);

  simdjson::dom::parser parser;
  simdjson::dom::element json;
  if (parser.parse(report).get(json) != simdjson::SUCCESS) {
    std::fprintf(stderr, "the audit (exit %d) printed no JSON report:\n%s\n", status,
                 report.c_str());
    return 1;
  }
  std::uint64_t mismatches = 0, distinct = 0, table_bytes = 0;
  for (simdjson::dom::element g : json["groups"].get_array()) {
    mismatches += g["mismatches"]["count"].get_uint64().value();
    distinct += g["distinctUsers"].get_uint64().value();
    table_bytes += g["userTableBytes"].get_uint64().value();
  }
  const std::uint64_t read = json["lines"].get_uint64().value();
  const std::uint64_t bad = json["badLines"]["count"].get_uint64().value();
  std::printf(
      "audit: %llu lines in %.2f s = %.0f lines/s (%.0f MB/s); peak RSS %.1f MB; %llu distinct "
      "users over the groups, their tables %.1f MB (%.1f bytes per user); %llu mismatches "
      "found; exit %d\n",
      static_cast<unsigned long long>(read), seconds, static_cast<double>(read) / seconds,
      static_cast<double>(bytes) / 1e6 / seconds, static_cast<double>(peak_rss_kb) / 1024.0,
      static_cast<unsigned long long>(distinct), static_cast<double>(table_bytes) / 1e6,
      distinct == 0 ? 0.0 : static_cast<double>(table_bytes) / static_cast<double>(distinct),
      static_cast<unsigned long long>(mismatches), status);
  // A mismatch fails the audit; without one, only an SRM may (with --skew, or by chance).
  if (read != written || bad != 0 || mismatches != planted || (planted != 0 && status != 1) ||
      (status != 0 && status != 1)) {
    std::fprintf(stderr,
                 "FAILED: read %llu of %llu lines, %llu bad, %llu of %llu mismatches, exit %d\n",
                 static_cast<unsigned long long>(read), static_cast<unsigned long long>(written),
                 static_cast<unsigned long long>(bad), static_cast<unsigned long long>(mismatches),
                 static_cast<unsigned long long>(planted), status);
    return 1;
  }
  return 0;
}
