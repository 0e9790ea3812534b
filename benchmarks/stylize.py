"""Pairs per second of the recipe stylizer at 256 px, landmarks and masks included, the
share of the time each step takes (sample, render source, stylize, detect, masks, write),
and the same against the renderer's reference path (backend ``cpu-reference``, the CPU
renderer as first written; its pixels are the same bit for bit).

    python benchmarks/stylize.py [--style orc] [--pairs 64] [--rounds 3] [--processes 2] [--threads 1] [--size 256]

Each process makes its own chunks with ``--threads`` torch threads, as ``accelerate launch
--num_processes N stylemm-stylize`` would; a rate is all processes together, wall clock.
The machine is shared, so the two paths are measured alternately in the same processes
(fast then reference, then the other way round), ``--rounds`` times each, and the medians
are reported with the load average (``/proc/loadavg``, 1 minute) seen after each run, and
with the CPU time the processes used: ``pairs_per_second_on_free_cores`` is the rate the
same processes would reach with a core each to themselves (pairs / CPU seconds x processes).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path

PATHS = {"fast": "cpu", "reference": "cpu-reference"}
CORES = os.cpu_count() or 1


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def makers(style: str, pairs: int, size: int) -> dict:
    """A PairMaker per renderer path, warmed up (MediaPipe's graphs, torch's first calls)."""
    import stylemm
    from stylemm.facemodel import load
    from stylemm.stylize import dataset
    from stylemm.stylize.recipe_stylizer import RecipeStylizer
    from stylemm.stylize.recipes import get_recipe
    from stylemm.stylize.source import SourceSampler

    pack = stylemm.load_pack("realistic")
    model = load(pack.source_model)
    recipe = get_recipe(style)
    config = dataset.DatasetConfig(style=style, prompt=recipe.prompt, stylizer="recipe", recipe=recipe.to_dict(),
                                   seed=0, count=pairs, size=size)  # fmt: skip
    out = {}
    for path, backend in PATHS.items():
        sampler = SourceSampler(model, pack.deformer, pack.texture_generator, size, backend=backend)
        stylizer = RecipeStylizer(model, recipe, config.variation, backend=backend)
        maker = dataset.PairMaker(config, model, sampler, stylizer)
        # Where the time inside the steps goes: the source networks and the renderer.
        sampler.deformer = Timed(sampler.deformer, "__call__", maker.seconds, "render source: D_src")
        sampler.texture_generator = Timed(sampler.texture_generator, "texture", maker.seconds, "render source: G_src")
        sampler.renderer = Timed(sampler.renderer, "__call__", maker.seconds, "render source: renderer")
        stylizer.renderer = Timed(stylizer.renderer, "__call__", maker.seconds, "stylize: renderer")
        maker.make(0)
        maker.seconds.clear()
        out[path] = maker
    return out


class Timed:
    """``target`` with the calls of its ``method`` timed into ``seconds[name]``; all else passes through."""

    def __init__(self, target, method: str, seconds: dict, name: str):
        self.target, self.method, self.seconds, self.name = target, method, seconds, name

    def __getattr__(self, attribute: str):
        value = getattr(self.target, attribute)
        if attribute != self.method:
            return value

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return value(*args, **kwargs)
            finally:
                self.seconds[self.name] += time.perf_counter() - start

        return timed

    def __call__(self, *args, **kwargs):
        return self.__getattr__("__call__")(*args, **kwargs)


def work(process: int, args: dict, barrier, results) -> None:
    import torch

    torch.set_num_threads(args["threads"])
    from stylemm.stylize import dataset

    paths = makers(args["style"], args["pairs"], args["size"])
    runs = []
    for r in range(args["rounds"]):
        for path in (("fast", "reference") if r % 2 == 0 else ("reference", "fast")):
            maker = paths[path]
            maker.seconds.clear()
            with tempfile.TemporaryDirectory() as out:
                barrier.wait()  # all processes start each run together
                start, cpu = time.perf_counter(), time.process_time()
                for chunk in range(process, maker.config.chunks, args["processes"]):
                    samples = maker.make(chunk)
                    with maker.timed("write"):
                        dataset.write_samples(Path(out), chunk, samples)
                wall, cpu = time.perf_counter() - start, time.process_time() - cpu
                barrier.wait()
            runs.append({"round": r, "path": path, "wall": wall, "cpu": cpu, "seconds": dict(maker.seconds), "load": load_average()})
    results.put((process, runs))


def summarise(per_process: list[list[dict]], args) -> dict:
    """Per path: the median rate over rounds, each round's rate and load, the steps' shares."""
    report = {"style": args.style, "size": args.size, "processes": args.processes, "threads": args.threads,
              "pairs_per_run": args.pairs, "rounds": args.rounds}  # fmt: skip
    medians = {}
    for path in PATHS:
        rounds, steps = [], {}
        for r in range(args.rounds):
            runs = [next(run for run in runs if run["round"] == r and run["path"] == path) for runs in per_process]
            wall, cpu = max(run["wall"] for run in runs), sum(run["cpu"] for run in runs)
            rounds.append({"pairs_per_second": round(args.pairs / wall, 2), "load_average": runs[0]["load"],
                           "pairs_per_second_on_free_cores": round(args.pairs / cpu * min(args.processes * args.threads, CORES), 2)})  # fmt: skip
            for run in runs:
                for step, s in run["seconds"].items():
                    steps[step] = steps.get(step, 0.0) + s
        total = sum(s for step, s in steps.items() if ":" not in step)  # "step: part" lies within a step
        medians[path] = statistics.median(r["pairs_per_second"] for r in rounds)
        report[path] = {
            "backend": PATHS[path],
            "pairs_per_second_median": medians[path],
            "pairs_per_second_on_free_cores_median": statistics.median(r["pairs_per_second_on_free_cores"] for r in rounds),
            "runs": rounds,
            "seconds_per_pair_per_process": round(total / (args.pairs * args.rounds), 4),  # wall clock in the steps
            "share_per_step": {step: round(s / total, 3) for step, s in steps.items() if ":" not in step},
            "share_within_steps": {step: round(s / total, 3) for step, s in sorted(steps.items()) if ":" in step},
        }
    report["speedup_fast_over_reference"] = round(medians["fast"] / medians["reference"], 2)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--style", default="orc")
    parser.add_argument("--pairs", type=int, default=64, help="pairs per run (all processes together)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each path")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(args.processes), context.Queue()
    job = {k: getattr(args, k) for k in ("style", "pairs", "size", "rounds", "processes", "threads")}
    workers = [context.Process(target=work, args=(p, job, barrier, results)) for p in range(args.processes)]
    for w in workers:
        w.start()
    per_process = [runs for _, runs in sorted(results.get() for _ in workers)]
    for w in workers:
        w.join()
    print(json.dumps(summarise(per_process, args), indent=2))


if __name__ == "__main__":
    main()
