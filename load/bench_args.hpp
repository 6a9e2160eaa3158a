#pragma once
// The command line of the micro-benchmarks: `--name value` pairs, each optional.

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

}  // namespace mutex_edge::bench
