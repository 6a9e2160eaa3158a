#!/usr/bin/env bash
# Load test: GET /assign on mutex-edge against nginx returning one constant /assign answer.
#
# Starts both servers on free loopback ports, runs wrk with load/assign_varied_users.lua
# against each with the same settings, interleaved (nginx, mutex-edge, nginx, mutex-edge, ...)
# so that machine noise hits both, and prints requests/s per run, the mean per server, the
# ratio mutex-edge/nginx, latency percentiles and status counts. Builds nothing: it expects
# build/bin/mutex-edge. Everything hard-stops within --max-seconds (default 120).
#
# Exit status: 0 on a clean run; 1 when mutex-edge answered anything but 2xx, had socket
# errors, died, or did not exit on SIGTERM; 2 on a usage or set-up problem.
set -euo pipefail
# Paths given as options are taken from the caller's directory; the project's own from $root.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
  cat <<'EOF'
Usage: load/run_assign_vs_nginx.sh [OPTIONS]

  -t, --threads N          wrk threads                        (env WRK_THREADS, default 2)
  -c, --connections N      wrk connections                    (env WRK_CONNECTIONS, default 64)
  -d, --duration S         seconds per wrk run                (env WRK_DURATION, default 10)
  -r, --rounds N           nginx+mutex-edge run pairs         (env ROUNDS, default 2)
      --server-threads N   mutex-edge --threads and nginx worker_processes
                                                              (env SERVER_THREADS, default 2)
      --config-file F      groups for mutex-edge              (default examples/groups.json)
      --users N            distinct user/device ids sent      (default 100000)
      --mutex-pct P        % of requests with &mutex=checkout (default 10)
      --seed N             PRNG seed of the wrk script        (default 42)
      --max-seconds S      hard limit for the whole script    (default 120)
      --report             also write load/reports/assign_vs_nginx-<date>.txt
  -h, --help               this help

Env: MUTEX_EDGE_BIN (default build/bin/mutex-edge); MUTEX_EDGE_ARGS, extra arguments for it.
The machine has 2 cores: wrk and the server share them, so compare ratios, not absolutes.
Near nginx's rate wrk itself (with a Lua response() callback) is the bottleneck, so a ratio
close to 1 means "as fast as this client can measure", not "as fast as nginx".
EOF
}

wrk_threads=${WRK_THREADS:-2}
connections=${WRK_CONNECTIONS:-64}
duration=${WRK_DURATION:-10}
rounds=${ROUNDS:-2}
server_threads=${SERVER_THREADS:-2}
config_file=$root/examples/groups.json
users=100000
mutex_pct=10
seed=42
max_seconds=120
report=""
bin=${MUTEX_EDGE_BIN:-$root/build/bin/mutex-edge}

die() { echo "run_assign_vs_nginx.sh: $*" >&2; exit 2; }
while (($#)); do
  case "$1" in
    -t|--threads) wrk_threads=${2:?}; shift ;;
    -c|--connections) connections=${2:?}; shift ;;
    -d|--duration) duration=${2:?}; shift ;;
    -r|--rounds) rounds=${2:?}; shift ;;
    --server-threads) server_threads=${2:?}; shift ;;
    --config-file) config_file=${2:?}; shift ;;
    --users) users=${2:?}; shift ;;
    --mutex-pct) mutex_pct=${2:?}; shift ;;
    --seed) seed=${2:?}; shift ;;
    --max-seconds) max_seconds=${2:?}; shift ;;
    --report) report=$root/load/reports/assign_vs_nginx-$(date +%Y-%m-%d-%H%M%S).txt ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
  esac
  shift
done
for v in wrk_threads connections duration rounds server_threads users mutex_pct seed max_seconds; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
((wrk_threads >= 1 && connections >= wrk_threads && duration >= 1 && rounds >= 1)) ||
  die "need threads >= 1, connections >= threads, duration >= 1, rounds >= 1"

