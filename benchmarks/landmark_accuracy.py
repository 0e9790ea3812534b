"""How well the shipped MediaPipe landmark embedding matches MediaPipe on new faces.

Renders held-out random textured identities, expressions and views of OpenHead at
512 px, runs MediaPipe face mesh on them and prints the pixel distance between its
detections and the projected embedded points (target: median <= 3 px), and the same
error as a fraction of the inter-ocular distance (the usual NME), for scale.

    python benchmarks/landmark_accuracy.py [--renders 64] [--seed 1000]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from stylemm.facemodel import load
from stylemm.landmarks import SUBSETS, load_embedding
from stylemm.landmarks.detector import FaceMeshDetector
from stylemm.facemodel.sampling import random_faces
from stylemm.landmarks.fitting import reprojection_errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--renders", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1000, help="the embedding was made from seed 0")
    args = parser.parse_args()
    torch.set_num_threads(2)
    model = load("openhead")
    errors, detections = reprojection_errors(model, load_embedding(model), FaceMeshDetector(), args.renders, args.seed)
    yaw = random_faces(model, args.renders, args.seed)["yaw"].numpy()
    print(f"{args.renders} held-out renders at 512 px, faces found in {int(np.isfinite(errors).any(1).sum())}")
    print(f"{'landmarks':<22} {'median px':>10} {'p90 px':>8}")
    rows = {"all 478": errors, "68-point subset": errors[:, SUBSETS["68"]], "5-point subset": errors[:, SUBSETS["five"]],
            "all, |yaw| < 15 deg": errors[np.abs(yaw) < 15], "all, |yaw| >= 15 deg": errors[np.abs(yaw) >= 15]}  # fmt: skip
    for name, values in rows.items():
        print(f"{name:<22} {np.nanmedian(values):>10.2f} {np.nanpercentile(values, 90):>8.2f}")
    iris = SUBSETS["five"][:2]
    inter_ocular = np.linalg.norm(np.diff(detections[:, iris], axis=1)[:, 0], axis=-1)
    print(f"median inter-ocular distance {np.nanmedian(inter_ocular):.0f} px; "
          f"median error / inter-ocular distance {np.nanmedian(errors / inter_ocular[:, None]) * 100:.1f} %")  # fmt: skip


if __name__ == "__main__":
    main()
