#!/usr/bin/env bash
# Installs the dependencies, builds, and runs every test: a release build, then the same suite
# under AddressSanitizer with UndefinedBehaviorSanitizer, and under ThreadSanitizer.
# Run from anywhere, as root.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j2
ctest --test-dir build --output-on-failure -j2

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMUTEX_EDGE_SANITIZE=address,undefined
cmake --build build-asan -j2
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j2

# ThreadSanitizer with clang (GCC 12's TSan rejects Asio's atomic fences).
CC=clang CXX=clang++ cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMUTEX_EDGE_SANITIZE=thread
cmake --build build-tsan -j2
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  ctest --test-dir build-tsan --output-on-failure -j2