# Backstop for the time bound: re-run this script under timeout(1), which signals the whole
# process group (wrk and both servers included) if anything hangs. The per-step limits
# below normally finish well before it.
if [[ -z ${_ASSIGN_VS_NGINX_TIMED:-} ]]; then
  # 2 runs per round, each duration + ~3 s of wrk start/stop, plus ~25 s to start, check
  # and stop the servers.
  needed=$((rounds * 2 * (duration + 3) + 25))
  ((needed <= max_seconds)) ||
    die "$rounds rounds of ${duration}s need about ${needed}s, over --max-seconds $max_seconds"
  _ASSIGN_VS_NGINX_TIMED=1 exec timeout --kill-after=5 "$max_seconds" \
    bash "$root/load/run_assign_vs_nginx.sh" \
    -t "$wrk_threads" -c "$connections" -d "$duration" -r "$rounds" \
    --server-threads "$server_threads" --config-file "$config_file" --users "$users" \
    --mutex-pct "$mutex_pct" --seed "$seed" --max-seconds "$max_seconds" ${report:+--report}
fi

# ------------------------------------------------------------------ prerequisites
# nginx is in /usr/sbin, which a non-root PATH may lack.
nginx=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
missing=()
[[ -x $nginx ]] || missing+=(nginx)
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  die "missing ${missing[*]}; install the load-test tools with: ./scripts/install-deps.sh --load"
fi
[[ -x $bin ]] ||
  die "$bin not found; build it first: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2 (this script builds nothing)"
"$bin" --help 2>&1 | grep -q -- '--listen' ||
  die "$bin --help shows no --listen: this build has no HTTP server yet"
[[ -r $config_file ]] || die "cannot read config file $config_file"

# ------------------------------------------------------------------ output, clean-up
[[ -n $report ]] && mkdir -p "$(dirname "$report")" && : >"$report"
say() {
  printf '%s\n' "$*"
  if [[ -n $report ]]; then printf '%s\n' "$*" >>"$report"; fi
}

tmp=$(mktemp -d)
nginx_pid=""
edge_pid=""
failures=()   # what mutex-edge did wrong; any entry makes the exit status 1

# Stops a server: SIGTERM, up to 5 s for it to exit, then SIGKILL. Sets stop_ms / stop_rc.
stop_ms=0
stop_rc=0
# shellcheck disable=SC2317 # reached from the EXIT trap, which shellcheck does not follow
stop_server() {
  local pid=$1 start=$EPOCHREALTIME i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 250; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    stop_rc=killed
  else
    wait "$pid" 2>/dev/null && stop_rc=0 || stop_rc=$?
  fi
  stop_ms=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }')
}

# shellcheck disable=SC2317 # the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $nginx_pid ]]; then stop_server "$nginx_pid"; fi
  if [[ -n $edge_pid ]]; then stop_server "$edge_pid"; fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 1' INT TERM

edge_log_tail() {
  say "---- last lines of mutex-edge's stderr ----"
  while IFS= read -r line; do say "  $line"; done < <(tail -n 15 "$tmp/edge.log")
}

# ------------------------------------------------------------------ start the servers
# Two free loopback ports, both held open at once so they differ.
read -r nginx_port edge_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')

sed -e "s|@PORT@|$nginx_port|g" -e "s|@WORKERS@|$server_threads|g" -e "s|@DIR@|$tmp|g" \
  "$root/load/nginx-constant.conf.template" >"$tmp/nginx.conf"
"$nginx" -c "$tmp/nginx.conf" -p "$tmp" -e "$tmp/error.log" -g 'daemon off;' 2>"$tmp/nginx.stderr" &
nginx_pid=$!

# shellcheck disable=SC2086 # MUTEX_EDGE_ARGS is a list of words on purpose
"$bin" --listen "127.0.0.1:$edge_port" --config-file "$config_file" --threads "$server_threads" \
  ${MUTEX_EDGE_ARGS:-} >"$tmp/edge.stdout" 2>"$tmp/edge.log" &
