"""stylemm-fit: the time per stage on a real photo, and the accuracy on renders with known
parameters (docs/fit.md has a run's numbers).

    python benchmarks/fit.py [--photo tests/data/fit/astronaut.jpg] [--style orc] [--runs 3]
    python benchmarks/fit.py --measure 20 [--seed 11] [--json out.json]

Timing: ``fit_photo`` + ``save_fit`` on the photo, on this machine's threads (--threads, 2 by
default); medians per stage over --runs. Also the landmarks' reprojection error on it.

--measure N: N source faces (random identity, expression, small jaw / neck / eye pose,
G_src texture, a view within yaw +-35 / pitch +-15 degrees) rendered at 512 px by the
project's renderer, read by MediaPipe and fitted; the fitted neutral shape's vertex error
against the true one (stylemm.fit.accuracy: the face region after a similarity alignment,
as NoW measures, and raw), after the landmark fit and after the photometric refinement,
with the mean face (shape 0) as the floor to beat.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
RENDER_SIZE, RENDER_FOV = 512, 20.0  # stylemm.stylize.source's framing


def timing(photo: str, style: str, runs: int) -> dict:
    from stylemm.fit import fit_photo
    from stylemm_export.fit_output import save_fit

    stages, totals, errors = {}, [], []
    for _ in range(runs):
        start = time.perf_counter()
        result = fit_photo(photo, style=style, progress=False)
        with tempfile.TemporaryDirectory() as folder:
            save_fit(result, Path(folder) / "out")
        totals.append(time.perf_counter() - start)
        errors.append(result.landmark_error)
        for name, seconds in result.times.items():
            stages.setdefault(name, []).append(seconds)
    return {"photo": photo, "style": style, "runs": runs, "total_s": statistics.median(totals),
            "stages_s": {k: statistics.median(v) for k, v in stages.items()}, "landmark_error_iod": statistics.median(errors)}  # fmt: skip


def measure(count: int, seed: int) -> dict:
    from stylemm import load_pack
    from stylemm.facemodel import load
    from stylemm.fit.accuracy import known_renders, shape_error
    from stylemm.fit.landmark_fit import LandmarkFitter
    from stylemm.fit.photo import detect_face
    from stylemm.fit.photometric import PhotometricFitter
    from stylemm.stylize.detection import to_uint8
    from stylemm_runtime.tracking.solver import PinholeCamera

    model, pack = load("openhead"), load_pack("realistic")
    faces = known_renders(model, pack, seed, count, RENDER_SIZE)
    images = to_uint8(faces.images)
    camera = PinholeCamera.from_fov(RENDER_SIZE, RENDER_SIZE, RENDER_FOV)
    landmark_fitter, photometric_fitter = LandmarkFitter(model), PhotometricFitter(model, pack.texture_generator)
    rows = []
    for i, image in enumerate(images):
        truth = faces.shape[i].numpy()
        landmarks, _ = detect_face(image)
        start = landmark_fitter.fit(landmarks, camera)
        refined = photometric_fitter.fit(image, landmarks, start)
        rows.append({"landmark": shape_error(model, start.shape, truth), "photometric": shape_error(model, refined.shape, truth),
                     "mean_face": shape_error(model, np.zeros_like(truth), truth),
                     "reprojection_iod": float(np.median(start.errors(landmarks)))})  # fmt: skip
        print(f"  face {i}: aligned {rows[-1]['landmark'].aligned_mm:.2f} -> {rows[-1]['photometric'].aligned_mm:.2f} mm "
              f"(mean face {rows[-1]['mean_face'].aligned_mm:.2f})", file=sys.stderr, flush=True)  # fmt: skip
    summary = {"count": count, "seed": seed, "size_px": RENDER_SIZE}
    for stage in ("mean_face", "landmark", "photometric"):
        for key in ("aligned_mm", "raw_mm", "all_raw_mm"):
            values = [getattr(r[stage], key) for r in rows]
            summary[f"{stage}.{key}"] = {"mean": float(np.mean(values)), "median": float(np.median(values))}
    summary["reprojection_iod_median"] = float(np.median([r["reprojection_iod"] for r in rows]))
    return summary


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photo", default=str(ROOT / "tests/data/fit/astronaut.jpg"))
    p.add_argument("--style", default="orc")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--measure", type=int, metavar="N", help="measure the shape error on N known-parameter renders instead")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype")
    result = measure(args.measure, args.seed) if args.measure else timing(args.photo, args.style, args.runs)
    result["threads"] = args.threads
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
