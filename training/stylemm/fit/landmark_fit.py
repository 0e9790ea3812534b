"""478 landmarks of one photo -> camera-frame head pose, identity shape and expression.

The runtime's tracking solver (``stylemm_runtime.tracking.solver``, numpy) already fits head
pose and bounded expression weights to MediaPipe's landmarks through a pinhole camera. The
landmarks are the shipped embedding's surface points as they are: the tracker's measured
MediaPipe response (detector_response) was fitted to expressions, and on renders with known
shape it changed the identity's error either way (with it / without: 2.28 / 2.16 mm on 12
faces, 1.93 / 2.09 on 10 others), and the photometric step's landmark term must see the
same points.

What one photo adds is the identity: eos's alternation, with the source model's linear shape
space (the landmarks are linear in ``shape``, the neck pivot too, because joints are
regressed from the neutral mesh). Each round:

1. the solver fits pose + expression, cold, to the landmark model of the current shape;
2. Gauss-Newton on pose and shape together, expression fixed, with the N(0, I) prior on
   shape: together, because head size and distance trade off and an alternation between
   them would crawl along that valley.

Residuals are in inter-ocular distances with the solver's per-landmark weights, so the
prior's weight means the same at every resolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from stylemm.landmarks import load_embedding
from stylemm_runtime.tracking import rotations
from stylemm_runtime.tracking.landmark_model import HEAD_JOINT, Embedding, LandmarkModel
from stylemm_runtime.tracking.solver import FaceSolver, PinholeCamera, SolverSettings, _projection_jacobian
from stylemm_runtime.tracking.topology import inter_ocular, landmark_weights


@dataclass(frozen=True)
class Rig:
    """The arrays of a FaceModel that the runtime's landmark model reads (its bundle ``Model`` names)."""

    faces: np.ndarray
    joint_names: list
    parents: list
    skin_weights: np.ndarray
    expression_names: list

    @classmethod
    def of(cls, model) -> Rig:
        return cls(model.faces.numpy(), list(model.joint_names), list(model.parents), model.lbs_weights.double().numpy(),
                   list(model.expression_names))  # fmt: skip


@dataclass
class FitSettings:
    # Weight of the N(0, I) shape prior against the landmark residuals (squared inter-ocular
    # distances summed over the weighted landmarks). Chosen on rendered faces with known
    # shape (benchmarks/fit.py): smaller lets MediaPipe's systematic errors into the shape.
    shape_prior: float = 0.02
    rounds: int = 6
    shape_iterations: int = 3
    solver: SolverSettings = field(default_factory=lambda: SolverSettings(cold_iterations=20))


@dataclass
class LandmarkFit:
    shape: np.ndarray  # (K,) identity
    expression: np.ndarray  # (E,) ARKit weights in [0, 1]
    rotation: np.ndarray  # (3, 3) of the neck joint, camera frame
    translation: np.ndarray  # (3,) metres, camera frame (camera at the origin looking down -Z)
    camera: PinholeCamera
    points: np.ndarray  # (478, 2) the fitted landmarks, reprojected (pixels)

    @property
    def pose(self) -> dict:
        """The runtime's pose convention: ``character.mesh(pose=fit.pose) + fit.translation``."""
        return {HEAD_JOINT: rotations.log(self.rotation)}

    def errors(self, landmarks: np.ndarray) -> np.ndarray:
        """(478,) distance of each reprojected landmark from the detected one, in inter-ocular distances."""
        return np.linalg.norm(self.points - landmarks[:, :2], axis=1) / inter_ocular(landmarks[:, :2])

    def yaw_deg(self) -> float:
        """How far the face turns from the camera (0: frontal), from the head's forward axis."""
        forward = self.rotation @ np.array([0.0, 0.0, 1.0])
        return float(np.degrees(np.arctan2(forward[0], forward[2])))


