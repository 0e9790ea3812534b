"""Shared timing for the benchmark scripts: medians, because machines are noisy."""

from __future__ import annotations

import argparse
import statistics
import time


def median_ms(step, runs: int) -> float:
    """Median wall time of ``step()`` in milliseconds, after one warm-up call."""
    step()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def benchmark_arguments(description: str, runs: int = 9) -> argparse.Namespace:
    """--runs and --threads, shared by the timing benchmarks; sets torch's thread count."""
    import torch

    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=runs, help=f"timed runs per measurement, median reported (default: {runs})")
    parser.add_argument("--threads", type=int, default=2, help="torch / ONNX Runtime threads (default: 2)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    return args
