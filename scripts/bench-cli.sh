#!/usr/bin/env bash
# CLI-level benchmarks of the grid signal, on the release binary (results in docs/benchmarks.md):
#   1. import of every normalized series under GRID_DIR with `kite intensity import`
#      (one invocation per source folder, labelled with the folder's signal and name);
#   2. a one-year range query through the whole CLI (hyperfine; includes process start);
#   3. cold start of `kite intensity REGION` (hyperfine) and its peak RSS (GNU time).
# Reads the shared grid data when present (benchmarks may; the project itself never does).
#
# Usage: scripts/bench-cli.sh [GRID_DIR]   (default: ../shared/data/grid)
# Needs: hyperfine and GNU time (Debian packages `hyperfine`, `time`).
set -euo pipefail
cd "$(dirname "$0")/.."
grid_dir="${1:-../shared/data/grid}"
if [[ ! -d "$grid_dir" ]]; then
    echo "bench-cli: no grid data at $grid_dir; nothing to measure" >&2
    exit 0
fi
cargo build --release --quiet -p kite
kite="$PWD/target/release/kite"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export KITE_DATABASE="$work/kite.sqlite3" XDG_CONFIG_HOME="$work/config"

median() {
    python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print("median %.2f ms (min %.2f, max %.2f, %d runs)"
      % (r["median"] * 1e3, r["min"] * 1e3, r["max"] * 1e3, len(r["times"])))
PY
}

echo "== machine"
echo "$(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
ls -l "$kite" | awk '{printf "binary: %.1f MiB\n", $5/1048576}'

echo "== 1. kite intensity import, every normalized series in $grid_dir"
start=$(date +%s.%N)
for dir in "$grid_dir"/*/; do
    name="$(basename "$dir")"
    files=("$dir"*.csv)
    [[ -e "${files[0]}" ]] || continue
    case "$name" in
        *direct*) signal=average-direct ;;
        *moer*) signal=marginal ;;
        *) signal=average-lifecycle ;;
    esac
    "$kite" intensity import --signal "$signal" --source "$name" --format json "${files[@]}" \
        > "$work/import-$name.json"
done
end=$(date +%s.%N)
python3 - "$work" "$start" "$end" <<'PY'
import json, glob, sys
work, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
rows = secs = files = 0
for f in glob.glob(f"{work}/import-*.json"):
    d = json.load(open(f))
    rows += d["rows"]; secs += d["seconds"]; files += len(d["files"])
wall = end - start
print(f"{files} files, {rows} rows")
print(f"inside kite (parse + one transaction): {secs:.3f} s = {rows/secs/1e6:.2f} M rows/s")
print(f"wall, {len(glob.glob(work + '/import-*.json'))} processes incl. start-up: {wall:.3f} s = {rows/wall/1e6:.2f} M rows/s")
PY
ls -l "$KITE_DATABASE" | awk '{printf "database: %.1f MiB\n", $5/1048576}'

echo "== 2. one-year range query (US-CAL-CISO 2021, 8760 hourly rows, from the store)"
hyperfine -N --warmup 3 --runs 30 --style basic --export-json "$work/query.json" \
    "$kite intensity US-CAL-CISO --from 2021-01-01 --to 2022-01-01 --source carboncast-lifecycle --format csv"
median "$work/query.json"

echo "== 3. cold start: kite intensity DE (now, offline: typical-week profile)"
export KITE_DATABASE="$work/fresh.sqlite3"
hyperfine -N --warmup 3 --runs 50 --style basic --export-json "$work/cold.json" "$kite intensity DE"
median "$work/cold.json"
for i in 1 2 3; do /usr/bin/time -f "peak RSS %M KiB" "$kite" intensity DE 2>&1 >/dev/null | grep 'peak RSS'; done
