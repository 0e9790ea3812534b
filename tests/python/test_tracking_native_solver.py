"""The native tracking solver (smm_face_solver, through stylemm_runtime.native().FaceSolver and
tracking.native_solver.NativeFaceSolver) against the numpy FaceSolver it ports, on synthetic
landmarks of the linear test bundle's landmark model: the same weights, rotation and
translation frame after frame, through a cold start from 3D landmarks, warm 2D and 3D frames,
a masked solve, a closed eye (whose gaze holds) and a cold 2D restart; then the tracker on it.

Both solvers get the same float32 inputs (the C ABI's): the model, the landmarks and the
landmark weights are rounded to float32 first, the focal length is exact in float32. The
native solver computes in double and returns float32, so they agree to float32 rounding:
weights within 1e-6, rotation within 1e-6 rad, translation within 1e-6 m (measured: about
3e-8 on each), rms within 1e-5 relative.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from stylemm_runtime.tracking import FaceTracker, TrackerSettings, rotations
from stylemm_runtime.tracking.landmark_model import LandmarkModel
from stylemm_runtime.tracking.native_solver import NativeFaceSolver, NativeSolverSettings
from stylemm_runtime.tracking.solver import FaceSolver, PinholeCamera, SolverSettings
from stylemm_runtime.tracking.topology import landmark_weights
from test_tracking import embedding, linear_model  # noqa: F401  (fixtures)
from test_tracking_renders import linear_bundle  # noqa: F401  (a fixture)

WEIGHT_TOL, ROTATION_TOL, TRANSLATION_TOL, RMS_RTOL = 1e-6, 1e-6, 1e-6, 1e-5
CAMERA = PinholeCamera(640, 480, 580.0)  # a focal length float32 holds exactly


def _f32(a):
    return np.asarray(a, np.float32).astype(np.float64)


@pytest.fixture(scope="module")
def landmark_model(linear_model, embedding, native):  # noqa: F811
    character = linear_model.character(seed=4, backend="baked")
    m = LandmarkModel.from_character(character, embedding, detector=None)
    return replace(m, rest=_f32(m.rest), basis=_f32(m.basis), pivot=_f32(m.pivot), head_weight=_f32(m.head_weight))


def _frame(model, names, rng, extra=5, **units):
    """(478, 3) float32 pixels + relative depth of the model at ``units`` and ``extra`` random
    non-eye units, under a random pose."""
    weights = np.zeros(len(names))
    for n in rng.choice([n for n in names if not n.startswith(("eye", "cheekSquint"))], extra, replace=False):
        weights[names.index(n)] = rng.uniform(0.1, 0.9)
    for n, value in units.items():
        weights[names.index(n)] = value
    axis_angle = np.radians([rng.uniform(-10, 10), rng.uniform(-25, 25), rng.uniform(-5, 5)])
    translation = [rng.uniform(-0.03, 0.03), rng.uniform(-0.03, 0.03), -rng.uniform(0.55, 0.75)]
    points = model.points(weights, rotations.exp(axis_angle), translation)
    depth = (-points[:, 2] - 0.6) * CAMERA.focal / 0.6  # MediaPipe-like relative depth: pixels, larger = further
    return _f32(np.c_[CAMERA.project(points), depth])


def _agree(a, b, what):
    np.testing.assert_allclose(b.weights, a.weights, atol=WEIGHT_TOL, rtol=0, err_msg=what)
    assert rotations.angle_between(a.rotation, b.rotation) < ROTATION_TOL, what
    np.testing.assert_allclose(b.translation, a.translation, atol=TRANSLATION_TOL, rtol=0, err_msg=what)
    assert b.rms == pytest.approx(a.rms, rel=RMS_RTOL), what


def test_the_native_solver_follows_the_numpy_one_frame_for_frame(landmark_model):
    names = list(landmark_model.expression_names)
    settings = SolverSettings(landmark_weights=_f32(landmark_weights()))  # the defaults: priors, sparsity, antagonists
    numpy_solver = FaceSolver(landmark_model, CAMERA, settings)
    native_solver = FaceSolver(landmark_model, CAMERA, settings, backend="native")
    assert isinstance(native_solver, NativeFaceSolver)
    rng = np.random.default_rng(0)
    gaze = dict(eyeLookInLeft=0.4, eyeLookOutRight=0.3, eyeLookUpLeft=0.2, eyeLookUpRight=0.2)
    held = [i for i, n in enumerate(names) if n.startswith("eyeLook") and n.endswith("Left")]
    mask = np.ones(len(names), bool)
    mask[names.index("jawOpen")] = False
    frames = [("cold start from 3D landmarks", _frame(landmark_model, names, rng, **gaze), None),
              ("warm, 2D", _frame(landmark_model, names, rng, **gaze)[:, :2], None),
              ("warm, 3D", _frame(landmark_model, names, rng, **gaze), None),
              ("masked: jawOpen held at 0", _frame(landmark_model, names, rng, jawOpen=0.6, **gaze)[:, :2], mask),
              ("left eye closed: its gaze holds", _frame(landmark_model, names, rng, extra=0, eyeBlinkLeft=1.0, eyeLookInLeft=0.9)[:, :2], None),
              ("reopened", _frame(landmark_model, names, rng, **gaze)[:, :2], None)]  # fmt: skip
    for what, landmarks, frame_mask in frames:
        before = None if native_solver.last is None else native_solver.last.weights.copy()
        if what.startswith("left eye closed"):  # the scenario is real: the numpy solver holds that gaze here
            _, hold = numpy_solver._eye_trust(landmarks, True)
            assert hold[held].all() and hold.sum() == len(held)
        a = numpy_solver.solve(landmarks, mask=frame_mask)
        b = native_solver.solve(landmarks, mask=frame_mask)
        _agree(a, b, what)
        if frame_mask is not None:
            assert b.weights[~frame_mask].max() == 0.0 and a.weights[~frame_mask].max() == 0.0
        if what.startswith("left eye closed"):
            np.testing.assert_array_equal(b.weights[held], before[held])  # held exactly, not refitted
    assert rotations.angle_between(a.rotation, np.eye(3)) > 0.05  # the head really turned
    # A lost face: both start again from scratch, this time from 2D landmarks.
    numpy_solver.reset()
    native_solver.reset()
    landmarks = _frame(landmark_model, names, rng)[:, :2]
    _agree(numpy_solver.solve(landmarks), native_solver.solve(landmarks), "cold start from 2D landmarks")


def test_the_default_landmark_weights_are_topologys(landmark_model, native):
    m = landmark_model
    args = (m.rest, m.basis, m.pivot, m.head_weight, list(m.expression_names))
    landmarks = _frame(m, list(m.expression_names), np.random.default_rng(3))
    default = native.FaceSolver(*args).solve(landmarks, 640, 480, 580.0)
    explicit = native.FaceSolver(*args, landmark_weights=landmark_weights()).solve(landmarks, 640, 480, 580.0)
    for x, y in zip(default[:3], explicit[:3]):
        np.testing.assert_array_equal(x, y)
    assert default[4] is True  # a new solver starts cold


def test_the_native_solver_refuses_bad_input(landmark_model, native):
    solver = FaceSolver(landmark_model, CAMERA, backend="native")
    with pytest.raises(ValueError, match=r"\(478, 2 or 3\)"):
        solver.solve(np.zeros((468, 2)))
    bad = _frame(landmark_model, list(landmark_model.expression_names), np.random.default_rng(1))
    bad[5, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        solver.solve(bad)
    with pytest.raises(ValueError, match="478"):
        native.FaceSolver(landmark_model.rest[:10], landmark_model.basis[:, :10], landmark_model.pivot,
                          landmark_model.head_weight[:10], list(landmark_model.expression_names))  # fmt: skip
    with pytest.raises(ValueError, match="backend"):
        FaceSolver(landmark_model, CAMERA, backend="cuda")


def test_the_tracker_runs_on_the_native_solver_with_calibration(linear_model, embedding):  # noqa: F811
    """TrackerSettings(solver=NativeSolverSettings()) puts FaceTracker on the native solver, and
    the neutral calibration (which replaces the solver's model) carries over to it."""
    results = {}
    for backend, solver_settings in (("numpy", SolverSettings()), ("native", NativeSolverSettings())):
        tracker = FaceTracker(linear_model, embedding=embedding, settings=TrackerSettings(solver=solver_settings))
        model = tracker._landmark_model
        names = list(model.expression_names)
        rng = np.random.default_rng(5)
        tracker.calibrate(frames=2)
        out = []
        for t in range(5):
            landmarks = _frame(model, names, rng)
            out.append(tracker.track_landmarks(landmarks, t / 30, CAMERA.width, CAMERA.height))
        assert isinstance(tracker.solver, NativeFaceSolver) == (backend == "native")
        results[backend] = out
    for a, b in zip(*results.values()):
        assert a.state == b.state
        np.testing.assert_allclose(list(b.weights.values()), list(a.weights.values()), atol=1e-5)
        np.testing.assert_allclose(b.pose["neck"], a.pose["neck"], atol=1e-5)
        np.testing.assert_allclose(b.translation, a.translation, atol=1e-5)
