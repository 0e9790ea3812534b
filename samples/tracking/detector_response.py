"""Fit how MediaPipe's face mesh sees each expression unit of a source model, and write it
beside the tracker (runtime/stylemm_runtime/tracking/<model>_mediapipe_response.npz).

Why: MediaPipe's 478 points do not move with the skin as the geometry does. On OpenHead
renders it sees a blink at 1-45 % of its true lid motion, a pucker at 15 %, a nose sneer at
under 20 %, and puts much of the rest on other points. A fit of the true blend shapes to
its points therefore under-reads exactly the units its users complain about (blinks,
eyeWide, noseSneer). This script renders pairs of faces (random identity, texture and view;
neutral, then a few units at random weights), detects both, and fits per landmark the
displacement MediaPipe reports per unit of weight, through each view's camera (a linear
least-squares problem per landmark, with a ridge towards the true blend shapes where the
renders say little). The tracker adds (response - true basis) to a character's basis.
The neutral renders also give, per landmark, where MediaPipe puts the point in 3D (an
offset from the embedded surface point, fitted over all views: its depth decides how far
the head seems to turn, and MediaPipe's points sit flatter than the surface they ride on).

    python samples/tracking/detector_response.py   # the shipped file: 1,400 pairs at 320 px, seed 2000; about 10 minutes on 2 cores

Needs the training side (torch) and MediaPipe; the runtime only reads the .npz.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import time
from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).resolve().parents[2] / "runtime" / "stylemm_runtime" / "tracking"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="openhead")
    parser.add_argument("--pairs", type=int, default=1400)
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--seed", type=int, default=2000)
    parser.add_argument("--ridge", type=float, default=0.05, help="pull towards the true basis, per unit of weight")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    from stylemm.facemodel import load
    from stylemm.landmarks import load_embedding
    from stylemm.landmarks.detector import FaceMeshDetector
    from stylemm.render import MeshRenderer, orbit_camera
    from stylemm.textures import SkinTextures

    head = load(args.model)
    names = list(head.expression_names)
    e = len(names)
    embedding = load_embedding(head)
    renderer = MeshRenderer(head.faces, head.uvs, head.uv_faces)
    camera = orbit_camera([0.0], 0.0, distance=0.75, target=(0.0, 0.03, 0.02), width=args.size, height=args.size, fov_y=20.0)
    focal = (args.size / 2) / math.tan(math.radians(20.0) / 2)
    detector = FaceMeshDetector()
    skins = SkinTextures(head, height=128, width=256)
    g = torch.Generator().manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    true_basis = embedding.points(head.exprdirs, head.faces).double().numpy()  # (E, L, 3) at the mean shape
    rest_normal, rest_right = np.zeros((478, 3, 3)), np.zeros((478, 3))  # per landmark, for its rest offset
    rows = [[] for _ in range(478)]  # per landmark: (2, 3E) design rows
    targets = [[] for _ in range(478)]
    samples = []
    started = time.time()
    for pair in range(args.pairs):
        weights = np.zeros(e)
        active = rng.choice(e, rng.choice([1, 1, 2, 3]), replace=False)
        weights[active] = rng.uniform(0.3, 1.0, len(active))
        yaw, pitch = math.radians(rng.uniform(-30, 30)), math.radians(rng.uniform(-15, 15))
        neck = torch.tensor([[pitch, yaw, 0.0]], dtype=torch.float32)
        shape = torch.randn(1, head.shape_dim, generator=g) * 0.8
        expression = torch.tensor(np.stack([np.zeros(e), weights]), dtype=torch.float32)
        with torch.no_grad():
            vertices, joints = head.evaluate(shape=shape.expand(2, -1), expression=expression, pose={"neck": neck.expand(2, -1)})
            out = renderer(vertices, camera, texture=skins.sample(1, g))
            points = embedding.points(vertices, head.faces)[0].double().numpy()
        images = (out.rgb.permute(0, 2, 3, 1).clamp(0, 1).numpy() * 255).round().astype(np.uint8)
        found = detector.detect(images)
        if not np.isfinite(found).all():
            continue
        view = camera.view_matrix()[0].double().numpy()
        rotation = view[:3, :3] @ _rodrigues(neck[0].double().numpy())  # head frame -> camera frame
        in_camera = points @ view[:3, :3].T + view[:3, 3]
        projected = np.stack([args.size / 2 + focal * in_camera[:, 0] / -in_camera[:, 2],
                              args.size / 2 - focal * in_camera[:, 1] / -in_camera[:, 2]], 1)  # fmt: skip
        for landmark in range(478):
            x, y, z = in_camera[landmark]
            depth = -z
            projection = np.array([[focal / depth, 0, focal * x / depth**2], [0, -focal / depth, -focal * y / depth**2]])
            rows[landmark].append(np.kron(weights[None], projection @ rotation))  # (2, 3E): d pixels / d basis
            # Where MediaPipe puts the neutral point, seen from many views, as a 3D offset in the head frame.
            through = projection @ rotation
            rest_normal[landmark] += through.T @ through
            rest_right[landmark] += through.T @ (found[0, landmark] - projected[landmark])
            targets[landmark].append(found[1, landmark] - found[0, landmark])
        samples.append(weights)
        if pair % 40 == 0:
            print(f"{pair}/{args.pairs} pairs, {time.time() - started:.0f} s", flush=True)
    response = np.empty_like(true_basis)
    for landmark in range(478):
        a, b = np.concatenate(rows[landmark]), np.concatenate(targets[landmark])
        prior = true_basis[:, landmark].reshape(-1)  # (3E,) in the kron order: unit-major
        scale = np.linalg.norm(a, axis=0).mean() ** 2
        lhs = a.T @ a + args.ridge * scale * np.eye(3 * e)
        response[:, landmark] = np.linalg.solve(lhs, a.T @ b + args.ridge * scale * prior).reshape(e, 3)
    scale = np.trace(rest_normal, axis1=1, axis2=2)[:, None, None] / 3
    rest_correction = np.linalg.solve(rest_normal + 1e-3 * scale * np.eye(3), rest_right[..., None])[..., 0]
    digest = hashlib.sha256(np.ascontiguousarray(head.faces.numpy().astype(np.int64)).tobytes()).hexdigest()
    path = OUT / f"{args.model}_mediapipe_response.npz"
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, correction=(response - true_basis).astype(np.float32), rest_correction=rest_correction.astype(np.float32),
             names=np.array(names), faces_sha256=digest,
             pairs=len(samples), size=args.size)  # fmt: skip
    tmp.replace(path)
    print(f"wrote {path} from {len(samples)} pairs in {time.time() - started:.0f} s")


def _rodrigues(axis_angle: np.ndarray) -> np.ndarray:
    angle = np.linalg.norm(axis_angle)
    if angle < 1e-12:
        return np.eye(3)
    k = axis_angle / angle
    skew = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(angle) * skew + (1 - math.cos(angle)) * skew @ skew


if __name__ == "__main__":
    main()
