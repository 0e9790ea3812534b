"""Where the fine-tuning objective has its minimum: each stage's loss terms, weighted as the
stage weights them, at the recipe's 3D truth, at a style pack's D_style and at D_src.

    python benchmarks/objective_at_truth.py [--style orc] [--samples 16] [--size 128] [--threads 1]

The trainer cannot reach what its objective does not prefer. On held-out recipe samples this
evaluates the warm-up (eq. 9) and joint (eq. 10) objectives for three geometries: the truth
(the stylized mesh, and its unposed mesh for L_reg / L_CDL), the pack's D_style and the source
D_src. The image terms are rendered with the TRUE stylized texture, so they measure geometry
alone (a learned G_style can only do worse). L_kp is given twice: against MediaPipe's
landmarks on the stylized images (what the trainer uses) and against the truth mesh's
embedded landmarks (what a perfect detector would give). A measurement, never training:
it reads the 3D truth, which the trainer must not.
"""

from __future__ import annotations

import argparse

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--style", default="orc", help="a shipped pack trained on recipe pairs (default orc)")
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--size", type=int, default=128, help="the training resolution (default 128)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from stylemm.cli.eval import pack_recipe
    from stylemm.facemodel import load
    from stylemm.finetune.perceptual import PerceptualTerms
    from stylemm.finetune.stages import MEASURED, PAPER, StageLosses, plan
    from stylemm.landmarks import load_embedding
    from stylemm.metrics.objective import held_out_batch, terms, truth_geometry, weighted
    from stylemm.packs import load_pack
    from stylemm.render import MeshRenderer

    pack, source, model = load_pack(args.style), load_pack("realistic"), load("openhead")
    pack.deformer.float()
    recipe = pack_recipe(pack, None)
    renderer = MeshRenderer(model.faces, model.uvs, model.uv_faces, model.part_labels, num_parts=len(model.part_names))
    with torch.no_grad():
        batch = held_out_batch(model, source, recipe, args.samples, args.size)
    print(f"{args.samples} held-out {args.style} samples at {args.size} px; image terms rendered with the true texture")
    for label, balance in (("the paper's numbers (the default)", PAPER), ("MEASURED (--measured-weights)", MEASURED)):
        losses_ = StageLosses(model, source.deformer, renderer, load_embedding(model), recipe.shading,
                              PerceptualTerms.build(None, None, None), balance=balance)  # fmt: skip
        with torch.no_grad():
            geometries = {
                "truth": truth_geometry(model, source, recipe, batch),
                f"{args.style} pack": losses_.geometry(pack.deformer, batch),
                "D_src": losses_.geometry(source.deformer, batch),
            }
            values = {name: terms(losses_, g, batch) for name, g in geometries.items()}
        print(f"\n== balance: {label}: {balance}")
        print(f"{'geometry':12s} " + " ".join(f"{k:>18s}" for k in values["truth"]))
        for name, v in values.items():
            print(f"{name:12s} " + " ".join(f"{x:18.5f}" for x in v.values()))
        for stage in plan(balance=balance, texture_refine=False):
            print(f"{stage.description}: weighted terms and total (lower is preferred)")
            for name, v in values.items():
                parts, total = weighted(stage, v)
                print(f"  {name:12s} total {total:9.3f}   " + "  ".join(f"{k} {x:8.3f}" for k, x in parts.items()))


if __name__ == "__main__":
    main()
