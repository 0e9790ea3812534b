"""The tracking solver in the native core: FaceSolver's fit (solver.py), ported to C++ behind
the C ABI (stylemm.h's smm_face_solver_*, docs/native.md "The tracking solver").

``NativeFaceSolver`` is a drop-in ``FaceSolver``: the same constructor, ``solve(landmarks,
mask=None) -> Fit``, ``reset()``, ``model`` (settable, as calibration sets it) and ``last``.
Two ways to use it:

    solver = FaceSolver(landmark_model, camera, settings, backend="native")
    tracker = FaceTracker(model, settings=TrackerSettings(solver=NativeSolverSettings()))

The second puts the tracker itself on the native solver (``NativeSolverSettings`` is a
``SolverSettings`` whose ``backend`` is "native"; FaceSolver's constructor reads it). The fit
is the same math in double precision, so it agrees with the numpy solver to rounding
(tests/python/test_tracking_native_solver.py); it takes the model and the landmarks as
float32, as the C ABI does, and returns float32 weights and pose (as float64 arrays here).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stylemm_runtime.tracking import rotations
from stylemm_runtime.tracking.landmark_model import LandmarkModel
from stylemm_runtime.tracking.solver import FaceSolver, Fit, PinholeCamera, SolverSettings


@dataclass
class NativeSolverSettings(SolverSettings):
    """SolverSettings that ask FaceSolver (and so FaceTracker) for the native solver."""

    backend: str = "native"


class NativeFaceSolver(FaceSolver):
    """FaceSolver on stylemm_runtime.native().FaceSolver (smm_face_solver); raises ImportError
    naming the fix where the native core is not built."""

    def __init__(self, model: LandmarkModel, camera: PinholeCamera, settings: SolverSettings | None = None,
                 backend: str | None = "native"):  # fmt: skip
        import stylemm_runtime

        self._core = stylemm_runtime.native()
        self._native = None
        super().__init__(model, camera, settings, backend="numpy")  # checks the settings, then sets .model

    def _set_model(self, model: LandmarkModel) -> None:
        FaceSolver.model.fset(self, model)
        s = self.settings
        self._native = self._core.FaceSolver(
            model.rest, model.basis, model.pivot, model.head_weight, list(model.expression_names),
            landmark_weights=s.landmark_weights, weight_prior=s.weight_prior, temporal_prior=s.temporal_prior,
            sparsity=s.sparsity, antagonist=s.antagonist, iris_open=tuple(s.iris_open), iterations=s.iterations,
            cold_iterations=s.cold_iterations)  # fmt: skip
        self.last = None  # a new native solver starts cold

    model = property(FaceSolver.model.fget, _set_model, doc="The landmark model; setting it rebuilds the native solver.")

    def reset(self) -> None:
        self.last = None
        self._native.reset()

    def solve(self, landmarks: np.ndarray, mask: np.ndarray | None = None) -> Fit:
        """As FaceSolver.solve: landmarks (478, 2 or 3) pixels, mask (E,) bool or None."""
        cam = self.camera
        weights, axis_angle, translation, rms, _cold = self._native.solve(
            landmarks, int(cam.width), int(cam.height), float(cam.focal), mask=mask)  # fmt: skip
        axis_angle = axis_angle.astype(np.float64)
        self.last = Fit(rotations.exp(axis_angle), translation.astype(np.float64), weights.astype(np.float64), float(rms))
        return self.last
