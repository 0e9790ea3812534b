"""The tracker's parts on exact data: bounded least squares against scipy, rotations, the
One Euro filter, the solver on synthetic landmarks (must recover weights and pose almost
exactly), calibration, lost-face handling and the bundle checks. MediaPipe on rendered
performances is in test_tracking_mediapipe.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

import stylemm_runtime
from stylemm_runtime.tracking import FaceTracker, OneEuroFilter, TrackerSettings, bounded_least_squares, rotations
from stylemm_runtime.tracking.landmark_model import LandmarkModel
from stylemm_runtime.tracking.solver import FaceSolver, PinholeCamera, SolverSettings
from test_tracking_renders import linear_bundle  # noqa: F401  (a fixture)

EXACT = SolverSettings(weight_prior=0.0, temporal_prior=0.0, sparsity=0.0, antagonist=0.0, iterations=8, cold_iterations=20)


@pytest.fixture(scope="session")
def linear_model(linear_bundle):
    return stylemm_runtime.load(linear_bundle)


@pytest.fixture(scope="session")
def embedding(openhead):
    from stylemm.landmarks import load_embedding

    return load_embedding(openhead)


# -- bounded least squares ------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_bounded_least_squares_matches_scipy(seed):
    from scipy.optimize import lsq_linear

    rng = np.random.default_rng(seed)
    m, k = 80, 20
    a = rng.normal(size=(m, k)) @ np.diag(rng.uniform(0.05, 2, k))  # uneven conditioning
    b = rng.normal(size=m) * 3
    lower = np.where(rng.random(k) < 0.2, -np.inf, 0.0)  # some unbounded, like the head pose
    upper = np.where(rng.random(k) < 0.2, np.inf, 1.0)
    x0 = rng.uniform(0, 1, k) if seed % 2 else None
    ours = bounded_least_squares(a, b, lower, upper, x0=x0)
    reference = lsq_linear(a, b, bounds=(lower, upper), method="bvls", tol=1e-12).x
    assert np.all(ours >= lower) and np.all(ours <= upper)
    cost = lambda x: np.sum((a @ x - b) ** 2)  # noqa: E731
    assert cost(ours) <= cost(reference) * (1 + 1e-9) + 1e-12
    np.testing.assert_allclose(ours, reference, atol=1e-6)
    assert ((ours == lower) | (ours == upper)).sum() >= 2  # the bounds were really in play


def test_bounded_least_squares_rejects_bad_input():
    with pytest.raises(ValueError, match="lower bound"):
        bounded_least_squares(np.eye(2), np.ones(2), [1, 0], [0, 1])
    with pytest.raises(ValueError, match=r"\(M, K\)"):
        bounded_least_squares(np.eye(2), np.ones(3), 0, 1)


# -- rotations -------------------------------------------------------------------------------
def test_rotation_log_inverts_exp_and_align_recovers_a_similarity():
    rng = np.random.default_rng(0)
    for angle in [0.0, 1e-8, 0.3, 2.0, math.pi - 1e-7]:
        axis = rng.normal(size=3)
        axis_angle = axis / np.linalg.norm(axis) * angle
        assert rotations.angle_between(rotations.exp(rotations.log(rotations.exp(axis_angle))), rotations.exp(axis_angle)) < 1e-6
    source = rng.normal(size=(30, 3))
    r = rotations.exp([0.2, -0.5, 0.1])
    rotation, scale, translation = rotations.align(source, 3.0 * source @ r.T + [1, 2, 3])
    np.testing.assert_allclose(rotation, r, atol=1e-9)
    assert scale == pytest.approx(3.0) and np.allclose(translation, [1, 2, 3])


# -- One Euro filter --------------------------------------------------------------------------
def test_one_euro_filter_matches_a_hand_computed_step_and_cuts_jitter():
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0, d_cutoff=1.0)
    assert f(np.array([0.0]), 0.0)[0] == 0.0
    # beta = 0: a plain low-pass with alpha = 1 / (1 + tau / dt), tau = 1 / (2 pi fc).
    alpha = 1 / (1 + (1 / (2 * math.pi)) / 0.1)
    assert f(np.array([1.0]), 0.1)[0] == pytest.approx(alpha)
    rng = np.random.default_rng(0)
    noisy = 0.5 + rng.normal(0, 0.02, (300, 4))
    f = OneEuroFilter(1.0, 3.0)
    out = np.array([f(x, i / 30) for i, x in enumerate(noisy)])
    assert out[30:].std(0).max() < noisy.std(0).min() / 2
    # With beta, a fast step is followed within a few frames (little lag) ...
    f = OneEuroFilter(1.0, 3.0)
    step = [f(np.array([0.0 if i < 10 else 1.0]), i / 30)[0] for i in range(20)]
    assert step[15] > 0.8
    # ... and without it the same filter lags well behind.
    f = OneEuroFilter(1.0, 0.0)
    assert [f(np.array([0.0 if i < 10 else 1.0]), i / 30)[0] for i in range(20)][15] < 0.7
    with pytest.raises(ValueError, match="min_cutoff"):
        OneEuroFilter(0.0)


# -- the solver on exact landmarks -------------------------------------------------------------
def _random_frames(landmark_model, camera, count, rng, active=6):
    e = len(landmark_model.expression_names)
    frames = []
    for _ in range(count):
        weights = np.zeros(e)
        units = rng.choice(e, active, replace=False)
        weights[units] = rng.uniform(0.1, 1.0, active)
        axis_angle = np.radians([rng.uniform(-15, 15), rng.uniform(-30, 30), rng.uniform(-8, 8)])
        translation = np.array([rng.uniform(-0.05, 0.05), rng.uniform(-0.05, 0.05), -rng.uniform(0.5, 0.9)])
        points = landmark_model.points(weights, rotations.exp(axis_angle), translation)
        frames.append((camera.project(points), weights, axis_angle, translation))
    return frames


def test_the_solver_recovers_weights_and_pose_from_exact_landmarks(linear_model, embedding):
    character = linear_model.character(seed=4, backend="baked")
    landmark_model = LandmarkModel.from_character(character, embedding, detector=None)
    camera = PinholeCamera.from_fov(640, 480, 45.0)
    solver = FaceSolver(landmark_model, camera, EXACT)
    names = list(landmark_model.expression_names)
    observable = [n for n in names if n != "tongueOut"]  # no landmark lies on the tongue
    for landmarks, weights, axis_angle, translation in _random_frames(landmark_model, camera, 12, np.random.default_rng(1)):
        solver.reset()  # every frame cold: the initialisation must find the pose by itself
        fit = solver.solve(landmarks)
        assert math.degrees(rotations.angle_between(fit.rotation, rotations.exp(axis_angle))) < 0.01
        np.testing.assert_allclose(fit.translation, translation, atol=1e-5)
        index = [names.index(n) for n in observable]
        np.testing.assert_allclose(fit.weights[index], weights[index], atol=1e-3)
        assert fit.rms < 1e-5


def test_a_warm_solver_follows_a_moving_face_in_few_iterations(linear_model, embedding):
    character = linear_model.character(seed=4, backend="baked")
    landmark_model = LandmarkModel.from_character(character, embedding, detector=None)
    camera = PinholeCamera.from_fov(640, 480, 45.0)
    solver = FaceSolver(landmark_model, camera, SolverSettings(weight_prior=0.0, temporal_prior=0.0, sparsity=0.0, antagonist=0.0))
    e = len(landmark_model.expression_names)
    errors = []
    for t in range(30):  # a smooth performance at 30 fps: jaw and smile rise, the head turns
        weights = np.zeros(e)
        weights[landmark_model.expression_names.index("jawOpen")] = 0.5 + 0.4 * math.sin(t / 5)
        weights[landmark_model.expression_names.index("mouthSmileLeft")] = 0.5 + 0.4 * math.cos(t / 7)
        axis_angle = np.radians([5 * math.sin(t / 9), 25 * math.sin(t / 11), 0.0])
        landmarks = camera.project(landmark_model.points(weights, rotations.exp(axis_angle), [0.0, 0.0, -0.6]))
        errors.append(np.abs(solver.solve(landmarks).weights - weights).max())
    assert max(errors[1:]) < 0.02  # one Gauss-Newton step per frame keeps up (measured 0.016 at worst)


def test_the_landmark_model_poses_like_the_runtime_character(linear_model, embedding):
    """LandmarkModel.points == the embedded landmarks of character.mesh(expression, pose)."""
    from stylemm_runtime.tracking.landmark_model import Embedding

    character = linear_model.character(seed=2, backend="baked")
    landmark_model = LandmarkModel.from_character(character, embedding, detector=None)
    weights = np.zeros(len(linear_model.expression_names))
    weights[[3, 8, 24]] = [0.4, 1.0, 0.7]
    axis_angle = np.array([0.2, -0.4, 0.1])
    mesh = character.mesh(expression=weights, pose={"neck": axis_angle}).astype(np.float64)
    expected = Embedding.of(embedding).points(mesh, np.asarray(linear_model.faces))
    np.testing.assert_allclose(landmark_model.points(weights, rotations.exp(axis_angle)), expected, atol=5e-5)  # float32 mesh


# -- calibration, lost faces, bundle checks -------------------------------------------------
def test_neutral_calibration_removes_a_resting_offset(linear_model, embedding):
    """A performer whose resting face differs from the character's (a fixed offset per
    landmark, as a build or a detector's bias gives) reads as expressions until calibrated."""
    character = linear_model.character(seed=4, backend="baked")
    landmark_model = LandmarkModel.from_character(character, embedding, detector=None)
    rng = np.random.default_rng(3)
    offset = rng.normal(0, 0.0015, landmark_model.rest.shape)
    from dataclasses import replace

    performer = replace(landmark_model, rest=landmark_model.rest + offset)
    camera = PinholeCamera.from_fov(640, 480, 45.0)
    e = len(landmark_model.expression_names)
    rest_frames = [camera.project(performer.points(np.zeros(e), rotations.exp([0.0, y, 0.0]), [0, 0, -0.6])) for y in (-0.4, -0.2, 0.0, 0.2, 0.4)]
    frames = _random_frames(performer, camera, 6, np.random.default_rng(4))
    settings = SolverSettings(weight_prior=1e-4, temporal_prior=0.0, sparsity=0.0, antagonist=0.0, iterations=8, cold_iterations=20)

    def error(solver):
        out = []
        for landmarks, weights, _, _ in frames:
            solver.reset()
            out.append(np.abs(solver.solve(landmarks).weights - weights).mean())
        return np.mean(out)

    from stylemm_runtime.tracking.calibration import neutral_offsets

    solver = FaceSolver(landmark_model, camera, settings)
    before = error(solver)
    neutral_offsets(solver, rest_frames)
    after = error(solver)
    assert before > 0.04 and after < 0.01, (before, after)


