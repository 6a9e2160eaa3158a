#!/usr/bin/env bash
# Installs the dependencies, builds, and runs every test (docs/development.md says what each
# stage proves and how long it takes). Run from anywhere, as root.
#
#   checks   the format and the layering of the folders, before anything is built
#   release  g++ with warnings as errors: every test, the conformance and SDK tests, the
#            deployment checks and the benchmarks' smoke runs
#   stack    the docker-compose stack on the image of the release binaries, and the Dockerfile's
#            from-source build; in the background while the sanitizer trees build and test
#   asan     clang, AddressSanitizer and UndefinedBehaviorSanitizer: every test, then every
#            libFuzzer target of tests/fuzz for a bounded time, from one tree
#   tsan     clang, ThreadSanitizer: what has more than one thread or starts a server
#
# Each stage prints its wall time; a table of them and the total close the run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
started=$SECONDS
stages=()

stage() {  # stage NAME COMMAND...: runs it, prints and records its wall time, stops on failure
  local name=$1 t=$SECONDS
  shift
  printf '\n== %s: %s\n' "$name" "$*"
  "$@"
  stages+=("$(printf '%-22s %5d s' "$name" $((SECONDS - t)))")
  printf '== %s: %d s\n' "$name" $((SECONDS - t))
}

summary() {
  local rc=$?
  if [[ -n ${stack_pid:-} ]] && kill -0 "$stack_pid" 2>/dev/null; then
    kill -TERM -- "-$stack_pid" 2>/dev/null || true  # the stack test cleans up on SIGTERM
    wait "$stack_pid" 2>/dev/null || true
  fi
  printf '\n== stage times\n'
  printf '   %s\n' "${stages[@]}"
  printf '== total %d s (%d min %d s): %s\n' $((SECONDS - started)) $(((SECONDS - started) / 60)) \
    $(((SECONDS - started) % 60)) "$([[ $rc -eq 0 ]] && echo passed || echo FAILED)"
}
trap summary EXIT

# A style or layering error fails in seconds: only the checkers are installed before them.
stage install-checks ./scripts/install-deps.sh --checks
stage checks ./scripts/check.sh
stage install ./scripts/install-deps.sh --stack

# The two binaries compile through ccache into build/ccache, which the Dockerfile's from-source
# build (in the stack test) reuses: the same compiler, flags and sources hit. The tests do not.
stage release-configure cmake --preset release -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
export CCACHE_DIR=$root/build/ccache CCACHE_BASEDIR=$root CCACHE_CONFIGPATH=$root/scripts/ccache.conf
# The binaries first: the stack test starts on them while the rest builds.
# (ccache hashes the locale of the compiler's messages: the image's build stage sets the same.)
stage release-binaries env -u LC_ALL -u LC_CTYPE -u LC_MESSAGES LANG=C.UTF-8 \
  cmake --build --preset release --target mutex-edge mutex-mgmt
export CCACHE_DISABLE=1

# The stack test runs beside the stages below (it mostly waits on containers and downloads);
# its output goes to its log and is shown when it ends.
stack_log="$root/build/stack-test.log"
stack_started=$SECONDS
set -m  # its own process group, so that a failure elsewhere stops all of it
ctest --preset stack >"$stack_log" 2>&1 &
stack_pid=$!
set +m
echo "== stack: started in the background (log $stack_log)"

stage release-build cmake --build --preset release
stage release-test ctest --preset release
stage asan-configure cmake --preset asan
stage asan-build cmake --build --preset asan
stage asan-test ctest --preset asan
stage fuzz ctest --preset fuzz
stage tsan-configure cmake --preset tsan
stage tsan-build cmake --build --preset tsan
stage tsan-test ctest --preset tsan

wait_stack() {
  local rc=0
  wait "$stack_pid" || rc=$?
  stack_pid=""
  cat "$stack_log"
  stages+=("$(printf '%-22s %5d s (background, ended at %d s)' stack \
    $((SECONDS - stack_started)) $((SECONDS - started)))")
  return "$rc"
}
stage stack-wait wait_stack
