#!/usr/bin/env bash
# End-to-end import benchmark over the real grid series: parses every normalized
# `<source>/<REGION>.csv` with kite-ingest, upserts all of it into a fresh on-disk store in one
# transaction, and prints rows, seconds and rows/s, then the one-year range query latency
# (median of 100). Release build (cargo's bench profile).
#
# Usage: scripts/bench-grid.sh [GRID_DIR]   (default: ../shared/data/grid, relative to the repo)
# Without the data it says so and exits 0.
set -euo pipefail

cd "$(dirname "$0")/.."
grid_dir="${1:-../shared/data/grid}"
if [[ ! -d "$grid_dir" ]]; then
    echo "bench-grid: no grid data at $grid_dir; nothing to measure" >&2
    exit 0
fi
grid_dir="$(cd "$grid_dir" && pwd)"

echo "== kite-ingest + kite-store: import of $grid_dir/*/*.csv"
KITE_GRID_DIR="$grid_dir" cargo bench --quiet -p kite-store --bench import_grid
