#!/usr/bin/env bash
# Spatio-temporal planner benchmark (issue 4), recorded in docs/benchmarks.md.
#
# Seeded synthetic instances (crates/scheduler/examples/bench_planner.rs): 10 regions × 7 days
# of 15-minute intensity (672 slots) with diurnal shapes; jobs of 15 min to 12 h with 0–24 h of
# slack, demand 1–8 units, priority 0–2, 20% interruptible. Capacity "on" is 1.6 × the mean
# load per region and slot, which binds where the clean hours crowd.
# Each case runs in its own process, so the peak RSS (VmHWM) is that case's.
#
# Usage: scripts/bench-planner.sh [RUNS]   (default 5; the wall time is the median of RUNS)
# The LP master runs on clarabel here; for HiGHS (cmake + libclang, ~5 min first build) run the
# example with `--features highs --target-dir /tmp/tgt-highs` (see docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"

cargo build --release --quiet -p kite-scheduler --example bench_planner
bin=target/release/examples/bench_planner

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "== greedy (+ lower bound in one extra run), 10 regions × 7 days × 15-min slots, median of $runs"
header=--header
for jobs in 1000 10000 100000; do
    for capacity in off on; do
        "$bin" --jobs "$jobs" --capacity "$capacity" --runs "$runs" $header
        header=
    done
done

echo "== exact MILP vs greedy, 2 regions × 1 day × 15-min slots, MILP limit 60 s"
header=--header
for jobs in 5 10 20; do
    for capacity in off on; do
        "$bin" --jobs "$jobs" --capacity "$capacity" --method compare --regions 2 --days 1 \
            --runs 1 --milp-limit 60 $header
        header=
    done
done
