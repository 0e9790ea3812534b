"""Rendered performances with known expression weights and head pose: the tracker's ground
truth. The training side draws them (stylemm.facemodel, stylemm.render, the procedural skin
of stylemm.textures); the runtime tracker never imports any of it.

A performance is a few short "takes": the head turns (neck joint, yaw up to 30 degrees,
pitch up to 15) while one or two expression units rise and fall, with textures, lighting
and camera noise varying by take. The test in this file checks that the ground truth is
self-consistent: the embedded landmarks of the rendered mesh land on MediaPipe's points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch

# Units the issue names, with a partner that may move at the same time.
TAKES = [
    ("eyeBlinkLeft", "eyeBlinkRight"), ("jawOpen", None), ("mouthSmileLeft", "mouthSmileRight"),
    ("browInnerUp", None), ("mouthPucker", None), ("eyeWideLeft", "eyeWideRight"),
    ("noseSneerLeft", "noseSneerRight"), ("eyeLookDownLeft", "eyeLookDownRight"),
    ("eyeLookUpLeft", "eyeLookUpRight"), ("eyeLookInLeft", "eyeLookOutRight"), ("eyeLookOutLeft", "eyeLookInRight"),
    ("mouthSmileLeft", None), ("eyeBlinkLeft", None),
]  # fmt: skip
FOV_Y = 20.0
DISTANCE = 0.75
TARGET = (0.0, 0.03, 0.02)


@dataclass
class Performance:
    images: np.ndarray  # (T, H, W, 3) uint8
    times: np.ndarray  # (T,) seconds
    weights: np.ndarray  # (T, E) ground truth
    neck: np.ndarray  # (T, 3) axis-angle of the neck joint
    translation: np.ndarray  # (3,) camera-frame offset of the posed mesh
    landmarks: np.ndarray  # (T, 478, 2) exact projections of the embedded landmarks
    shape: np.ndarray  # (K,) the performer's identity
    names: list[str]


def _axis_angle(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """Yaw about +Y then pitch about +X, as one axis-angle vector."""
    from stylemm_runtime.tracking import rotations

    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    ry = np.array([[math.cos(yaw), 0, math.sin(yaw)], [0, 1, 0], [-math.sin(yaw), 0, math.cos(yaw)]])
    rx = np.array([[1, 0, 0], [0, math.cos(pitch), -math.sin(pitch)], [0, math.sin(pitch), math.cos(pitch)]])
    return rotations.log(ry @ rx)


def script(names: list[str], takes: list, frames_per_take: int, rng: np.random.Generator, neutral_frames: int = 0,
           max_yaw: float = 30.0, max_pitch: float = 15.0):  # fmt: skip
    """(weights (T, E), neck (T, 3)): neutral frames first (for calibration), then takes in
    which the unit rises to a random peak and falls while the head drifts between views."""
    rows, necks = [], []
    yaw, pitch = 0.0, 0.0
    for _ in range(neutral_frames):
        rows.append(np.zeros(len(names)))
        necks.append(_axis_angle(rng.uniform(-3, 3), rng.uniform(-2, 2)))
    for unit, partner in takes:
        peak = rng.uniform(0.6, 1.0)
        yaw_to, pitch_to = rng.uniform(-max_yaw, max_yaw), rng.uniform(-max_pitch, max_pitch)
        for f in range(frames_per_take):
            phase = math.sin(math.pi * (f + 0.5) / frames_per_take)
            row = np.zeros(len(names))
            row[names.index(unit)] = peak * phase
            if partner is not None:
                row[names.index(partner)] = peak * phase
            rows.append(row)
            a = (f + 1) / frames_per_take
            necks.append(_axis_angle(yaw + a * (yaw_to - yaw), pitch + a * (pitch_to - pitch)))
        yaw, pitch = yaw_to, pitch_to
    return np.array(rows), np.array(necks)


def render(head, weights: np.ndarray, neck: np.ndarray, size: int, seed: int, noise: float = 2.0,
           take_length: int | None = None) -> Performance:  # fmt: skip
    """Renders the scripted frames of one random performer at size x size pixels."""
    from stylemm.landmarks import load_embedding
    from stylemm.render import MeshRenderer, orbit_camera

    textures_module = pytest.importorskip("stylemm.textures")
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    shape = torch.randn(head.shape_dim, generator=g) * 0.8
    skins = textures_module.SkinTextures(head, height=128, width=256).sample(4, g)
    renderer = MeshRenderer(head.faces, head.uvs, head.uv_faces)
    camera = orbit_camera([0.0], 0.0, distance=DISTANCE, target=TARGET, width=size, height=size, fov_y=FOV_Y)
    embedding = load_embedding(head)
    images, landmarks = [], []
    take_length = take_length or len(weights)
    for start in range(0, len(weights), 8):
        index = slice(start, min(start + 8, len(weights)))
        count = index.stop - index.start
        with torch.no_grad():
            vertices = head(shape=shape.expand(count, -1), expression=torch.as_tensor(weights[index], dtype=torch.float32),
                            pose={"neck": torch.as_tensor(neck[index], dtype=torch.float32)})  # fmt: skip
            take = [(start + i) // take_length % len(skins) for i in range(count)]
            out = renderer(vertices, camera, texture=skins[take])
            landmarks.append(camera.project(embedding.points(vertices, head.faces)).numpy())
        rgb = out.rgb.permute(0, 2, 3, 1).numpy()
        # Lighting per take: a gain and a warm/cool tint; then sensor noise per frame.
        for i, t in enumerate(take):
            light = np.random.default_rng(seed * 101 + t)
            rgb[i] *= light.uniform(0.75, 1.1) * light.uniform(0.9, 1.1, 3)
        rgb = rgb + rng.normal(0, noise / 255, rgb.shape)
        images.append((rgb.clip(0, 1) * 255).round().astype(np.uint8))
    eye = camera.eye[0].numpy().astype(np.float64)
    return Performance(np.concatenate(images), np.arange(len(weights)) / 30.0, weights, neck, -eye,
                       np.concatenate(landmarks), shape.numpy(), list(head.expression_names))  # fmt: skip


@pytest.fixture(scope="session")
def linear_bundle(openhead, tmp_path_factory):
    """A bundle whose deformer is OpenHead itself (linear), so its characters are exactly
    the training side's faces and renders of them are exact ground truth."""
    from small_models import LinearDeformer
    from stylemm.nets.texture_generator import TextureGenerator, TextureGeneratorConfig
    from stylemm_export.bundle import write_bundle

    generator = TextureGenerator(TextureGeneratorConfig(height=8, z_dim=4, w_dim=4, mapping_layers=1, channel_base=8, channel_max=2))
    return write_bundle(tmp_path_factory.mktemp("tracking") / "linear.smm", openhead, LinearDeformer(openhead), generator, style="linear")



def test_the_rendered_ground_truth_lands_on_mediapipes_points(openhead):
    """Projected embedded landmarks within 5 % of the inter-ocular distance (median) of
    MediaPipe's detections: the renders and their ground truth agree."""
    from stylemm.landmarks.detector import FaceMeshDetector

    weights, neck = script(list(openhead.expression_names), TAKES[:2], 3, np.random.default_rng(0))
    performance = render(openhead, weights, neck, size=256, seed=1)
    detected = FaceMeshDetector().detect(performance.images)
    assert np.isfinite(detected).all()
    iod = np.linalg.norm(performance.landmarks[:, 33] - performance.landmarks[:, 263], axis=1)
    error = np.linalg.norm(detected - performance.landmarks, axis=-1) / iod[:, None]
    assert np.median(error) < 0.05
