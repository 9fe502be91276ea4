#!/usr/bin/env bash
# Reproduces "Let's Wait Awhile" (Wiesner et al., Middleware 2021) on its own data with
# `kite simulate`, then runs what kite adds beyond the paper. Release build.
#
# Usage: scripts/reproduce-lwa.sh [DATA_DIR] [OUT_DIR]
#   DATA_DIR  the LWA traces in kite CSV (DE.csv, GB.csv);
#             default ../shared/data/grid/lets-wait-awhile, relative to the repository
#   OUT_DIR   where tables, CSV, JSON and charts go; default target/reproduce-lwa
#
# Every run compares with the published numbers given in the scenario files and fails (exit 1)
# if one is outside its tolerance (±1.5 percentage points). Runs:
#   1. Scenario I, nightly jobs, like for like (the job of 2020-01-01, whose window opens before
#      the data from ±1.5 h on, is left out of baseline and policy alike);
#   2. the same with LWA's divisor quirk (that job still in the baseline, 0 g for the policy);
#   3. Scenario II, ML training jobs, kite's semantics (plans end by the deadline);
#   4. the same with LWA's horizon quirk (plans may end one step after the deadline);
#   5. beyond the paper: DE+GB spatio-temporal shifting, and interrupting with a 30-min resume.
# The docs/scenarios.md tables were made with this script.
set -euo pipefail

cd "$(dirname "$0")/.."
data_dir="${1:-../shared/data/grid/lets-wait-awhile}"
out_dir="${2:-target/reproduce-lwa}"
if [[ ! -f "$data_dir/DE.csv" || ! -f "$data_dir/GB.csv" ]]; then
    echo "reproduce-lwa: no DE.csv and GB.csv in $data_dir; give the LWA data directory" >&2
    exit 2
fi
mkdir -p "$out_dir"

cargo build --release --quiet -p kite
kite=target/release/kite

run() {
    local name="$1"
    shift
    echo "== $name: kite simulate $*"
    "$kite" simulate "$@" --data "$data_dir" --check | tee "$out_dir/$name.txt"
    "$kite" simulate "$@" --data "$data_dir" --format csv > "$out_dir/$name.csv"
    "$kite" simulate "$@" --data "$data_dir" --format json > "$out_dir/$name.json"
    echo
}

run nightly scenarios/lwa-nightly.toml \
    --chart "$out_dir/nightly-DE-8h.svg" --chart-experiment "DE/±8h" --chart-from 2020-03-02
run nightly-quirk scenarios/lwa-nightly.toml --set compat.skipped_jobs_count_as_zero=true
run ml scenarios/lwa-ml.toml \
    --chart "$out_dir/ml-DE-semi-weekly.svg" --chart-experiment "DE/semi-weekly" --chart-from 2020-03-02
run ml-quirk scenarios/lwa-ml.toml --set compat.horizon_one_step_past_deadline=true
run beyond scenarios/lwa-ml-beyond.toml \
    --chart "$out_dir/beyond-DE-semi-weekly-resume.svg" \
    --chart-experiment "DE/semi-weekly, 30m resume" --chart-from 2020-03-02

echo "reproduce-lwa: all published numbers within tolerance; outputs in $out_dir"
