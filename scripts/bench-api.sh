#!/usr/bin/env bash
# The HTTP API's load and soak benchmark (docs/benchmarks.md, "HTTP API"): starts
# `kite --offline serve` on loopback with a fresh HOME, then
#   1. load: wrk (THREADS threads, CONN connections, DUR seconds each, --latency) on
#      /emissions/forecasts/current (Carbon Aware SDK, cached), /v1/intensity (cached) and
#      /metrics (never cached);
#   2. soak: SOAK_S seconds of wrk over the three paths in turn while a client submits no-op
#      jobs (`true`) one after another with the token, sampling the server's RSS (anonymous
#      and file-backed) and the queue's counts every 10 s. SUBMIT=waiting (default) submits
#      jobs that wait (earliest now+24h, deadline now+168h), so the queue grows all along;
#      SUBMIT=finishing submits jobs that must start at once (deadline now+2m) and finish,
#      so the queue's waiting set stays small and any growth is the server's own.
# Prints requests/s, p50/p99 latency, errors (non-2xx, socket errors), submissions and RSS
# start/end/max. Builds nothing: pass a release binary.
#
#   cargo build --release -p kite
#   KITE=target/release/kite scripts/bench-api.sh
#
# Environment: KITE (default target/release/kite), DUR (25), CONN (64), THREADS (2),
# SOAK_S (600), SUBMIT (waiting|finishing), KEEP=1 keeps the temp dir. Needs wrk (Debian: apt-get install wrk), curl.
# The per-client rate limit is raised for the run (every wrk connection is one client,
# 127.0.0.1), so its cost is measured but it never refuses.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
KITE=${KITE:-$ROOT/target/release/kite}
DUR=${DUR:-25}
CONN=${CONN:-64}
THREADS=${THREADS:-2}
SOAK_S=${SOAK_S:-600}
SUBMIT=${SUBMIT:-waiting}
case $SUBMIT in
  waiting) JOB='{"command":["true"],"duration":"1m","earliest_start":"now+24h","deadline":"now+168h"}' ;;
  finishing) JOB='{"command":["true"],"duration":"1m","deadline":"now+2m"}' ;;
  *) echo "SUBMIT must be waiting or finishing, not '$SUBMIT'" >&2; exit 2 ;;
