#!/usr/bin/env bash
# Installs everything mutex-edge needs to build, test and load-test, from Debian bookworm packages.
# Used by the README's two commands, by .ci/run and by the Dockerfile. Run as root.
# --load also installs what load/run.sh needs (wrk, nginx as the reference server, gnuplot for the plots).
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates curl
  libboost1.81-dev libboost-program-options1.81-dev libboost-url1.81-dev
  libsimdjson-dev prometheus-cpp-dev catch2 libssl-dev libspdlog-dev libfmt-dev
  libsqlite3-dev
  clang clang-format libclang-rt-14-dev
  python3 python3-prometheus-client openssl
)
# clang builds the ThreadSanitizer pass of the tests (GCC 12's TSan cannot take Asio's fences)
# and clang-format checks the formatting;
# python3-prometheus-client parses /metrics in the integration tests; openssl makes the CA of
# the HTTPS upstream test.

# The conformance test runs Amplitude's engine on Node.js; a machine that already has
# node and npm keeps them, a bare one gets Debian's.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

for arg in "$@"; do
  case "$arg" in
    --load) packages+=(wrk nginx-light gnuplot-nox) ;;
    *) echo "install-deps.sh: unknown argument '$arg' (known: --load)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
