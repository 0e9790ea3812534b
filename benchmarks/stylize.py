"""Pairs per second of the recipe stylizer at 256 px, landmarks and masks included, and the
share of the time each step takes (sample, render source, stylize, detect, masks, write).

    python benchmarks/stylize.py [--style orc] [--pairs 64] [--processes 2] [--size 256]

Each process is one thread making its own chunks, as ``accelerate launch --num_processes N
stylemm-stylize`` would; the rate printed is all processes together, wall clock.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
import time
from pathlib import Path


def work(job: dict) -> dict:
    import torch

    torch.set_num_threads(1)
    import stylemm
    from stylemm.facemodel import load
    from stylemm.stylize import dataset as pairs
    from stylemm.stylize.recipe_stylizer import RecipeStylizer
    from stylemm.stylize.recipes import get_recipe
    from stylemm.stylize.source import SourceSampler

    pack = stylemm.load_pack("realistic")
    model = load(pack.source_model)
    recipe = get_recipe(job["style"])
    config = pairs.DatasetConfig(style=job["style"], prompt=recipe.prompt, stylizer="recipe", recipe=recipe.to_dict(),
                                 seed=0, count=job["pairs"], size=job["size"])  # fmt: skip
    sampler = SourceSampler(model, pack.deformer, pack.texture_generator, job["size"])
    maker = pairs.PairMaker(config, model, sampler, RecipeStylizer(model, recipe, config.variation))
    out = Path(job["out"])
    maker.make(0)  # warm-up: MediaPipe's graphs, torch's first calls
    maker.seconds.clear()
    job["ready"].wait()  # all processes start timing together
    start = time.perf_counter()
    for chunk in range(job["process"], config.chunks, job["processes"]):
        samples = maker.make(chunk)
        with maker.timed("write"):
            pairs.write_samples(out, chunk, samples)
    wall = time.perf_counter() - start
    return {"wall": wall, "seconds": dict(maker.seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--style", default="orc")
    parser.add_argument("--pairs", type=int, default=64)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as out, context.Manager() as manager:
        ready = manager.Event()
        jobs = [{"style": args.style, "pairs": args.pairs, "size": args.size, "out": out, "process": p,
                 "processes": args.processes, "ready": ready} for p in range(args.processes)]  # fmt: skip
        with context.Pool(args.processes) as pool:
            pending = pool.map_async(work, jobs)
            time.sleep(1.0)
            while not pending.ready():
                ready.set()
                pending.wait(0.5)
            results = pending.get()
    wall = max(r["wall"] for r in results)
    steps: dict[str, float] = {}
    for r in results:
        for step, s in r["seconds"].items():
            steps[step] = steps.get(step, 0.0) + s
    total = sum(steps.values())
    report = {
        "style": args.style,
        "size": args.size,
        "processes": args.processes,
        "pairs": args.pairs,
        "pairs_per_second": round(args.pairs / wall, 2),
        "seconds_per_pair_per_process": round(total / args.pairs, 4),
        "share_per_step": {step: round(s / total, 3) for step, s in steps.items()},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
