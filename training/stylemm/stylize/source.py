"""The source side of a stylized pair: random realistic faces, drawn the paper's way (3.2).

Identity ``shape ~ N(0, I)``, sparse ARKit expressions (the rule D_src was distilled on,
``stylemm_runtime.baking.sample_expressions``), a little jaw / neck / eye pose, a texture
from G_src's latent ``texture_z`` and a random view (yaw +-35, pitch +-15 degrees). The
mesh is D_src's (unposed), posed by the model's own LBS with joints regressed from the
identity's neutral mesh (as the runtime does), and rendered with the project's renderer.

Every sample draws from its own generator, seeded by (seed, sample index): a sample is
the same whichever batch, shard or resumed run makes it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from stylemm.facemodel.lbs import joint_transforms, rodrigues, skin
from stylemm.render import MeshRenderer, orbit_camera
from stylemm.render.camera import Camera
from stylemm.stylize.faces import SourceFaces
from stylemm_runtime.baking import sample_expressions

# The framing the landmark embedding was made and measured with: the head fills most of
# the frame at the default 20 degree field of view.
HEAD_CENTRE = (0.0, 0.03, 0.02)
CAMERA_DISTANCE = 0.75
YAW_DEG, PITCH_DEG = 35.0, 15.0
# Pose ranges in radians. Small on purpose: the view already turns the head, and
# MediaPipe (the paper's X-Pose) must still find the face.
JAW_OPEN_MAX = 0.12  # about 7 degrees on top of the jawOpen blendshape
NECK_STD = (0.06, 0.08, 0.04)  # pitch, yaw, roll (about 3-5 degrees)
EYE_YAW_MAX, EYE_PITCH_MAX = 0.25, 0.15  # both eyes look the same way


@dataclass
class SourceSampler:
    """Draws and renders random source faces for one face model and its source networks.

    model: the FaceModel (topology, UVs, rig); deformer / texture_generator: D_src and G_src
    (a style pack's ``.deformer`` and ``.texture_generator``); backend: the renderer's
    (``stylemm.render.backends``; ``cpu-reference`` only to time the fast path against).
    """

    model: torch.nn.Module
    deformer: torch.nn.Module
    texture_generator: torch.nn.Module
    size: int = 256
    backend: str = "auto"

    def __post_init__(self):
        # No part labels: the source side keeps only the image (the masks are the stylized mesh's).
        self.renderer = MeshRenderer(self.model.faces, self.model.uvs, self.model.uv_faces, backend=self.backend)

    def parameters(self, seed: int, indices: Sequence[int]) -> dict:
        """Every random choice of the samples ``indices``: shape, expression, pose, texture_z, view."""
        draws = [self._draw(np.random.default_rng([seed, int(i)])) for i in indices]
        stack = lambda key: torch.from_numpy(np.stack([d[key] for d in draws]))  # noqa: E731
        return {
            "shape": stack("shape"),
            "expression": stack("expression"),
            "pose": {joint: torch.from_numpy(np.stack([d["pose"][joint] for d in draws])) for joint in draws[0]["pose"]},
            "texture_z": stack("texture_z"),
            "yaw": stack("yaw"),
            "pitch": stack("pitch"),
        }

    def _draw(self, rng: np.random.Generator) -> dict:
        # The order of the draws is part of the format: changing it changes every dataset.
        model = self.model
        shape = rng.standard_normal(model.shape_dim).astype(np.float32)
        expression = sample_expressions(model.expression_names, 1, rng, model.expression_range is not None)[0]
        texture_z = rng.standard_normal(self.texture_generator.config.z_dim).astype(np.float32)
        yaw, pitch = rng.uniform(-YAW_DEG, YAW_DEG), rng.uniform(-PITCH_DEG, PITCH_DEG)
        eye = [rng.uniform(-EYE_PITCH_MAX, EYE_PITCH_MAX), rng.uniform(-EYE_YAW_MAX, EYE_YAW_MAX), 0.0]
        pose = {
            "neck": rng.normal(0.0, NECK_STD),
            "jaw": [rng.uniform(0.0, JAW_OPEN_MAX), 0.0, 0.0],  # +x opens the jaw
            "left_eye": eye,
            "right_eye": eye,
        }
        pose = {joint: np.asarray(value, np.float32) for joint, value in pose.items() if joint in model.joint_names}
        return {"shape": shape, "expression": expression, "texture_z": texture_z, "pose": pose,
                "yaw": np.float32(yaw), "pitch": np.float32(pitch)}  # fmt: skip

    def sample(self, seed: int, indices: Sequence[int]) -> SourceFaces:
        """The source faces ``indices`` of the run with ``seed``, rendered at ``size``."""
        return self.render(self.parameters(seed, indices))

    @torch.no_grad()
    def render(self, p: dict) -> SourceFaces:
        """Source faces from ``parameters(...)``: D_src's mesh, posed; G_src's texture; rendered."""
        vertices = posed_vertices(self.model, self.deformer, p["shape"], p["expression"], p["pose"])
        texture = self.texture_generator.texture(p["texture_z"])  # constant noise: a latent is one texture
        camera = view_camera(p["yaw"], p["pitch"], self.size)
        images = self.renderer(vertices, camera, texture=texture).rgb.clamp(0, 1)
        return SourceFaces(shape=p["shape"], expression=p["expression"], pose=p["pose"], texture_z=p["texture_z"],
                           texture=texture, camera=camera, vertices=vertices, images=images)  # fmt: skip


def sample_source_faces(model, deformer, texture_generator, seed: int, indices: Sequence[int], size: int = 256) -> SourceFaces:
    """One-call form of ``SourceSampler(...).sample(seed, indices)``."""
    return SourceSampler(model, deformer, texture_generator, size).sample(seed, indices)


def view_camera(yaw_deg: torch.Tensor, pitch_deg: torch.Tensor, size: int) -> Camera:
    """The pair's camera: an orbit around the head at the embedding's framing."""
    return orbit_camera(yaw_deg, pitch_deg, distance=CAMERA_DISTANCE, target=HEAD_CENTRE, width=size, height=size)


def posed_vertices(model, deformer, shape: torch.Tensor, expression: torch.Tensor, pose: dict) -> torch.Tensor:
    """D's unposed mesh, posed by the model's LBS. The joints come from D's neutral mesh of
    the identity (expressions do not move them), as in ``stylemm_runtime``."""
    batch = len(shape)
    meshes = deformer(torch.cat([shape, shape]), torch.cat([expression, torch.zeros_like(expression)]))
    return pose_mesh(model, meshes[:batch], meshes[batch:], pose)


def pose_mesh(model, unposed: torch.Tensor, neutral: torch.Tensor, pose: dict) -> torch.Tensor:
    """(B, N, 3) unposed vertices -> posed, joints regressed from ``neutral`` (B, N, 3)."""
    rest_joints = torch.einsum("jn,bnc->bjc", model.joint_regressor, neutral)
    rotations = rodrigues(pose_tensor(model, pose, len(unposed)))
    _, transforms = joint_transforms(rest_joints, model.parents, rotations)
    return skin(unposed, model.lbs_weights, transforms)


def pose_tensor(model, pose: dict, batch: int) -> torch.Tensor:
    """{joint: (B, 3) or (3,)} -> (B, J, 3) axis-angle in the model's joint order, zero where missing."""
    unknown = sorted(set(pose) - set(model.joint_names))
    if unknown:
        raise ValueError(f"unknown joint(s) {unknown}; this model has {model.joint_names}")
    zero = torch.zeros(batch, 3)
    return torch.stack([torch.as_tensor(pose.get(j, zero), dtype=torch.float32).reshape(-1, 3).expand(batch, 3)
                        for j in model.joint_names], 1)  # fmt: skip


def head_rotation(model, faces: SourceFaces) -> torch.Tensor:
    """(B, 3) axis-angle of the head as the camera sees it: the view rotation after the
    global and neck joints (the EAM's rotation condition). An orbit camera at yaw 0 and
    pitch 0 has the identity view rotation, so a frontal, upright head gives zero."""
    rotations = rodrigues(pose_tensor(model, faces.pose, len(faces)))
    head = torch.eye(3).expand(len(faces), 3, 3)
    for joint in ("global", "neck"):
        if joint in model.joint_names:
            head = head @ rotations[:, model.joint_names.index(joint)]
    return matrix_to_axis_angle(faces.camera.view_matrix()[:, :3, :3] @ head)


def matrix_to_axis_angle(matrix: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotations -> (..., 3) axis-angle (angles below pi)."""
    cos = ((matrix.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1)
    angle = torch.acos(cos)
    axis = torch.stack([matrix[..., 2, 1] - matrix[..., 1, 2], matrix[..., 0, 2] - matrix[..., 2, 0],
                        matrix[..., 1, 0] - matrix[..., 0, 1]], -1)  # fmt: skip
    scale = torch.where(angle > 1e-6, angle / (2 * torch.sin(angle).clamp(min=1e-12)), torch.full_like(angle, 0.5))
    return axis * scale[..., None]


def camera_record(camera: Camera, index: int) -> dict:
    """One sample's camera as plain JSON: enough to rebuild it exactly (``camera_from_record``)."""
    eye, target = torch.atleast_2d(camera.eye)[index], torch.atleast_2d(camera.target)[index]
    offset = (eye - target).double()
    distance = float(offset.norm())
    return {
        "eye": [short_float(x) for x in eye.tolist()],
        "target": [short_float(x) for x in target.tolist()],
        "yaw_deg": math.degrees(math.atan2(float(offset[0]), float(offset[2]))),
        "pitch_deg": math.degrees(math.asin(float(offset[1]) / distance)),
        "fov_y": camera.fov_y,
        "width": camera.width,
        "height": camera.height,
        "near": camera.near,
        "far": camera.far,
    }


def short_float(x) -> float:
    """The shortest decimal that reads back as the same float32: exact, and short in JSON."""
    return float(str(np.float32(x)))  # numpy prints float32 as its shortest round-trip decimal


def camera_from_records(records: list[dict]) -> Camera:
    """A batched Camera from ``camera_record`` dicts (their intrinsics must agree)."""
    intrinsics = {key: records[0][key] for key in ("fov_y", "width", "height", "near", "far")}
    if any({key: r[key] for key in intrinsics} != intrinsics for r in records):
        raise ValueError("these samples were rendered with different intrinsics; batch them separately")
    eye = torch.tensor([r["eye"] for r in records], dtype=torch.float32)
    target = torch.tensor([r["target"] for r in records], dtype=torch.float32)
    return Camera(eye=eye, target=target, **intrinsics)
