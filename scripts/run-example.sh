#!/usr/bin/env bash
# Installs the dependencies, builds, and runs mutex-edge on the bundled example config at
# http://127.0.0.1:${PORT:-8080}. Once it serves, shows two example calls with their real answers;
# then keeps serving until Ctrl-C (SIGINT drains and stops it). Run from anywhere, as root.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${PORT:-8080}"

./scripts/install-deps.sh
cmake --preset release
cmake --build --preset release --target mutex-edge  # only what it runs

./build/bin/mutex-edge --listen "127.0.0.1:${port}" --config-file examples/groups.json &
server=$!
trap 'kill -INT "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:${port}/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "mutex-edge did not start (see above)" >&2; exit 1; }
  sleep 0.1
done

base="http://127.0.0.1:${port}"
query="${base}/assign?device_id=qa-device-1&user_id=alice@example.com"
body='{"user": {"device_id": "d-1002", "user_properties": {"company_id": 42}}, "mutexes": ["checkout", "onboarding"]}'
echo
echo "\$ curl -s '${query}'"
curl -s "${query}"
echo
echo
echo "\$ curl -s -X POST ${base}/assign -H 'Content-Type: application/json' -d '${body}'"
curl -s -X POST "${base}/assign" -H 'Content-Type: application/json' -d "${body}"
echo
echo
echo "mutex-edge serves http://127.0.0.1:${port} (routes: /assign, /assign/batch, /api/1/mutexes,"
echo "/healthz, /readyz, /status, /metrics). Ctrl-C stops it."
wait "$server"
