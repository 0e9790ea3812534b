"""Shared timing for the benchmark scripts: medians, because machines are noisy."""

from __future__ import annotations

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
