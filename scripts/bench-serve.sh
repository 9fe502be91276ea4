#!/usr/bin/env bash
# Issue 7's benchmark: submit N no-op jobs to `kite serve` (local executor) over HTTP with the
# token, from C concurrent clients; measure submissions/s and latency, the time until every job
# is planned, the server's peak RSS; then kill -9 it, restart it, measure the time until it
# answers again and until its first planning round is done, and check that every job is still
# there in the same state.
#
#   cargo build --release -p kite && cargo build --release -p kite-service --example bench_submit
#   scripts/bench-serve.sh [N=10000] [C=16]
#
# Environment: KITE (default target/release/kite), BENCH (default
# target/release/examples/bench_submit), KEEP=1 keeps the temp dir. Needs curl and jq.
# Offline (--offline): plans use kite's embedded typical-week profile, no network.
set -euo pipefail

N=${1:-10000}
C=${2:-16}
DUE=${DUE:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KITE=${KITE:-$ROOT/target/release/kite}
BENCH=${BENCH:-$ROOT/target/release/examples/bench_submit}
for b in "$KITE" "$BENCH"; do
  [[ -x $b ]] || { echo "missing $b; build it first (see the header)" >&2; exit 1; }
done
D=$(mktemp -d /tmp/kite-bench-serve.XXXXXX)
PID=
cleanup() {
  [[ -n $PID ]] && kill -9 "$PID" 2>/dev/null || true
  [[ ${KEEP:-0} == 1 ]] && echo "kept $D" >&2 || rm -rf "$D"
}
trap cleanup EXIT

export HOME=$D XDG_CONFIG_HOME=$D/config XDG_DATA_HOME=$D/data KITE_DATABASE=$D/kite.sqlite3
Q=$D/jobs.sqlite3
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

start_server() {
  rm -f "$Q.addr"
  "$KITE" --offline serve --listen 127.0.0.1:0 --region DE --queue "$Q" >>"$D/serve.log" 2>&1 &
  PID=$!
}
wait_addr() {
  until [[ -s $Q.addr ]]; do sleep 0.01; done
  URL=$(cat "$Q.addr"); [[ $URL == http* ]] || URL=http://$URL
}
health() { curl -sf --max-time 120 "$URL/healthz"; }
count() { health | jq -r ".jobs[\"$1\"] // 0"; }
dump() { # id state planned-start, sorted
  curl -sf --max-time 300 -H "Authorization: Bearer $(cat "$Q.token")" "$URL/v1/jobs" |
    jq -r '.jobs[] | "\(.id) \(.state) \(.plan.start // "-")"' | sort
}

echo "kite serve benchmark: $N jobs, $C concurrent clients, $DUE due now; dir $D" >&2
start_server
wait_addr
T0=$(now)
# The due-now jobs need a tight deadline, or the planner would (rightly) move them to the
# cleanest hour of the week.
DUE_JSON=$("$BENCH" --server "$URL" --token-file "$Q.token" --jobs "$DUE" --concurrency 1 \
  --due-now "$DUE" --deadline now+3m --duration 1m)
BULK_JSON=$("$BENCH" --server "$URL" --token-file "$Q.token" --jobs $((N - DUE)) \
  --concurrency "$C" --due-now 0 --earliest now+24h --deadline now+168h --duration 1m)
SUBMIT_S=$(since "$T0")
while [[ $(count pending) != 0 ]]; do sleep 0.2; done
PLANNED_S=$(since "$T0")
echo "waiting for the due-now jobs to finish" >&2
while [[ $(count running) != 0 || $(count planned) -gt $((N - DUE)) ]]; do sleep 0.5; done
HEALTH_BEFORE=$(health | jq -c .jobs)
HWM=$(awk '/VmHWM/ { print $2 }' "/proc/$PID/status")
RSS=$(awk '/VmRSS/ { print $2 }' "/proc/$PID/status")
dump >"$D/before.txt"
QSIZE=$(du -sk "$Q" "$Q-wal" 2>/dev/null | awk '{ s += $1 } END { print s }')

kill -9 "$PID"
wait "$PID" 2>/dev/null || true
T1=$(now)
start_server
wait_addr
ADDR_S=$(since "$T1")
health >/dev/null
HEALTH_S=$(since "$T1")
# The loop's first round replans every waiting job; a new submission is answered once the
# round after it is done, so a planned answer means the restart's planning is over.
"$BENCH" --server "$URL" --token-file "$Q.token" --jobs 1 --concurrency 1 --due-now 0 \
  --earliest now+24h --deadline now+168h --duration 1m >/dev/null
REPLANNED_S=$(since "$T1")
HWM2=$(awk '/VmHWM/ { print $2 }' "/proc/$PID/status")
dump | grep -v -F -f <(cut -d' ' -f1 "$D/before.txt") >"$D/extra.txt" || true
dump | grep -F -f <(cut -d' ' -f1 "$D/before.txt") >"$D/after.txt" || true
SAME_STATE=$(join <(cut -d' ' -f1,2 "$D/before.txt") <(cut -d' ' -f1,2 "$D/after.txt") | awk '$2 == $3' | wc -l)
SAME_START=$(diff "$D/before.txt" "$D/after.txt" >/dev/null && echo all || echo "$(join <(cut -d' ' -f1,3 "$D/before.txt") <(cut -d' ' -f1,3 "$D/after.txt") | awk '$2 == $3' | wc -l)")

jq -n --argjson due "$DUE_JSON" --argjson bulk "$BULK_JSON" \
  --arg n "$N" --arg submit_s "$SUBMIT_S" --arg planned_s "$PLANNED_S" \
  --arg hwm "$HWM" --arg rss "$RSS" --argjson states "$HEALTH_BEFORE" --arg qsize "$QSIZE" \
  --arg addr_s "$ADDR_S" --arg health_s "$HEALTH_S" --arg replanned_s "$REPLANNED_S" --arg hwm2 "$HWM2" \
  --arg before "$(wc -l <"$D/before.txt")" --arg after "$(wc -l <"$D/after.txt")" \
  --arg same_state "$SAME_STATE" --arg same_start "$SAME_START" '{
  jobs: ($n | tonumber), submit: {due_now: $due, bulk: $bulk, all_submitted_s: ($submit_s | tonumber)},
  all_planned_s: ($planned_s | tonumber), states_before_kill: $states,
  peak_rss_mib: (($hwm | tonumber) / 1024), rss_mib_at_end: (($rss | tonumber) / 1024),
  queue_mib: (($qsize | tonumber) / 1024),
  restart: {addr_written_s: ($addr_s | tonumber), healthz_s: ($health_s | tonumber),
            first_round_done_s: ($replanned_s | tonumber), peak_rss_mib: (($hwm2 | tonumber) / 1024)},
  check: {jobs_before: ($before | tonumber), jobs_after: ($after | tonumber),
          same_state: ($same_state | tonumber), same_planned_start: $same_start}}'
[[ $(wc -l <"$D/before.txt") == "$N" && $SAME_STATE == "$N" ]] || { echo "CHECK FAILED: see $D" >&2; KEEP=1; exit 1; }
