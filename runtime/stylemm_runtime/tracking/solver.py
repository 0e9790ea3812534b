"""One frame of landmarks -> head rotation, translation and expression weights.

The fit is Gauss-Newton on the reprojection error of the character's landmark model
(landmark_model.LandmarkModel) through a pinhole camera, jointly in the head pose (a
rotation increment and a translation, unbounded) and the expression weights (bounded to
[0, 1]); each step is a box-constrained quadratic (bounded.solve_box_qp). Residuals are
measured in inter-ocular distances and weighted per landmark (topology.landmark_weights),
so the same settings hold at every resolution. Two priors keep unobservable units quiet
and the answer steady: a small pull of every weight to 0 and a pull to the previous
frame's weights; the solve starts from the previous frame (warm start).
The first frame (or the first after the face was lost) starts from a similarity Procrustes
of MediaPipe's own 3D points onto the rest landmarks, as MediaPipe's face geometry does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from stylemm_runtime.tracking import rotations
from stylemm_runtime.tracking.bounded import solve_box_qp
from stylemm_runtime.tracking.landmark_model import LandmarkModel
from stylemm_runtime.tracking.topology import EYE_CORNERS, EYELIDS, LEFT_IRIS, RIGHT_IRIS, inter_ocular, landmark_weights


@dataclass(frozen=True)
class PinholeCamera:
    """Camera at the origin looking down -Z, +Y up (OpenGL, glTF axes); pixel (0, 0) at the
    top left and the optical axis through the image centre, as stylemm.render's cameras."""

    width: int
    height: int
    focal: float  # pixels

    @classmethod
    def from_fov(cls, width: int, height: int, fov_y_deg: float) -> PinholeCamera:
        return cls(width, height, (height / 2) / math.tan(math.radians(fov_y_deg) / 2))

    def project(self, points: np.ndarray) -> np.ndarray:
        """(L, 3) camera-space points -> (L, 2) pixels."""
        depth = -points[:, 2]
        return np.stack([self.width / 2 + self.focal * points[:, 0] / depth,
                         self.height / 2 - self.focal * points[:, 1] / depth], 1)  # fmt: skip


@dataclass
class SolverSettings:
    """How hard the fit pulls where the landmarks say little (see the module docstring)."""

    weight_prior: float = 1e-2  # pull of every weight to 0, per unit, in squared inter-ocular distances
    temporal_prior: float = 5e-3  # pull to the previous frame's weights
    sparsity: float = 1e-2  # an L1 cost per unit of weight: one unit explains a motion rather than several
    # A cost on a unit per unit of its antagonist's previous weight (eyeLookIn / eyeLookOut,
    # mouthLeft / mouthRight, ...): opposite units cancel at the landmarks, so without it
    # both rise together.
    antagonist: float = 0.1
    # Eye openness (lid gap over eye width, against the rest face's) below which MediaPipe's
    # iris points are guesses: the iris stops counting and the gaze holds through the blink.
    iris_open: tuple[float, float] = (0.35, 0.7)
    iterations: int = 1  # Gauss-Newton steps on a warm frame: one suffices at 30 fps (docs/tracking.md)
    cold_iterations: int = 12  # on the first frame (or after the face was lost)
    landmark_weights: np.ndarray = field(default_factory=landmark_weights)


@dataclass
class Fit:
    rotation: np.ndarray  # (3, 3) of the neck joint
    translation: np.ndarray  # (3,) metres, camera frame
    weights: np.ndarray  # (E,) in [0, 1]
    rms: float  # weighted RMS reprojection error, inter-ocular distances

    @property
    def axis_angle(self) -> np.ndarray:
        return rotations.log(self.rotation)