def test_a_lost_face_holds_then_eases_to_neutral(linear_model, embedding):
    character = linear_model.character(seed=4, backend="baked")
    tracker = FaceTracker(linear_model, character=character, embedding=embedding,
                          settings=TrackerSettings(hold_s=0.5, ease_s=1.0))  # fmt: skip
    model = tracker._landmark_model
    camera = PinholeCamera.from_fov(640, 480, 45.0)
    weights = np.zeros(len(tracker.names))
    weights[tracker.names.index("jawOpen")] = 0.8
    landmarks = camera.project(model.points(weights, rotations.exp([0.0, 0.3, 0.0]), [0, 0, -0.6]))
    for i in range(30):
        seen = tracker.track_landmarks(landmarks, i / 30, 640, 480)
    assert seen.found and seen.weights["jawOpen"] > 0.6 and seen.confidence > 0.5
    held = tracker.track_landmarks(None, 29 / 30 + 0.4, 640, 480)
    assert not held.found and held.state == "holding" and held.weights == seen.weights and held.confidence == 0.0
    easing = tracker.track_landmarks(None, 29 / 30 + 1.0, 640, 480)
    assert easing.state == "easing" and 0 < easing.weights["jawOpen"] < seen.weights["jawOpen"]
    gone = tracker.track_landmarks(None, 29 / 30 + 1.6, 640, 480)
    assert gone.state == "lost" and max(gone.weights.values()) == 0.0 and np.allclose(gone.pose["neck"], 0)
    back = tracker.track_landmarks(landmarks, 29 / 30 + 2.0, 640, 480)
    assert back.found and back.state == "tracking"


