#!/usr/bin/env python3
"""Writes scenarios/lwa-ml.toml with Let's Wait Awhile's own 3,387 ML jobs as an explicit list.

kite draws the ML-training workload with its own generator (rand_pcg), so its job set differs
from the paper's, which numpy's `default_rng(0)` drew in `simulate.py` (`generate_batch_jobs`).
This script redraws the paper's job set with numpy, following that function's documented
procedure (a multinomial split of the jobs over the workdays of 2020, sorted arrival minutes
among 09:00..16:30 per day, then durations among 4 h..89.5 h, all on the 30-minute grid), and
prints a scenario whose [jobs] table lists them, so that the only difference left between kite
and the paper is the forecast noise. Optional analysis for docs/scenarios.md; needs numpy.

Usage:
    python3 scripts/lwa-job-list.py > target/lwa-ml-lwa-jobs.toml
    kite simulate target/lwa-ml-lwa-jobs.toml --data ../shared/data/grid/lets-wait-awhile
"""

import datetime as dt
import pathlib
import sys

try:
    import numpy as np
except ImportError:
    sys.exit("lwa-job-list: needs numpy (pip install numpy)")

STEP = 30  # minutes


def paper_jobs():
    rng = np.random.default_rng(0)
    first = dt.date(2020, 1, 1)
    days = [first + dt.timedelta(days=i) for i in range(366)]
    workdays = [d for d in days if d.weekday() <= 4]
    per_day = dict(zip(workdays, rng.multinomial(3387, [1 / len(workdays)] * len(workdays))))
    arrivals = []
    for day in days:
        n = int(per_day.get(day, 0))
        minutes = np.sort(rng.choice(range(9 * 60, 17 * 60, STEP), size=n))
        arrivals += [dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=int(m)) for m in minutes]
    durations = rng.choice(range(4 * 60, 90 * 60, STEP), size=3387)
    return list(zip(arrivals, (int(d) for d in durations)))


def main():
    repo = pathlib.Path(__file__).resolve().parent.parent
    text = (repo / "scenarios" / "lwa-ml.toml").read_text()
    start, end = text.index("[jobs]"), text.index("[forecast]")
    rows = [
        f'  {{ id = "lwa-{i}", arrival = "{a:%Y-%m-%dT%H:%M}:00Z", duration = "{d}m" }},'
        for i, (a, d) in enumerate(paper_jobs())
    ]
    jobs = "\n".join(
        [
            "[jobs]",
            "# Let's Wait Awhile's own job set, redrawn with numpy by scripts/lwa-job-list.py.",
            'pattern = "list"',
            "power_watts = 1000",
            'interruptible = { min_chunk = "0m", resume_overhead = "0m" }',
            "list = [",
            *rows,
            "]",
            "",
            "",
        ]
    )
    out = text[:start].replace('name = "lwa-ml"', 'name = "lwa-ml-lwa-jobs"') + jobs + text[end:]
    sys.stdout.write(out)


if __name__ == "__main__":
    main()
