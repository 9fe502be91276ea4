#!/usr/bin/env bash
# Forecasting cost: fit + 96 h forecast per model on two years of hourly history (one process per
# model, so each peak RSS is that model's), then `kite forecast` end to end (calibrated
# intervals included) and one full backtest of every model over Jul–Dec 2021.
# Uses only kite's embedded data. Results are in docs/benchmarks.md (Forecasting).
#
# Usage: scripts/bench-forecast.sh [ZONE]   (default US-CAL-CISO)
set -euo pipefail
cd "$(dirname "$0")/.."
zone="${1:-US-CAL-CISO}"
cargo build --release --quiet -p kite -p kite-forecast --example bench_models
bench="$PWD/target/release/examples/bench_models"
kite="$PWD/target/release/kite"
echo "== machine: $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for m in persistence seasonal-naive climatology mstl learned ensemble; do
    "$bench" "$m" "$zone" 5
done
echo "== kite forecast (history, calibration runs for the intervals, forecast, output)"
for m in learned auto; do
    /usr/bin/time -f "kite forecast $zone --model $m --hours 96: %e s wall, %M KiB peak RSS" \
        "$kite" --offline forecast "$zone" --signal average-direct --hours 96 --model "$m" \
        --history embedded --format json > /dev/null
done
echo "== full backtest, every model and the ensemble, issues 2021-07-01..2021-12-31"
/usr/bin/time -f "backtest: %e s wall, %M KiB peak RSS" \
    "$kite" --offline forecast backtest --region "$zone" --signal average-direct --source carboncast \
    --from 2021-07-01 --to 2021-12-31 --model all --format csv > /dev/null
