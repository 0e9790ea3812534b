"""Re-embed MediaPipe's landmarks on a face model and report held-out reprojection error.

    python -m stylemm.landmarks [--model openhead] [--renders 480] [--seed 0] [--out PATH]

Needs MediaPipe (pip install -e ".[landmarks]"). By default writes the file that ships
with the package, so the result can be committed.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from stylemm.facemodel import load
from stylemm.landmarks.detector import FaceMeshDetector
from stylemm.landmarks.embedding import shipped_path
from stylemm.landmarks.fitting import embed, reprojection_errors

HELD_OUT_SEED_OFFSET = 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="openhead")
    parser.add_argument("--renders", type=int, default=480)
    parser.add_argument("--held-out", type=int, default=64, help="renders of other faces to measure the error on")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="where to write the embedding (default: the file shipped in the package)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load(args.model)
    detector = FaceMeshDetector()
    embedding, stats = embed(model, detector, count=args.renders, seed=args.seed)
    out = args.out or shipped_path(model.name)
    embedding.save(out, model.faces)
    errors, _ = reprojection_errors(model, embedding, detector, args.held_out, args.seed + HELD_OUT_SEED_OFFSET)
    seen = np.isfinite(errors)
    stats.update({
        "held_out_renders": args.held_out,
        "held_out_faces_found": int(seen.any(1).sum()),
        "median_px_at_512": float(np.nanmedian(errors)),
        "p90_px_at_512": float(np.nanpercentile(errors, 90)),
        "median_px_per_landmark_worst": float(np.nanmax(np.nanmedian(errors, axis=0))),
    })  # fmt: skip
    print(json.dumps(stats, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
