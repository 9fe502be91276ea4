"""A fixed amount of CPU-bound work (about 20 s on the project machine), the same in every variant.

`python3 workload.py [--codecarbon SECONDS]`: with --codecarbon, the work runs inside
CodeCarbon's OfflineEmissionsTracker sampling every SECONDS, as a CodeCarbon user would.
"""
import sys
import time

N = int(__import__("os").environ.get("KITE_BENCH_N", "450000000"))


def work(n):
    acc = 0
    for i in range(n):
        acc = (acc + i * i) % 1000003
    return acc


def main():
    args = sys.argv[1:]
    t0 = time.monotonic()
    if args[:1] == ["--codecarbon"]:
        from codecarbon import OfflineEmissionsTracker

        tracker = OfflineEmissionsTracker(
            country_iso_code="DEU",
            measure_power_secs=float(args[1]),
            save_to_file=True,
            output_dir=args[2] if len(args) > 2 else ".",
            log_level="error",
        )
        tracker.start()
        result = work(N)
        tracker.stop()
    else:
        result = work(N)
    print(f"result={result} seconds={time.monotonic() - t0:.2f}", file=sys.stderr)


main()