class FaceSolver:
    """``solve(landmarks_px) -> Fit`` frame by frame, warm-started; ``reset()`` after a loss.
    backend="native" (or settings whose ``backend`` is "native", such as
    native_solver.NativeSolverSettings) makes a native_solver.NativeFaceSolver: the same fit in
    the native core."""

    def __new__(cls, model=None, camera=None, settings=None, backend: str | None = None):
        if cls is FaceSolver and (backend or getattr(settings, "backend", "numpy")) == "native":
            from stylemm_runtime.tracking.native_solver import NativeFaceSolver

            return super().__new__(NativeFaceSolver)  # Python then runs NativeFaceSolver.__init__
        return super().__new__(cls)

    def __init__(self, model: LandmarkModel, camera: PinholeCamera, settings: SolverSettings | None = None,
                 backend: str | None = None):  # fmt: skip
        if (backend or "numpy") not in ("numpy", "native"):
            raise ValueError(f"backend must be 'numpy' or 'native', got {backend!r}")
        self.camera = camera
        self.settings = settings or SolverSettings()
        if len(self.settings.landmark_weights) != model.num_landmarks:
            raise ValueError(f"{len(self.settings.landmark_weights)} landmark weights for {model.num_landmarks} landmarks")
        self.model = model
        self.last: Fit | None = None

    @property
    def model(self) -> LandmarkModel:
        return self._model

    @model.setter
    def model(self, model: LandmarkModel) -> None:
        """A new landmark model (a calibration's); what the fit derives from it follows."""
        self._model = model
        self._used = np.flatnonzero(self.settings.landmark_weights > 0)
        self._basis = np.ascontiguousarray(model.basis.transpose(1, 2, 0)[self._used])
        self._rest, self._head = model.rest[self._used], model.head_weight[self._used, None]
        self._rest_openness = {side: _openness(model.rest, side) for side in EYELIDS}
        names = model.expression_names
        self._opposed = _antagonists(names)
        self._gaze = {side: np.array([n.startswith("eyeLook") and n.endswith(side.title()) for n in names]) for side in EYELIDS}

    def reset(self) -> None:
        self.last = None

    def solve(self, landmarks: np.ndarray, mask: np.ndarray | None = None) -> Fit:
        """landmarks (L, 2) pixels, or (L, 3) with MediaPipe's relative depth (pixels, larger
        = further), which only seeds the first frame's rotation. mask (E,) bool: the units
        the fit may move (the others stay at 0)."""
        landmarks = np.asarray(landmarks, np.float64)
        if landmarks.shape not in ((self.model.num_landmarks, 2), (self.model.num_landmarks, 3)):
            raise ValueError(f"landmarks must be ({self.model.num_landmarks}, 2 or 3) pixels, got {landmarks.shape}")
        if not np.isfinite(landmarks).all():
            raise ValueError("landmarks contain NaN or Inf")
        e = len(self.model.expression_names)
        if self.last is None:
            rotation, translation = self._initial_pose(landmarks)
            weights, previous, iterations = np.zeros(e), None, self.settings.cold_iterations
        else:
            rotation, translation = self.last.rotation, self.last.translation
            weights, previous, iterations = self.last.weights, self.last.weights, self.settings.iterations
        free = np.ones(e, bool) if mask is None else np.asarray(mask, bool)
        landmark_weight, hold = self._eye_trust(landmarks, previous is not None)
        fit = self._gauss_newton(landmarks[:, :2], rotation, translation, weights * free, previous, free, hold,
                                 landmark_weight, iterations)  # fmt: skip
        self.last = fit
        return fit

    def _initial_pose(self, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rest = self.model.rest - self.model.pivot
        cam = self.camera
        if landmarks.shape[1] == 3:
            # Image axes (x right, y down, z away) to camera axes (x right, y up, z towards us).
            observed = landmarks * np.array([1.0, -1.0, -1.0])
            rotation, _, _ = rotations.align(rest, observed, self.settings.landmark_weights)
        else:
            rotation = np.eye(3)
        # Depth from the face's size in the image, then the translation that puts its centre
        # on the observed centre; Gauss-Newton refines both.
        turned = rest @ rotation.T
        model_size = np.linalg.norm(turned[:, :2] - turned[:, :2].mean(0), axis=1).mean()
        image_size = np.linalg.norm(landmarks[:, :2] - landmarks[:, :2].mean(0), axis=1).mean()
        depth = cam.focal * model_size / image_size
        centre = landmarks[:, :2].mean(0)
        ray = np.array([(centre[0] - cam.width / 2) / cam.focal, -(centre[1] - cam.height / 2) / cam.focal, -1.0])
        translation = ray * depth - turned.mean(0) - self.model.pivot
        return rotation, translation

    def _eye_trust(self, landmarks: np.ndarray, warm: bool) -> tuple[np.ndarray, np.ndarray]:
        """Per-landmark weights with each iris scaled by how open its eye is, and the units
        to hold at the previous frame's value (the gaze of a closing eye)."""
        weights = self.settings.landmark_weights.copy()
        hold = np.zeros(len(self.model.expression_names), bool)
        low, high = self.settings.iris_open
        for side, iris in (("left", LEFT_IRIS), ("right", RIGHT_IRIS)):
            trust = float(np.clip((_openness(landmarks, side) / self._rest_openness[side] - low) / (high - low), 0, 1))
            weights[iris] *= trust
            if warm and trust < 0.5:
                hold |= self._gaze[side]
        return weights, hold

    def _gauss_newton(self, observed, rotation, translation, weights, previous, free, hold, landmark_weight,
                      iterations) -> Fit:  # fmt: skip
        m, s, cam = self.model, self.settings, self.camera
        e = len(weights)
        used = self._used  # landmarks with a weight: the rows of the fit
        basis, rest, h = self._basis, self._rest, self._head  # those landmarks' model; basis (L, 3, E)
        row_weight = np.sqrt(landmark_weight[used])[:, None] / _inter_ocular(observed)  # in inter-ocular distances
        observed = observed[used]
        # (1e-9: a unit no landmark sees, such as tongueOut, must not make the system singular)
        prior = np.full(e, s.weight_prior + 1e-9) + (0.0 if previous is None else s.temporal_prior)
        lower = np.full(6 + e, -np.inf)
        upper = np.full(6 + e, np.inf)
        for _ in range(iterations):
            unposed = rest + basis @ weights
            turned = (unposed - m.pivot) @ rotation.T
            points = h * (turned + m.pivot) + (1 - h) * unposed + translation
            residual = (cam.project(points) - observed) * row_weight  # (L, 2)
            projection = _projection_jacobian(points, cam.focal) * row_weight[:, :, None]  # (L, 2, 3)
            jacobian = np.empty((len(points), 2, 6 + e))
            # The rotation increment multiplies on the left: d points = h * (increment x turned),
            # and a . (d x q) = d . (q x a).
            jacobian[:, :, :3] = h[:, :, None] * np.cross(turned[:, None, :], projection)
            jacobian[:, :, 3:6] = projection
            # d points / d weights = (h R + (1 - h) I) basis, per landmark.
            through = h[:, :, None] * (projection @ rotation) + (1 - h[:, :, None]) * projection  # (L, 2, 3)
            jacobian[:, :, 6:] = through @ basis
            jacobian = jacobian.reshape(-1, 6 + e)
            hessian = jacobian.T @ jacobian
            gradient = jacobian.T @ residual.reshape(-1)
            gradient[6:] += s.weight_prior * weights + s.sparsity + s.antagonist * self._opposed @ weights
            if previous is not None:
                gradient[6:] += s.temporal_prior * (weights - previous)
            hessian[np.arange(6, 6 + e), np.arange(6, 6 + e)] += prior
            hessian[np.arange(6), np.arange(6)] += 1e-9  # keeps the pose block invertible at any scale
            lower[6:] = -weights
            upper[6:] = np.where(free & ~hold, 1.0 - weights, 0.0)
            lower[6:] = np.where(hold, 0.0, lower[6:])
            step = solve_box_qp(hessian, -gradient, lower, upper)
            rotation = rotations.exp(step[:3]) @ rotation
            translation = translation + step[3:6]
            weights = np.clip(weights + step[6:], 0.0, 1.0) * free
        # The error after the last step, to first order: the step is small on a warm frame, and
        # re-evaluating the model would cost as much as a step.
        error = residual.reshape(-1) + jacobian @ step
        rms = float(np.sqrt((error**2).sum() / landmark_weight[used].sum()))
        return Fit(rotation, translation, weights, rms)


def _projection_jacobian(points: np.ndarray, focal: float) -> np.ndarray:
    """(L, 2, 3) derivative of PinholeCamera.project at camera-space points (L, 3)."""
    x, y, depth = points[:, 0], points[:, 1], -points[:, 2]
    jacobian = np.zeros((len(points), 2, 3))
    jacobian[:, 0, 0] = focal / depth
    jacobian[:, 0, 2] = focal * x / depth**2
    jacobian[:, 1, 1] = -focal / depth
    jacobian[:, 1, 2] = -focal * y / depth**2
    return jacobian


# Units that move the same points in opposite directions, by name (both sides where sided).
OPPOSED = [("eyeLookIn", "eyeLookOut"), ("eyeLookUp", "eyeLookDown"), ("eyeBlink", "eyeWide"), ("jawLeft", "jawRight"),
           ("mouthLeft", "mouthRight"), ("mouthSmile", "mouthFrown"), ("browDown", "browOuterUp"), ("mouthPucker", "mouthStretch"),
           ("mouthClose", "jawOpen"), ("mouthRollUpper", "mouthShrugUpper"), ("mouthRollLower", "mouthShrugLower")]  # fmt: skip


def _antagonists(names) -> np.ndarray:
    """(E, E) 1 where two units oppose each other (symmetric)."""
    index = {n: i for i, n in enumerate(names)}
    opposed = np.zeros((len(names), len(names)))
    for a, b in OPPOSED:
        for side in ("Left", "Right", ""):
            if a + side in index and b + side in index:
                opposed[index[a + side], index[b + side]] = opposed[index[b + side], index[a + side]] = 1.0
    return opposed


def _openness(points: np.ndarray, side: str) -> float:
    """Lid gap over eye width of one eye ("left" / "right") of (478, 2 or 3) points."""
    upper, lower = EYELIDS[side]
    outer, inner = EYE_CORNERS[side]
    width = np.linalg.norm(points[outer, :2] - points[inner, :2])
    return float(np.linalg.norm(points[upper, :2] - points[lower, :2]) / max(width, 1e-9))


def _inter_ocular(points: np.ndarray) -> float:
    return max(inter_ocular(points), 1e-6)
