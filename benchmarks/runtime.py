"""The runtime on the realistic bundle, in one run: per-frame meshes for 1, 8 and 64
characters (baked numpy vs exact ONNX Runtime vs the torch networks, eager), the bake's
error (unit vs least-squares deltas), a texture per character, and loading a bundle.

    python benchmarks/runtime.py [--runs 9] [--threads 2]

ONNX Runtime and torch get the same --threads (the runtime as it ships: no spinning;
torch as it ships) and are timed in turns, so a busy machine slows them alike.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import stylemm_runtime
from stylemm import load_pack
from stylemm.facemodel import load
from stylemm_export.bundle import write_bundle
from stylemm_runtime import baking
from timing import benchmark_arguments, median_ms, side_by_side_ms  # benchmarks/timing.py

# numpy's OpenBLAS keeps its workers spinning for about 0.1 s after a call (the bakes, the
# baked blends); timed beside them, the networks were 15-70 % slower.
OPENBLAS_SETTLE_S = 0.5


def main() -> None:
    args = benchmark_arguments(__doc__)
    networks, source = load_pack("realistic"), load("openhead")
    with tempfile.TemporaryDirectory() as folder:
        path = write_bundle(Path(folder) / "realistic.smm", source, networks.deformer, networks.texture_generator, style="realistic")
        load_ms = median_ms(lambda: stylemm_runtime.load(path, threads=args.threads), max(3, args.runs // 3))
        model = stylemm_runtime.load(path, threads=args.threads)
    rng = np.random.default_rng(0)
    print(f"median of {args.runs} runs, {args.threads} threads; bundle load {load_ms:.0f} ms")
    print(f"{'characters':>10} {'baked numpy':>12} {'exact ORT':>10} {'torch eager':>12} {'ORT/baked':>10} {'torch/ORT':>10}   (ms per frame)")
    for count in (1, 8, 64):
        shapes = rng.standard_normal((count, model.shape_dim)).astype(np.float32)
        weights = baking.sample_expressions(model.expression_names, count, rng)
        bakes = [baking.bake(model, shape) for shape in shapes[: min(count, 8)]]
        bakes = [bakes[i % len(bakes)] for i in range(count)]  # baking 64 characters costs a minute; timing does not care which
        baked = median_ms(lambda: [m.mesh(w) for m, w in zip(bakes, weights)], args.runs)
        time.sleep(OPENBLAS_SETTLE_S)
        shapes_t, weights_t = torch.from_numpy(shapes), torch.from_numpy(weights)
        with torch.no_grad():
            times = side_by_side_ms({"exact": lambda: model.deform(shapes, weights),
                                     "eager": lambda: networks.deformer(shapes_t, weights_t)}, args.runs)  # fmt: skip
        exact, eager = times["exact"], times["eager"]
        print(f"{count:>10} {baked:>12.2f} {exact:>10.2f} {eager:>12.2f} {exact / baked:>10.1f} {eager / exact:>10.1f}")
    shape = rng.standard_normal(model.shape_dim).astype(np.float32)
    for method in baking.METHODS:
        error = baking.measure(model, shape, baking.bake(model, shape, method=method))
        print(f"bake '{method}' vs exact on {error['samples']} held-out combinations:", json.dumps({k: round(v, 3) for k, v in error.items()}))
    z = rng.standard_normal(model.texture_dim).astype(np.float32)
    print(f"texture per character (ORT): {median_ms(lambda: model.texture(z), args.runs):.1f} ms")


if __name__ == "__main__":
    main()
