#pragma once
// What the micro-benchmarks share: their command line (`--name value` pairs, each optional) and
// their timing loop.

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace mutex_edge::bench {

/// The value after `--name` on the command line, or `fallback`.
inline double number_arg(int argc, char** argv, const std::string& name, double fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) {
      return std::atof(argv[i + 1]);
    }
  }
  return fallback;
}

/// Runs `body()` until `seconds` have passed (at least once); returns milliseconds per call.
template <typename Body>
double measure_ms(double seconds, Body body) {
  using Clock = std::chrono::steady_clock;
  std::uint64_t calls = 0;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  auto now = start;
  do {
    body();
    ++calls;
    now = Clock::now();
  } while (now < deadline);
  return std::chrono::duration<double, std::milli>(now - start).count() /
         static_cast<double>(calls);
}

}  // namespace mutex_edge::bench
