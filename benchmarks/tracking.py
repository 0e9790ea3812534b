"""Live tracking, end to end at 640x480: decode (OpenCV), landmarks (MediaPipe's face mesh,
video mode), solve (stylemm_runtime.tracking) and the avatar's mesh, per frame; and the
solver's ms per frame against the landmark detector's. Medians over several runs.

    python benchmarks/tracking.py --bundle out/realistic.smm [--runs 5] [--video FACE.mp4] [--solver-only]

The solver is timed twice, numpy (tracking.FaceSolver) and native (the C++ port behind the C
ABI, tracking.native_solver.NativeFaceSolver), on the same frames, warm-started, side by
side: on the clip's MediaPipe landmarks, and (also with --solver-only, which needs neither
MediaPipe nor the clip) on exact synthetic landmarks of the bundle's mean face turning its
head and moving its jaw.

The clip is rendered here (a random OpenHead identity turning its head and opening its
jaw, 640x480, written as H.264 or mp4v and decoded back). With --video, also on that
footage: the share of frames MediaPipe finds a face on that the tracker tracks (confidence
>= 0.3), and how far the fitted model's landmarks reproject from MediaPipe's (median, in
inter-ocular distances).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import stylemm_runtime
from stylemm_runtime.tracking import FaceTracker, TrackerSettings
from stylemm_runtime.tracking import rotations
from stylemm_runtime.tracking.cli import avatar_backend
from stylemm_runtime.tracking.native_solver import NativeFaceSolver
from stylemm_runtime.tracking.topology import inter_ocular

WIDTH, HEIGHT, FOV_Y = 640, 480, 45.0


def render_clip(path: Path, frames: int = 60, seed: int = 0) -> Path:
    """A test clip from the training side (torch): the runtime itself never needs this."""
    import cv2
    import torch

    from stylemm.facemodel import load
    from stylemm.render import MeshRenderer, orbit_camera
    from stylemm.textures import SkinTextures

    torch.set_num_threads(1)
    head = load("openhead")
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(frames) / 30.0
    neck = torch.stack([0.15 * torch.sin(2 * math.pi * t / 2.3), 0.45 * torch.sin(2 * math.pi * t / 3.1), torch.zeros(frames)], 1)
    expression = {"jawOpen": 0.5 + 0.5 * torch.sin(2 * math.pi * t / 1.3), "eyeBlinkLeft": (torch.sin(2 * math.pi * t / 1.7) > 0.9).float(),
                  "eyeBlinkRight": (torch.sin(2 * math.pi * t / 1.7) > 0.9).float()}  # fmt: skip
    renderer = MeshRenderer(head.faces, head.uvs, head.uv_faces)
    camera = orbit_camera([0.0], 0.0, distance=0.6, target=(0.0, 0.03, 0.02), width=WIDTH, height=HEIGHT, fov_y=FOV_Y)
    texture = SkinTextures(head, height=256, width=512).sample(1, g)
    shape = torch.randn(1, head.shape_dim, generator=g) * 0.8
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (WIDTH, HEIGHT))
    for start in range(0, frames, 8):
        index = slice(start, min(start + 8, frames))
        with torch.no_grad():
            vertices = head(shape=shape.expand(index.stop - index.start, -1), expression={k: v[index] for k, v in expression.items()},
                            pose={"neck": neck[index]})  # fmt: skip
            rgb = renderer(vertices, camera, texture=texture).rgb.permute(0, 2, 3, 1).clamp(0, 1).numpy()
        for image in (rgb * 255).round().astype(np.uint8):
            writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def end_to_end(bundle, clip: Path, runs: int) -> dict:
    import cv2

    from stylemm_runtime.tracking.landmarks import FaceMeshLandmarks

    model = stylemm_runtime.load(bundle)
    avatar = model.character(seed=0, backend=avatar_backend())
    tracker = FaceTracker(model, settings=TrackerSettings(fov_y_deg=FOV_Y))
    stages = {"decode": [], "track": [], "mesh": [], "frame": []}
    landmarks, detect_ms = [], []
    for run in range(runs + 1):  # the first run warms up (MediaPipe's graph, the caches)
        capture = cv2.VideoCapture(str(clip))
        while True:
            start = time.perf_counter()
            ok, bgr = capture.read()
            if not ok:
                break
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            decoded = time.perf_counter()
            result = tracker.track(rgb, time.perf_counter())
            tracked = time.perf_counter()
            avatar.mesh(expression=result.weights, pose=result.pose)
            done = time.perf_counter()
            if run:
                for name, value in (("decode", decoded - start), ("track", tracked - decoded), ("mesh", done - tracked), ("frame", done - start)):
                    stages[name].append(1000 * value)
                if run == 1:
                    landmarks.append((rgb, result.landmarks))
        capture.release()
    # The two halves of "track", timed apart on the same frames: the detector (video mode) and the solver.
    detector = FaceMeshLandmarks()
    for rgb, _ in landmarks:
        start = time.perf_counter()
        detector.detect(rgb)
        detect_ms.append(1000 * (time.perf_counter() - start))
    found = [points for _, points in landmarks if points is not None]
    solve_ms = solver_ms(tracker.solver, found, runs)
    median = {name: statistics.median(values) for name, values in stages.items()}
    return {"frames_per_run": len(landmarks), "runs": runs, "fps_end_to_end": 1000 / median["frame"],
            **{f"{name}_ms": round(value, 3) for name, value in median.items()},
            "detector_ms": round(statistics.median(detect_ms), 3), "solver_ms": solve_ms["numpy"],
            "native_solver_ms": solve_ms["native"], "avatar_backend": avatar.backend}  # fmt: skip


def solver_ms(solver, frames: list[np.ndarray], runs: int) -> dict:
    """Median ms per warm frame of the numpy solver and of the native one made from it (same
    model, camera and settings) over ``runs`` passes of ``frames`` (the first of each pass
    is the cold start, not timed); native None where the native core is not built."""
    solvers = {"numpy": solver}
    if stylemm_runtime.has_native():
        solvers["native"] = NativeFaceSolver(solver.model, solver.camera, solver.settings)
    times = {name: [] for name in solvers}
    for _ in range(runs):
        for name, s in solvers.items():  # alternated pass by pass: both see the same machine load
            s.reset()
            s.solve(frames[0])
            for points in frames[1:]:
                start = time.perf_counter()
                s.solve(points)
                times[name].append(1000 * (time.perf_counter() - start))
    return {"numpy": round(statistics.median(times["numpy"]), 4),
            "native": round(statistics.median(times["native"]), 4) if "native" in times else None}  # fmt: skip


def synthetic_solver(bundle, frames: int, runs: int) -> dict:
    """The two solvers on exact landmarks of the tracker's landmark model (no MediaPipe)."""
    model = stylemm_runtime.load(bundle)
    tracker = FaceTracker(model, settings=TrackerSettings(fov_y_deg=FOV_Y))
    tracker.track_landmarks(None, 0.0, WIDTH, HEIGHT)  # makes the solver for this camera
    solver, landmark_model = tracker.solver, tracker._landmark_model
    names = list(landmark_model.expression_names)
    points = []
    for i in range(frames):
        t = i / 30.0
        weights = np.zeros(len(names))
        weights[names.index("jawOpen")] = 0.5 + 0.5 * math.sin(2 * math.pi * t / 1.3)
        axis_angle = [0.15 * math.sin(2 * math.pi * t / 2.3), 0.45 * math.sin(2 * math.pi * t / 3.1), 0.0]
        posed = landmark_model.points(weights, rotations.exp(axis_angle), [0.0, -0.03, -0.6])
        points.append(solver.camera.project(posed))
    return {"frames_per_run": frames, "runs": runs, **{f"{k}_ms": v for k, v in solver_ms(solver, points, runs).items()},
            "expressions": len(names), "landmarks_fitted": int((solver.settings.landmark_weights > 0).sum())}  # fmt: skip


