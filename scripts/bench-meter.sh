#!/usr/bin/env bash
# Overhead of measuring a job: the same ~20 s CPU-bound Python workload run untracked, under
# `kite run`, and under CodeCarbon 3.3.2 (OfflineEmissionsTracker around the workload), at 1 s and
# 100 ms sampling, side by side in one run. Results go in docs/benchmarks.md.
#
# Reports per variant (median of REPS runs): wall time, CPU seconds (user+sys of the whole process
# tree, from GNU time), peak RSS; and the overhead against the untracked run. For kite it also
# reports kite's own CPU time and peak RSS (getrusage(RUSAGE_SELF), printed in `kite run --json`),
# since GNU time's peak RSS is the maximum over kite and its child.
#
# kite is measured as built by `cargo build --release` (glibc). Where the musl target is installed
# (`rustup target add x86_64-unknown-linux-musl`, Debian's musl-tools), a static build runs beside
# it at 1 s as `kite-static-1s`: it maps no ld.so, libc or libm (about 2 MiB less resident), but a
# static binary cannot dlopen libnvidia-ml, so it has no GPU metering and is not what kite ships.
#
# Usage: scripts/bench-meter.sh [REPS]   (default 3; KITE_BENCH_NO_STATIC=1 skips the musl build). Needs python3 with venv, GNU time, network
# access to PyPI for the throwaway CodeCarbon virtualenv.
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
venv="${KITE_BENCH_VENV:-/tmp/kite-bench-codecarbon}"
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "codecarbon==3.3.2"
fi
cargo build --release --quiet -p kite
kite="$PWD/target/release/kite"
kite_static=""
if [[ -z "${KITE_BENCH_NO_STATIC:-}" ]] && rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl && command -v musl-gcc > /dev/null; then
    cargo build --release --quiet -p kite --target x86_64-unknown-linux-musl
    kite_static="$PWD/target/x86_64-unknown-linux-musl/release/kite"
fi
export KITE_DATABASE="$work/kite.sqlite3" XDG_CONFIG_HOME="$work/config"
py="$venv/bin/python"
wl="$PWD/scripts/bench/workload.py"

echo "== machine: $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $("$py" -c 'import codecarbon; print("codecarbon", codecarbon.__version__)')"

run() { # name, command...: one measured run, appends "name wall cpu rss_kib" to results
    local name="$1"; shift
    /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" > "$work/out" 2> "$work/err"
    read -r wall user sys rss < "$work/time"
    echo "$name $wall $(awk "BEGIN{print $user + $sys}") $rss" >> "$work/results"
    if [[ "$name" == kite-* ]]; then
        python3 - "$work/out" "$name" >> "$work/self" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
o = d["overhead"]
print(sys.argv[2], o["cpu_seconds"], o["peak_rss_kib"])
PY
    fi
}

for i in $(seq "$reps"); do
    run untracked "$py" "$wl"
    run kite-1s "$kite" run --region DE --interval 1s --quiet --json --output-dir "$work" -- "$py" "$wl"
    run kite-100ms "$kite" run --region DE --interval 100ms --quiet --json --output-dir "$work" -- "$py" "$wl"
    if [[ -n "$kite_static" ]]; then
        run kite-static-1s "$kite_static" run --region DE --interval 1s --quiet --json --output-dir "$work" -- "$py" "$wl"
    fi
    run codecarbon-1s "$py" "$wl" --codecarbon 1 "$work"
    run codecarbon-100ms "$py" "$wl" --codecarbon 0.1 "$work"
done

python3 - "$work/results" "$work/self" <<'PY'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
by = {}
for name, wall, cpu, rss in rows:
    by.setdefault(name, []).append((float(wall), float(cpu), int(rss)))
med = {k: tuple(st.median(x[i] for x in v) for i in range(3)) for k, v in by.items()}
base = med["untracked"]
print(f"{'variant':18} {'wall s':>8} {'cpu s':>8} {'peak RSS MiB':>13} {'+wall s':>8} {'+cpu s':>8} {'+RSS MiB':>9}")
for k in ["untracked", "kite-1s", "kite-100ms", "kite-static-1s", "codecarbon-1s", "codecarbon-100ms"]:
    if k not in med:
        continue
    w, c, r = med[k]
    print(f"{k:18} {w:8.2f} {c:8.2f} {r/1024:13.1f} {w-base[0]:8.2f} {c-base[1]:8.2f} {(r-base[2])/1024:9.1f}")
selfs = {}
for l in open(sys.argv[2]):
    name, cpu, rss = l.split()
    selfs.setdefault(name, []).append((float(cpu), int(rss)))
for k, v in selfs.items():
    cpu = st.median(x[0] for x in v); rss = st.median(x[1] for x in v)
    wall = med[k][0]
    print(f"{k}: kite's own CPU {cpu:.3f} s ({100*cpu/wall:.3f} % of one core over {wall:.1f} s), own peak RSS {rss/1024:.1f} MiB")
for rate in ["1s", "100ms"]:
    k, c = med[f"kite-{rate}"][1] - base[1], med[f"codecarbon-{rate}"][1] - base[1]
    own = st.median(x[0] for x in selfs[f"kite-{rate}"])
    print(f"{rate}: added CPU kite {k:.3f} s (own {own:.3f} s) vs CodeCarbon {c:.3f} s -> ratio {own/c if c > 0 else float('nan'):.4f}")
PY

echo "== what each tool reported for the same workload (medians over all its runs; from emissions.csv)"
python3 - "$work/emissions.csv" <<'PY'
import csv, statistics as st, sys
rows = list(csv.DictReader(open(sys.argv[1])))
tools = {}
for r in rows:
    tool = "kite" if r["codecarbon_version"].startswith("kite") else "codecarbon " + r["codecarbon_version"]
    tools.setdefault(tool, []).append(r)
cols = ["duration", "cpu_power", "ram_power", "cpu_energy", "ram_energy", "energy_consumed", "emissions", "water_consumed"]
print(f"{'tool':18} " + " ".join(f"{c:>16}" for c in cols))
for tool, rs in sorted(tools.items()):
    med = [st.median(float(r[c] or 0) for r in rs) for c in cols]
    print(f"{tool:18} " + " ".join(f"{v:16.6g}" for v in med))
print("units: duration s, power W, energy kWh, emissions kg CO2e, water L")
PY