edge_pid=$!

# Polls http://127.0.0.1:PORT/readyz for up to 15 s; fails early if the process dies.
wait_ready() {
  local name=$1 pid=$2 port=$3 start=$EPOCHREALTIME i code
  for ((i = 0; i < 150; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "$name: exited before it was ready"
      return 1
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/readyz" || true)
    if [[ $code == 200 ]]; then
      say "$name: ready on 127.0.0.1:$port after $(awk -v a="$start" -v b="$EPOCHREALTIME" \
        'BEGIN { printf "%d", (b - a) * 1000 }') ms"
      return 0
    fi
    sleep 0.1
  done
  say "$name: /readyz not 200 after 15 s (last status: ${code:-none})"
  return 1
}

say "== GET /assign: mutex-edge vs nginx (constant answer) — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')
[[ -z $(git -C "$root" status --porcelain 2>/dev/null) ]] || commit+=" (uncommitted changes)"
say "host: $(nproc) cores, $(uname -sr); commit $commit"
say "wrk: $wrk_threads threads, $connections connections, ${duration}s per run, $rounds rounds;" \
  "server threads $server_threads; users $users, mutex=checkout on $mutex_pct%, seed $seed"
say "mutex-edge: $bin --config-file $config_file --threads $server_threads ${MUTEX_EDGE_ARGS:-}"
say "  binary built $(date -u -r "$bin" +%Y-%m-%dT%H:%M:%SZ), sha256 $(sha256sum "$bin" | cut -c1-12)"
if ! wait_ready nginx "$nginx_pid" "$nginx_port"; then
  while IFS= read -r line; do say "  $line"; done < <(cat "$tmp/nginx.stderr" "$tmp/error.log" 2>/dev/null)
  exit 2
fi
if ! wait_ready mutex-edge "$edge_pid" "$edge_port"; then
  edge_log_tail
  exit 1
fi

# ------------------------------------------------------------------ one-request sanity check
# One answer from each, and whether mutex-edge keeps the connection open between requests.
probe="/assign?device_id=dev-4242&user_id=user-17"
for s in nginx:"$nginx_port" mutex-edge:"$edge_port"; do
  name=${s%%:*} port=${s##*:}
  IFS='|' read -r code ctype size < <(curl -s -o "$tmp/body-$name" --max-time 2 \
    -w '%{http_code}|%{content_type}|%{size_download}\n' "http://127.0.0.1:$port$probe" || echo "000||0")
  say "$name: GET $probe -> $code, ${ctype:--}, $size bytes"
done
say "mutex-edge body: $(head -c 400 "$tmp/body-mutex-edge" 2>/dev/null)"
reused=$(curl -sv --max-time 2 -o /dev/null -o /dev/null "http://127.0.0.1:$edge_port$probe" \
  "http://127.0.0.1:$edge_port$probe" 2>&1 | grep -c 'Re-using existing connection' || true)
((reused >= 1)) || say "mutex-edge: WARNING: did not keep the connection alive between two requests"

# ------------------------------------------------------------------ interleaved wrk runs
# Each RESULT line of the Lua script's done() is kept as: server round key=value...
results=$tmp/results
: >"$results"
edge_log_lines_before=$(wc -l <"$tmp/edge.log")

# Machine noise: CPU time (in clock ticks) that neither wrk nor the server under test used
# during a run, from /proc/stat's user+nice+system minus the two. Interleaving spreads
# noise over both servers; this column shows how much of it there was.
hz=$(getconf CLK_TCK)
ncpu=$(nproc)
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4; exit }' /proc/stat; }
server_ticks() { # utime+stime of a process and its children (nginx's workers)
  local p t=0
  for p in "$1" $(pgrep -P "$1" || true); do
    t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}

run_wrk() {
  local name=$1 port=$2 round=$3 out=$tmp/wrk-$1-$3.txt line pid b0 s0 wu ws other
  [[ $name == nginx ]] && pid=$nginx_pid || pid=$edge_pid
  b0=$(busy_ticks) s0=$(server_ticks "$pid")
  # wrk normally ends itself after --duration; timeout only guards against a hang.
  # `time` reports wrk's own CPU (user and system seconds) into $out.time.
  local TIMEFORMAT='%U %S'
  if ! { time timeout --kill-after=2 $((duration + 5)) wrk -t "$wrk_threads" -c "$connections" \
      -d "${duration}s" --timeout 2s -s "$root/load/assign_varied_users.lua" \
      "http://127.0.0.1:$port" -- "users=$users" "mutex_pct=$mutex_pct" "seed=$seed" \
      >"$out" 2>&1; } 2>"$out.time"; then
    say "$name round $round: wrk failed or hung:"
    while IFS= read -r line; do say "  $line"; done <"$out"
    [[ $name == mutex-edge ]] && failures+=("wrk run $round failed")
    return 0
  fi
  line=$(grep '^RESULT ' "$out" | tail -n 1) || true
  if [[ -z $line ]]; then
    say "$name round $round: no RESULT line from wrk"
    [[ $name == mutex-edge ]] && failures+=("wrk run $round gave no result")
    return 0
  fi
  read -r wu ws <"$out.time"
  other=$(awk -v b="$(($(busy_ticks) - b0 - $(server_ticks "$pid") + s0))" -v w="$wu + $ws" \
    -v hz="$hz" -v n="$ncpu" -v d="$duration" \
    'BEGIN { split(w, x, " + "); o = (b - (x[1] + x[2]) * hz) / (n * d * hz) * 100; printf "%.0f", o < 0 ? 0 : o }')
  echo "$name $round ${line#RESULT } other_cpu=$other" >>"$results"
}

for ((round = 1; round <= rounds; round++)); do
  run_wrk nginx "$nginx_port" "$round"
  run_wrk mutex-edge "$edge_port" "$round"
  if ! kill -0 "$edge_pid" 2>/dev/null; then
    wait "$edge_pid" && rc=0 || rc=$?
    edge_pid=""
    failures+=("mutex-edge died during round $round (exit status $rc)")
    say "mutex-edge: DIED during round $round (exit status $rc)"
    edge_log_tail
    break
  fi
  kill -0 "$nginx_pid" 2>/dev/null || die "nginx died during round $round"
done

# ------------------------------------------------------------------ summary
# Columns per run, then the mean of each column per server and the rps ratio.
summary=$(awk '
  function v(key,   i, kv) { for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) return kv[2] } return "" }
  {
    s = $1; n[s]++
    rps = v("rps"); p50 = v("p50_ms"); p90 = v("p90_ms"); p99 = v("p99_ms"); mx = v("max_ms")
    bad = v("non2xx"); sock = v("socket_errors")
    printf "%-11s %5d %12.0f %9.3f %9.3f %9.3f %9.3f %8d %8d %6s%%  %s\n", s, $2, rps, p50, p90, p99, mx, bad, sock, v("other_cpu"), v("codes")
    if (v("other_cpu") + 0 > 10) busy = 1
    R[s] += rps; P50[s] += p50; P90[s] += p90; P99[s] += p99; B[s] += bad; S[s] += sock
    if (mx > MX[s]) MX[s] = mx
  }
  END {
    print "--"
    split("nginx mutex-edge", order, " ")
    for (k = 1; k <= 2; k++) {
      s = order[k]
      if (n[s]) printf "%-11s %5s %12.0f %9.3f %9.3f %9.3f %9.3f %8d %8d\n", s, "all", R[s] / n[s], P50[s] / n[s], P90[s] / n[s], P99[s] / n[s], MX[s], B[s], S[s]
    }
    if (n["nginx"] && n["mutex-edge"] && R["nginx"] > 0)
      printf "ratio mutex-edge/nginx requests/s: %.3f\n", (R["mutex-edge"] / n["mutex-edge"]) / (R["nginx"] / n["nginx"])
    if (busy) print "WARNING: other processes used over 10% of the CPU during some runs (other_cpu): numbers are noisy"
  }' "$results")
say ""
say "$(printf '%-11s %5s %12s %9s %9s %9s %9s %8s %8s %7s  %s' server round 'requests/s' p50_ms p90_ms p99_ms max_ms non-2xx sock_err other codes)"
while IFS= read -r line; do say "$line"; done <<<"$summary"
say "(rows 'all': requests/s and p50/p90/p99 are the mean over runs, max the maximum, errors the totals;"
say " other: CPU used by processes other than wrk and that server, in % of all $ncpu cores)"

# What the servers said: mutex-edge's stderr volume under load, and its warning/error lines.
edge_lines=$(($(wc -l <"$tmp/edge.log") - edge_log_lines_before))
edge_requests=$(awk '$1 == "mutex-edge" { for (i = 3; i <= NF; i++) if ($i ~ /^requests=/) { sub(/requests=/, "", $i); t += $i } } END { print t + 0 }' "$results")
# Lines that differ only in numbers (times, ports, ids) count as one kind; one example each.
top_lines() {
  awk '{ k = $0; gsub(/[0-9]+/, "#", k); if (!(k in c)) ex[k] = substr($0, 1, 300); c[k]++ }
       END { for (k in c) printf "%9d x %s\n", c[k], ex[k] }' | sort -rn | head -n "$1"
}
say ""
say "mutex-edge stderr during the runs: $edge_lines lines for $edge_requests requests ($(du -h "$tmp/edge.log" | cut -f1) in all)"
if ((edge_lines > 0)); then
  say "most frequent kinds of line during the runs (count x example):"
  while IFS= read -r line; do say "  $line"; done < <(tail -n +"$((edge_log_lines_before + 1))" "$tmp/edge.log" | top_lines 5)
fi
if grep -qiE 'error|warn|fatal|exception|abort' "$tmp/edge.log"; then
  say "mutex-edge warnings/errors, whole run (count x example):"
  while IFS= read -r line; do say "  $line"; done < <(grep -iE 'error|warn|fatal|exception|abort' "$tmp/edge.log" | top_lines 10)
fi
if [[ -s $tmp/error.log ]]; then
  say "nginx error.log:"
  while IFS= read -r line; do say "  $line"; done < <(head -n 10 "$tmp/error.log")
fi

# ------------------------------------------------------------------ verdict
# Shut mutex-edge down now (the contract: SIGTERM, in-flight requests finish, exit 0).
if [[ -n $edge_pid ]]; then
  stop_server "$edge_pid"
  edge_pid=""
  if [[ $stop_rc == killed ]]; then
    failures+=("did not exit within 5 s of SIGTERM (killed)")
  else
    say "mutex-edge: exited with status $stop_rc ${stop_ms} ms after SIGTERM"
    [[ $stop_rc == 0 ]] || failures+=("exit status $stop_rc after SIGTERM")
  fi
fi
while read -r name round rest; do
  [[ $name == mutex-edge ]] || continue
  for kv in $rest; do
    case "$kv" in
      non2xx=0 | socket_errors=0) ;;
      non2xx=*) failures+=("round $round: ${kv#non2xx=} non-2xx answers") ;;
      socket_errors=*) failures+=("round $round: ${kv#socket_errors=} socket errors") ;;
    esac
  done
done <"$results"
if grep -q '^nginx .*\(non2xx=[1-9]\|socket_errors=[1-9]\)' "$results"; then
  say "WARNING: nginx (the reference) had errors too: the machine may be overloaded"
fi

say ""
if ((${#failures[@]})); then
  msg=$(printf '%s; ' "${failures[@]}")
  say "FAIL: mutex-edge: ${msg%; }"
  rc=1
else
  say "OK: mutex-edge answered every request with 2xx and no socket errors"
  rc=0
fi
[[ -z $report ]] || say "report: $report"
exit "$rc"
