#!/usr/bin/env bash
# Installs the dependencies, builds, and runs every test: a release build, then the same suite
# under AddressSanitizer with UndefinedBehaviorSanitizer, and under ThreadSanitizer (the
# presets of CMakePresets.json), and a bounded run of every fuzz target (tests/fuzz). Run from
# anywhere, as root.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh --stack

for preset in release asan tsan fuzz; do
  cmake --preset "$preset"
  cmake --build --preset "$preset"
  ctest --preset "$preset"
done