class LandmarkFitter:
    """``fit(landmarks, camera) -> LandmarkFit`` for one source FaceModel."""

    def __init__(self, model, settings: FitSettings | None = None):
        self.settings = settings or FitSettings()
        self.rig = Rig.of(model)
        embedding = load_embedding(model)
        self.embedding = Embedding.of(embedding)
        self.template = model.template.double().numpy()
        self.shapedirs = model.shapedirs.double().numpy()  # (K, N, 3)
        self.exprdirs = model.exprdirs.double().numpy()  # (E, N, 3)
        self.regressor = model.joint_regressor.double().numpy()[model.joint_names.index(HEAD_JOINT)]  # (N,)
        faces = self.rig.faces
        self.shape_points = self.embedding.points(self.shapedirs, faces)  # (K, L, 3): landmarks per shape unit
        self.shape_pivot = np.einsum("n,knc->kc", self.regressor, self.shapedirs)  # (K, 3): the neck pivot per unit
        self.weights = landmark_weights()

    def landmark_model(self, shape: np.ndarray) -> LandmarkModel:
        """The solver's model for identity ``shape``: neutral + expression deltas at the landmarks."""
        neutral = self.template + np.tensordot(shape, self.shapedirs, axes=1)
        rest_joints = np.zeros((len(self.rig.joint_names), 3))
        rest_joints[self.rig.joint_names.index(HEAD_JOINT)] = self.regressor @ neutral
        return LandmarkModel.from_morphs(self.rig, neutral, self.exprdirs, rest_joints, self.embedding)

    def fit(self, landmarks: np.ndarray, camera: PinholeCamera) -> LandmarkFit:
        """landmarks: (478, 2 or 3) pixels of ``camera``'s image (MediaPipe's depth column seeds the rotation)."""
        landmarks = np.asarray(landmarks, np.float64)
        shape = np.zeros(len(self.shapedirs))
        for _ in range(self.settings.rounds):
            solver = FaceSolver(self.landmark_model(shape), camera, self.settings.solver)
            pose = solver.solve(landmarks)
            shape = self._shape_step(landmarks[:, :2], camera, shape, pose)
        # A last cold solve of pose and expression on the final shape's landmark model.
        solver = FaceSolver(self.landmark_model(shape), camera, self.settings.solver)
        final = solver.solve(landmarks)
        points = camera.project(solver.model.points(final.weights, final.rotation, final.translation))
        return LandmarkFit(shape.astype(np.float32), final.weights.astype(np.float32), final.rotation, final.translation,
                           camera, points)  # fmt: skip

    def _shape_step(self, observed, camera, shape, pose) -> np.ndarray:
        """Gauss-Newton on (rotation increment, translation, shape) with the expression held."""
        rotation, translation = pose.rotation, pose.translation
        row = np.sqrt(self.weights)[:, None] / max(inter_ocular(observed), 1e-6)
        k = len(shape)
        prior = self.settings.shape_prior
        for _ in range(self.settings.shape_iterations):
            current = self.landmark_model(shape)
            h = current.head_weight[:, None]
            unposed = current.rest + np.tensordot(pose.weights, current.basis, axes=1)
            turned = (unposed - current.pivot) @ rotation.T
            points = h * (turned + current.pivot) + (1 - h) * unposed + translation
            residual = (camera.project(points) - observed) * row
            projection = _projection_jacobian(points, camera.focal) * row[:, :, None]  # (L, 2, 3)
            # d points / d shape_k: the landmark moves with u_k, the pivot with p_k.
            moved = self.shape_points - self.shape_pivot[:, None, :]  # (K, L, 3)
            posed_dirs = h[None] * (moved @ rotation.T + self.shape_pivot[:, None, :]) + (1 - h[None]) * self.shape_points
            jacobian = np.empty((len(points), 2, 6 + k))
            jacobian[:, :, :3] = h[:, :, None] * np.cross(turned[:, None, :], projection)
            jacobian[:, :, 3:6] = projection
            jacobian[:, :, 6:] = np.einsum("lij,klj->lik", projection, posed_dirs)
            jacobian = jacobian.reshape(-1, 6 + k)
            hessian = jacobian.T @ jacobian
            gradient = jacobian.T @ residual.reshape(-1)
            hessian[np.arange(6, 6 + k), np.arange(6, 6 + k)] += prior
            hessian[np.arange(6), np.arange(6)] += 1e-9
            gradient[6:] += prior * shape
            step = np.linalg.solve(hessian, -gradient)
            rotation = rotations.exp(step[:3]) @ rotation
            translation = translation + step[3:6]
            shape = shape + step[6:]
        return shape


    @staticmethod
    def landmark_points(model, vertices: torch.Tensor) -> np.ndarray:
        """(478, 3) the embedded landmarks of one mesh (N, 3)."""
        return load_embedding(model).points(vertices[None], model.faces)[0].numpy()


def neutral_vertices(model, shape) -> torch.Tensor:
    """(N, 3) the source model's neutral mesh of ``shape`` (what the fit's accuracy is measured on)."""
    return model.neutral(torch.as_tensor(np.asarray(shape, np.float32))[None])[0]