esac
[[ -x $KITE ]] || { echo "missing $KITE; build it first: cargo build --release -p kite" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing (Debian: apt-get install wrk)" >&2; exit 1; }

D=$(mktemp -d /tmp/kite-bench-api.XXXXXX)
PID=
SUBMIT_PID=
cleanup() {
  [[ -n $SUBMIT_PID ]] && kill "$SUBMIT_PID" 2>/dev/null || true
  [[ -n $PID ]] && kill "$PID" 2>/dev/null || true
  [[ ${KEEP:-0} == 1 ]] && echo "kept $D" >&2 || rm -rf "$D"
}
trap cleanup EXIT

export HOME=$D XDG_CONFIG_HOME=$D/config XDG_DATA_HOME=$D/data KITE_DATABASE=$D/kite.sqlite3
Q=$D/jobs.sqlite3
cat >"$D/config.toml" <<'EOF'
[serve.api]
rate_limit = { per_second = 1000000, burst = 1000000 }
EOF

"$KITE" --offline --config "$D/config.toml" serve --listen 127.0.0.1:0 --region DE --queue "$Q" \
  >"$D/serve.log" 2>&1 &
PID=$!
for _ in $(seq 1 3000); do [[ -s $Q.addr ]] && break; sleep 0.01; done
[[ -s $Q.addr ]] || { echo "kite serve wrote no address; log:" >&2; cat "$D/serve.log" >&2; exit 1; }
URL=$(cat "$Q.addr"); [[ $URL == http* ]] || URL=http://$URL
TOKEN=$(cat "$Q.token")
curl -sf "$URL/readyz" >/dev/null

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$PID/status"; }
hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$PID/status"; }
# "anon_kib file_kib" (RssFile: the binary's pages and the SQLite shared-memory file)
rss_parts() { awk '/^RssAnon/ { a = $2 } /^RssFile|^RssShmem/ { f += $2 } END { print a, f }' "/proc/$PID/status"; }
# waiting jobs (pending + planned) and all jobs, from /healthz
queue_counts() {
  curl -sf "$URL/healthz" | python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"]; print(j.get("pending",0)+j.get("planned",0), sum(j.values()))' 2>/dev/null || echo "? ?"
}

# wrk's --latency output → "req_s p50_ms p99_ms non2xx socket_errors requests"
summarise() {
  awk '
    function ms(v) {
      if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
      if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
      if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
      return v
    }
    /Requests\/sec:/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx or 3xx responses:/ { non2xx = $5 }
    /Socket errors:/ { gsub(",", ""); sock = $4 + $6 + $8 + $10 }
    / requests in / { n = $1 }
    END { printf "%.0f %.3f %.3f %d %d %d\n", rps, p50, p99, non2xx, sock, n }' "$1"
}

PATHS=(
  "/emissions/forecasts/current?location=DE&windowSize=60"
  "/v1/intensity?region=DE"
  "/metrics"
)
echo "kite serve at $URL (pid $PID); wrk -t$THREADS -c$CONN -d${DUR}s --latency; $(nproc) CPUs, $(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2 }')"
RSS0=$(rss_kib)
printf '%-58s %10s %9s %9s %8s %8s\n' path "req/s" "p50 ms" "p99 ms" non2xx sockerr
for p in "${PATHS[@]}"; do
  # Warm the cache and the store once, so the run measures the steady state.
  curl -sf -o /dev/null "$URL$p"
  wrk -t"$THREADS" -c"$CONN" -d"${DUR}s" --latency "$URL$p" >"$D/wrk.txt"
  read -r rps p50 p99 non2xx sock _ < <(summarise "$D/wrk.txt")
  printf '%-58s %10s %9s %9s %8s %8s\n' "$p" "$rps" "$p50" "$p99" "$non2xx" "$sock"
done
echo "RSS after the load runs: $(( $(rss_kib) / 1024 )) MiB (start $(( RSS0 / 1024 )) MiB, peak $(( $(hwm_kib) / 1024 )) MiB)"

# Soak: the three paths in turn, plus job submissions.
cat >"$D/rotate.lua" <<EOF
local paths = { "${PATHS[0]}", "${PATHS[1]}", "${PATHS[2]}" }
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
EOF
submit_loop() {
  local ok=0 bad=0
  while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 -X POST \
      -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
      -d "$JOB" \
      "$URL/v1/jobs" || echo 000)
    if [[ $code == 201 ]]; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
    echo "$ok $bad" >"$D/submits"
  done
}
submit_loop &
SUBMIT_PID=$!
RSS_START=$(rss_kib)
RSS_MAX=$RSS_START
: >"$D/rss.txt"
wrk -t"$THREADS" -c"$CONN" -d"${SOAK_S}s" --latency -s "$D/rotate.lua" "$URL" >"$D/soak.txt" &
WRK_PID=$!
T0=$(date +%s)
while kill -0 "$WRK_PID" 2>/dev/null; do
  r=$(rss_kib); echo "$(( $(date +%s) - T0 )) $r $(rss_parts) $(queue_counts)" >>"$D/rss.txt"
  (( r > RSS_MAX )) && RSS_MAX=$r
  sleep 10
done
wait "$WRK_PID" || true
kill "$SUBMIT_PID" 2>/dev/null || true
wait "$SUBMIT_PID" 2>/dev/null || true
SUBMIT_PID=
RSS_END=$(rss_kib)
read -r ok bad <"$D/submits"
read -r rps p50 p99 non2xx sock n < <(summarise "$D/soak.txt")
JOBS=$(curl -sf "$URL/healthz" | tr -d '\n')
echo "soak ${SOAK_S}s (3 paths in turn + sequential job submissions, SUBMIT=$SUBMIT): $rps req/s, p50 $p50 ms, p99 $p99 ms, $n requests, non-2xx $non2xx, socket errors $sock"
echo "submissions: $ok accepted (201), $bad other; queue: $JOBS"
echo "RSS during the soak: start $(( RSS_START / 1024 )) MiB, end $(( RSS_END / 1024 )) MiB, max of the 10 s samples $(( RSS_MAX / 1024 )) MiB, peak (VmHWM) $(( $(hwm_kib) / 1024 )) MiB"
echo "RSS samples, every 10 s (seconds, RSS KiB, anonymous KiB, file-backed KiB, waiting jobs, all jobs):"
cat "$D/rss.txt"
