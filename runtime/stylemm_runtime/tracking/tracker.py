"""FaceTracker: camera frames -> 52 ARKit weights + head pose for a bundle's characters.

Per frame: MediaPipe's face mesh (landmarks.FaceMeshLandmarks) finds 478 points; the
solver (solver.FaceSolver) fits the tracking character's landmark model to them (head
rotation and translation, then bounded weights), warm-started from the last frame; the One
Euro filter smooths weights and pose. A lost face holds its last state for ``hold_s``, then
eases to neutral over ``ease_s``. ``calibrate()`` records the performer's resting face over
the next frames (and optionally their build, as the character's shape) and removes it.

The result's ``pose`` is the runtime's pose convention, so
``character.mesh(expression=r.weights, pose=r.pose) + r.translation`` reproduces the head
in the camera's frame (camera at the origin looking down -Z, +Y up).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from stylemm_runtime.tracking import calibration, rotations
from stylemm_runtime.tracking.landmark_model import HEAD_JOINT, Embedding, LandmarkModel
from stylemm_runtime.tracking.one_euro import OneEuroFilter
from stylemm_runtime.tracking.solver import FaceSolver, PinholeCamera, SolverSettings

IDENTITY_ROUNDS = 3
REEXPORT_HINT = ("this bundle carries no landmark embedding (bundles before format 1.1); re-export it with "
                 "`stylemm-export --style NAME --out BUNDLE.smm --force`, or pass embedding= explicitly")  # fmt: skip


@dataclass
class TrackResult:
    found: bool  # a face was seen in this frame
    weights: dict[str, float]  # ARKit name -> [0, 1]
    pose: dict[str, list[float]]  # {"neck": axis-angle, radians}
    translation: list[float]  # metres, camera frame
    confidence: float  # 0 (nothing / not explained) .. 1 (landmarks explained exactly)
    state: str = "tracking"  # tracking | calibrating | holding | easing | lost
    landmarks: np.ndarray | None = None  # (478, 3) detected pixels, for drawing

    def to_json(self) -> dict:
        return {"found": self.found, "confidence": round(self.confidence, 4), "state": self.state,
                "weights": {k: round(v, 4) for k, v in self.weights.items()},
                "pose": {k: [round(x, 5) for x in v] for k, v in self.pose.items()},
                "translation": [round(x, 5) for x in self.translation]}  # fmt: skip


@dataclass
class TrackerSettings:
    fov_y_deg: float = 45.0  # the camera's vertical field of view; a typical webcam is 40-50 degrees
    # One Euro filter on the weights (units per second) and on the pose (radians, metres).
    # Measured on rendered performances through MediaPipe (docs/tracking.md): weights that
    # wobble by 0.07 (std) at rest come out at 0.02, and the pose follows fast turns (about
    # 100 degrees a second) within a frame.
    min_cutoff: float = 0.5
    beta: float = 1.0
    pose_min_cutoff: float = 3.0
    pose_beta: float = 10.0
    d_cutoff: float = 1.0
    hold_s: float = 0.5  # a lost face keeps its last state this long ...
    ease_s: float = 1.0  # ... then eases to neutral over this long
    # Fit with the detector's measured response per unit (landmark_model.detector_correction)
    # where one ships for the bundle's mesh; False fits the true geometry.
    detector_response: bool = True
    confidence_scale: float = 0.05  # RMS landmark error (inter-ocular distances) at which confidence is 1/e
    solver: SolverSettings = field(default_factory=SolverSettings)


class FaceTracker:
    """``track(image_rgb, timestamp) -> TrackResult``; ``track_landmarks`` for another source."""

    def __init__(self, model, character=None, embedding=None, settings: TrackerSettings | None = None,
                 detector=None):  # fmt: skip
        """model: a runtime Model (stylemm_runtime.load). character: whose expression model
        is fitted (default: the model's mean face). embedding: the landmark embedding, by
        default the bundle's (``model.landmarks``). detector: an object with
        ``detect(image_rgb) -> (478, 3) or None`` (default: MediaPipe's face mesh, made on
        the first ``track`` call)."""
        embedding = embedding if embedding is not None else getattr(model, "landmarks", None)
        if embedding is None:
            raise ValueError(REEXPORT_HINT)
        self.model, self.embedding = model, Embedding.of(embedding)
        self.settings = settings or TrackerSettings()
        self.character = character or model.character(backend="baked")
        self.names = list(model.expression_names)
        self._response = "mediapipe" if self.settings.detector_response else None
        self._landmark_model = LandmarkModel.from_character(self.character, self.embedding, self._response)
        self._detector = detector
        self.solver: FaceSolver | None = None
        s = self.settings
        self._weight_filter = OneEuroFilter(s.min_cutoff, s.beta, s.d_cutoff)
        self._pose_filter = OneEuroFilter(s.pose_min_cutoff, s.pose_beta, s.d_cutoff)
        self._last = None  # (weights, axis_angle, translation) after filtering
        self._last_seen: float | None = None
        self._calibration: dict | None = None

    # -- calibration ---------------------------------------------------------------------
    def calibrate(self, frames: int = 30, identity: bool = False) -> None:
        """Record the performer's resting face over the next ``frames`` frames with a face
        (look at the camera, relax), then remove it; with ``identity``, also fit the tracking
        character's shape to them first (re-bakes the character, about a second) and freeze it."""
        if frames < 1:
            raise ValueError("calibration needs at least one frame")
        self._calibration = {"frames": frames, "identity": identity, "seen": []}

    def _calibrate_now(self, seen: list[np.ndarray], identity: bool) -> None:
        if identity:
            still = np.zeros(len(self.names), bool)
            for _ in range(IDENTITY_ROUNDS):  # alternate: poses for this shape, then the shape for those poses
                fits = [self._converged(landmarks, still) for landmarks in seen]
                shape = calibration.fit_shape(self.model, self.character, self.embedding, fits, seen, self.solver.camera)
                self.character = self.model.character(shape=shape, texture_z=self.character.texture_z, backend="baked")
                self._landmark_model = LandmarkModel.from_character(self.character, self.embedding, self._response)
                self.solver.model = self._landmark_model
        self._landmark_model = calibration.neutral_offsets(self.solver, seen)

    def _converged(self, landmarks: np.ndarray, mask: np.ndarray):
        self.solver.reset()  # cold: solved to convergence rather than one warm step
        return self.solver.solve(landmarks, mask=mask)

    # -- tracking ------------------------------------------------------------------------
    def track(self, image_rgb: np.ndarray, timestamp: float) -> TrackResult:
        """One camera frame (H, W, 3) uint8 RGB taken at ``timestamp`` seconds."""
        image = np.asarray(image_rgb)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"image_rgb must be (H, W, 3) uint8 RGB, got {image.dtype} {image.shape}")
        if self._detector is None:
            from stylemm_runtime.tracking.landmarks import FaceMeshLandmarks

            self._detector = FaceMeshLandmarks()
        return self.track_landmarks(self._detector.detect(image), timestamp, image.shape[1], image.shape[0])

    def track_landmarks(self, landmarks: np.ndarray | None, timestamp: float, width: int, height: int) -> TrackResult:
        """The same from landmarks found elsewhere: (478, 2 or 3) pixels, or None for no face."""
        if self.solver is None or (self.solver.camera.width, self.solver.camera.height) != (width, height):
            camera = PinholeCamera.from_fov(width, height, self.settings.fov_y_deg)
            self.solver = FaceSolver(self._landmark_model, camera, self.settings.solver)
        if landmarks is None:
            return self._lost(timestamp)
        landmarks = np.asarray(landmarks, np.float64)
        state = "tracking"
        if self._calibration is not None:
            self._calibration["seen"].append(landmarks)
            state = "calibrating"
            if len(self._calibration["seen"]) >= self._calibration["frames"]:
                self._calibrate_now(self._calibration["seen"], self._calibration["identity"])
                self._calibration = None
        if self._last_seen is None or timestamp - self._last_seen > self.settings.hold_s:
            self.solver.reset()  # a new face, or the old one after a while: solve from scratch
            if self._last is not None:  # fade in from where the easing left the avatar
                self._weight_filter.reset(self._last[0], self._last_seen)
                self._pose_filter.reset(np.concatenate(self._last[1:]), self._last_seen)
        fit = self.solver.solve(landmarks)
        weights = np.clip(self._weight_filter(fit.weights, timestamp), 0.0, 1.0)
        pose = self._pose_filter(np.concatenate([fit.axis_angle, fit.translation]), timestamp)
        self._last, self._last_seen = (weights, pose[:3], pose[3:]), timestamp
        confidence = math.exp(-fit.rms / self.settings.confidence_scale)
        return self._result(True, weights, pose[:3], pose[3:], confidence, state, landmarks)

    def _lost(self, timestamp: float) -> TrackResult:
        if self._last is None:
            zero = np.zeros(len(self.names))
            return self._result(False, zero, np.zeros(3), np.zeros(3), 0.0, "lost", None)
        weights, axis_angle, translation = self._last
        away = timestamp - self._last_seen
        s = self.settings
        if away <= s.hold_s:
            return self._result(False, weights, axis_angle, translation, 0.0, "holding", None)
        a = min((away - s.hold_s) / s.ease_s, 1.0)
        keep = 1.0 - a * a * (3 - 2 * a)  # smoothstep from the last state to neutral
        return self._result(False, weights * keep, axis_angle * keep, translation, 0.0, "easing" if a < 1 else "lost", None)

    def _result(self, found, weights, axis_angle, translation, confidence, state, landmarks) -> TrackResult:
        return TrackResult(found, dict(zip(self.names, map(float, weights))), {HEAD_JOINT: [float(x) for x in axis_angle]},
                           [float(x) for x in translation], float(confidence), state, landmarks)  # fmt: skip

    def close(self) -> None:
        if self._detector is not None and hasattr(self._detector, "close"):
            self._detector.close()


def rotation_error_deg(result: TrackResult, axis_angle) -> float:
    """Degrees between a result's head rotation and a known one (for measurements)."""
    return math.degrees(rotations.angle_between(rotations.exp(result.pose[HEAD_JOINT]), rotations.exp(axis_angle)))
