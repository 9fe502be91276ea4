#!/usr/bin/env bash
# kite's forecasters against CarbonCast (Maji et al., BuildSys 2022) on its own data and test
# window: issues daily at 00:00 UTC from 2021-07-01 to 2021-12-28 (the last issue whose 96 h
# lie inside 2021, as in CarbonCast's test files), direct signal, learned models trained only on
# data before 2021-07-01. Intensity history is kite's embedded copy of CarbonCast's series;
# the weather-forecast features are read from the shared data folder when it exists
# (DATA_DIR, default ../shared/data/grid/carboncast-direct/raw), else the models run without.
#
# Usage: scripts/forecast-carboncast.sh [OUT_DIR]   (default /tmp/kite-forecast-carboncast)
# Writes OUT_DIR/<R>.csv (model, day, MAPE, MAE, RMSE, coverage, n) and <R>.svg, and prints
# each region's table. Results are in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-/tmp/kite-forecast-carboncast}"
raw="${DATA_DIR:-../shared/data/grid/carboncast-direct/raw}"
mkdir -p "$out"
cargo build --release --quiet -p kite
kite="$PWD/target/release/kite"
for r in CISO PJM MISO EPE DE ES SE; do
    weather=()
    if [[ -f "$raw/${r}_weather_forecast.csv.gz" ]]; then
        weather=(--weather "$raw/${r}_weather_forecast.csv.gz")
    else
        echo "== $r: no weather file at $raw, models run without weather features"
    fi
    args=(forecast backtest --region "$r" --signal average-direct --source carboncast
          --from 2021-07-01 --to 2021-12-28 --model all --train-before 2021-07-01
          "${weather[@]}" --offline)
    /usr/bin/time -f "$r: %e s wall, %M KiB peak RSS" "$kite" "${args[@]}" --chart "$out/$r.svg"
    "$kite" "${args[@]}" --format csv > "$out/$r.csv"
done
