#!/usr/bin/env bash
# The checks that need no build: the C++ code is formatted as .clang-format says, and every
# include and link of the folders follows the dependency graph (tests/check_layering.cmake).
# The test command runs them first; they take about two seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
clang_format=$(command -v clang-format-14 || command -v clang-format || true)
[[ -n $clang_format ]] || { echo "check.sh: clang-format is missing (./scripts/install-deps.sh --checks)" >&2; exit 1; }
cmake -DSOURCE_DIR="$PWD" -DCLANG_FORMAT="$clang_format" -P tests/check_format.cmake
cmake -DSOURCE_DIR="$PWD" -P tests/check_layering.cmake
