#!/usr/bin/env bash
# Installs everything mutex-edge needs to build, test and load-test, from Debian bookworm packages.
# Used by the README's two commands, by .ci/run and by the Dockerfile. Run as root.
# --load also installs what load/run.sh needs (wrk, nginx as the reference server, gnuplot for the plots).
# --stack also installs what the stack test (tests/stack/) needs: Debian's container engine and
# docker-compose, debootstrap to make the base image offline, prometheus for promtool, python3-yaml
# and yamllint for deploy/kubernetes/validate.py.
# --build-only installs only what building mutex-edge and mutex-mgmt needs (the Dockerfile's build
# stage): no test, format or conformance tools.
# --checks installs only what scripts/check.sh needs (cmake, clang-format): the test command runs
# the checks before the rest is installed, so that a style error fails in seconds.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git ca-certificates curl
  libboost1.81-dev libboost-program-options1.81-dev libboost-url1.81-dev
  libsimdjson-dev prometheus-cpp-dev catch2 libssl-dev libspdlog-dev libfmt-dev
  libsqlite3-dev zlib1g-dev
  clang clang-format libclang-rt-14-dev
  python3 python3-prometheus-client openssl
)
# ccache lets the Dockerfile's from-source build reuse the release tree's compile of the same two
# binaries (docs/development.md);
# clang builds the ThreadSanitizer pass of the tests (GCC 12's TSan cannot take Asio's fences)
# and clang-format checks the formatting;
# python3-prometheus-client parses /metrics in the integration tests; openssl makes the CA of
# the HTTPS upstream test.

# The conformance test runs Amplitude's engine on Node.js; a machine that already has
# node and npm keeps them, a bare one gets Debian's.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

build_only=""
checks_only=""
for arg in "$@"; do
  case "$arg" in
    --load) packages+=(wrk nginx-light gnuplot-nox) ;;
    --stack)
      # A machine with another engine (Docker CE) or compose keeps it: docker.io conflicts with it.
      packages+=(debootstrap prometheus python3-yaml yamllint)
      command -v dockerd >/dev/null 2>&1 || packages+=(docker.io)
      command -v docker-compose >/dev/null 2>&1 || packages+=(docker-compose) ;;
    --build-only) build_only=1 ;;
    --checks) checks_only=1 ;;
    *) echo "install-deps.sh: unknown argument '$arg' (known: --load, --stack, --build-only, --checks)" >&2; exit 2 ;;
  esac
done
if [[ -n $build_only ]]; then
  packages=(
    build-essential cmake ninja-build ccache pkg-config ca-certificates
    libboost1.81-dev libboost-program-options1.81-dev libboost-url1.81-dev
    libsimdjson-dev prometheus-cpp-dev libssl-dev libspdlog-dev libfmt-dev libsqlite3-dev zlib1g-dev
  )
fi

if [[ -n $checks_only ]]; then
  packages=(cmake clang-format)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
