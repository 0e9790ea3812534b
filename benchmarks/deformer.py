"""D_src against the linear source model it was distilled from, in one run: held-out
accuracy (1,000 samples) and the cost of one forward pass per mesh, batch 1 and 64.

    python benchmarks/deformer.py [--runs 9]
"""

from __future__ import annotations

import json

import torch

from stylemm import load_pack
from stylemm.pretrain.deformer import ParameterStream, evaluate
from stylemm.facemodel import load
from timing import benchmark_arguments, median_ms  # benchmarks/timing.py


def main() -> None:
    args = benchmark_arguments(__doc__)
    model = load("openhead")
    deformer = load_pack("realistic").deformer
    print("accuracy on 1,000 held-out samples:", json.dumps(evaluate(deformer, model)))
    print(f"{'batch':>5} {'linear 3DMM ms':>15} {'D_src ms':>9} {'D_src / linear':>15}")
    with torch.no_grad():
        for batch in (1, 64):
            shape, expression = ParameterStream(model, seed=1).sample(batch)
            linear = median_ms(lambda: model(shape=shape, expression=expression), args.runs)
            neural = median_ms(lambda: deformer(shape, expression), args.runs)
            print(f"{batch:>5} {linear:>15.2f} {neural:>9.2f} {neural / linear:>15.1f}")


if __name__ == "__main__":
    main()
