"""Shared timing for the benchmark scripts: medians, because machines are noisy."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable


def median_ms(step, runs: int) -> float:
    """Median wall time of ``step()`` in milliseconds, after one warm-up call."""
    step()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def side_by_side_ms(steps: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """Median wall time in ms of each step, timed in turns: one call of every step per round,
    a different step first each round. Load from elsewhere on the machine then falls on all
    steps alike instead of on whichever was timed while it lasted. Each timed call follows
    an untimed one of the same step, so that, as with median_ms, it finds its data cached."""
    names = list(steps)
    times: dict[str, list[float]] = {name: [] for name in names}
    for run in range(runs):
        first = run % len(names)
        for name in names[first:] + names[:first]:
            steps[name]()
            start = time.perf_counter()
            steps[name]()
            times[name].append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(t) for name, t in times.items()}


def benchmark_arguments(description: str, runs: int = 9) -> argparse.Namespace:
    """--runs and --threads, shared by the timing benchmarks; sets torch's thread count."""
    import torch

    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=runs, help=f"timed runs per measurement, median reported (default: {runs})")
    parser.add_argument("--threads", type=int, default=2, help="torch / ONNX Runtime threads (default: 2)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    return args