def footage(bundle, video: Path, fov: float) -> dict:
    """Tracked share and reprojection on real footage (no ground truth: MediaPipe is the reference)."""
    import cv2

    model = stylemm_runtime.load(bundle)
    tracker = FaceTracker(model, settings=TrackerSettings(fov_y_deg=fov))
    tracker.calibrate(15)
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    frames = seen = tracked = 0
    errors = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        result = tracker.track(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), frames / fps)
        frames += 1
        if result.landmarks is None:
            continue
        seen += 1
        tracked += result.confidence >= 0.3
        fit, solver = tracker.solver.last, tracker.solver
        projected = solver.camera.project(solver.model.points(fit.weights, fit.rotation, fit.translation))
        errors.append(np.median(np.linalg.norm(projected - result.landmarks[:, :2], axis=1)) / inter_ocular(result.landmarks))
    capture.release()
    if frames == 0:
        raise SystemExit(f"{video}: no frames could be decoded")
    return {"video": str(video), "frames": frames, "mediapipe_found": seen, "tracked": tracked,
            "tracked_share_of_found": tracked / max(seen, 1), "reprojection_median_iod": float(np.median(errors)) if errors else None}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", default="out/realistic.smm")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--video", help="also measure on this footage")
    parser.add_argument("--video-fov", type=float, default=45.0, help="that footage's vertical field of view (guess)")
    parser.add_argument("--solver-only", action="store_true", help="only the two solvers, on synthetic landmarks")
    args = parser.parse_args()
    report = {"solver_synthetic_640x480": synthetic_solver(args.bundle, args.frames, args.runs)}
    if not args.solver_only:
        with tempfile.TemporaryDirectory() as folder:
            clip = render_clip(Path(folder) / "clip.mp4", args.frames)
            report["end_to_end_640x480"] = end_to_end(args.bundle, clip, args.runs)
    if args.video:
        report["footage"] = footage(args.bundle, Path(args.video), args.video_fov)
    print(json.dumps(report, indent=2))
    print()
    synthetic = report["solver_synthetic_640x480"]
    rows = [("synthetic landmarks", synthetic["numpy_ms"], synthetic["native_ms"])]
    if "end_to_end_640x480" in report:
        e = report["end_to_end_640x480"]
        rows.append(("MediaPipe landmarks", e["solver_ms"], e["native_solver_ms"]))
    print(f"{'solver ms per warm frame':<26}{'numpy':>8}{'native':>8}{'numpy / native':>16}")
    for name, numpy_ms, native_ms in rows:
        native = "-" if native_ms is None else f"{native_ms:.3f}"
        ratio = "-" if native_ms is None else f"{numpy_ms / native_ms:.1f}x"
        print(f"{name:<26}{numpy_ms:>8.3f}{native:>8}{ratio:>16}")
    if "end_to_end_640x480" in report:
        e = report["end_to_end_640x480"]
        print(f"\nend to end: {e['fps_end_to_end']:.1f} fps ({e['frame_ms']:.1f} ms a frame: decode {e['decode_ms']:.1f}, "
              f"landmarks + solve {e['track_ms']:.1f}, avatar mesh {e['mesh_ms']:.2f}); solver {e['solver_ms']:.2f} ms vs "
              f"detector {e['detector_ms']:.1f} ms a frame ({e['detector_ms'] / e['solver_ms']:.0f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