def test_a_bundle_without_landmarks_says_to_re_export(linear_model, monkeypatch):
    monkeypatch.setattr(linear_model, "landmarks", None, raising=False)
    with pytest.raises(ValueError, match="re-export it with `stylemm-export"):
        FaceTracker(linear_model)


def test_the_bundles_own_embedding_is_used_when_it_has_one(linear_model, embedding):
    if getattr(linear_model, "landmarks", None) is None:
        pytest.skip("this bundle reader has no landmark embedding yet")
    tracker = FaceTracker(linear_model)
    np.testing.assert_array_equal(tracker.embedding.triangles, np.asarray(embedding.triangles))


def test_identity_calibration_fits_the_performers_build(linear_model, embedding):
    """A performer of another build than the tracking character: calibrating with
    identity=True fits the character's shape so that its rest landmarks come much nearer
    to the performer's."""
    performer = linear_model.character(seed=11, backend="baked")
    truth = LandmarkModel.from_character(performer, embedding, detector=None)
    camera = PinholeCamera.from_fov(640, 480, 45.0)
    e = len(linear_model.expression_names)
    tracker = FaceTracker(linear_model, embedding=embedding, settings=TrackerSettings(detector_response=False))
    before = tracker._landmark_model.rest
    tracker.calibrate(frames=5, identity=True)
    for i, yaw in enumerate([-0.3, -0.15, 0.0, 0.15, 0.3]):
        landmarks = camera.project(truth.points(np.zeros(e), rotations.exp([0.05, yaw, 0.0]), [0.0, 0.0, -0.6]))
        result = tracker.track_landmarks(landmarks, i / 30, 640, 480)
    assert result.state == "calibrating"
    fitted = LandmarkModel.from_character(tracker.character, embedding, detector=None).rest
    def error(rest):  # after a similarity alignment: position and size trade off against the distance
        rotation, scale, translation = rotations.align(rest, truth.rest)
        return np.linalg.norm(scale * rest @ rotation.T + translation - truth.rest, axis=1).mean()

    error_before, error_after = error(before), error(fitted)
    print(f"identity calibration: rest landmarks {error_before * 1000:.2f} mm -> {error_after * 1000:.2f} mm")
    assert error_after < 0.7 * error_before, (error_before, error_after)
    assert not np.allclose(tracker.character.shape, 0)
