"""The tracker through MediaPipe on rendered performances with known weights and pose
(test_tracking_renders.py): the issue's accuracy measurements. Each test prints what it
measured; docs/tracking.md records them.

Targets (issue 17) and where this tracker stands on these renders:
- head rotation error median <= 2 deg, p95 <= 5 deg;
- MAE <= 0.1 over the performance for the named units;
- every blink found, none invented while looking down;
- a still face jitters <= 0.01 (std of each weight after smoothing).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from test_tracking_renders import FOV_Y, TAKES, linear_bundle, render, script  # noqa: F401  (linear_bundle: a fixture)

pytest.importorskip("mediapipe")

UNITS = ["jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "mouthSmileLeft", "mouthSmileRight", "browInnerUp", "mouthPucker",
         "eyeWideLeft", "eyeWideRight", "noseSneerLeft", "noseSneerRight", "eyeLookDownLeft", "eyeLookDownRight",
         "eyeLookUpLeft", "eyeLookUpRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight"]  # fmt: skip
NEUTRAL, PER_TAKE = 6, 8


def _track(model, performance, calibrate: int):
    from stylemm_runtime.tracking import FaceTracker, TrackerSettings

    tracker = FaceTracker(model, settings=TrackerSettings(fov_y_deg=FOV_Y))
    if calibrate:
        tracker.calibrate(calibrate)
    results = [tracker.track(image, t) for image, t in zip(performance.images, performance.times)]
    tracker.close()
    return results


@pytest.fixture(scope="module")
def tracked(openhead, linear_bundle):
    import stylemm_runtime

    model = stylemm_runtime.load(linear_bundle)
    names = list(openhead.expression_names)
    weights, neck = script(names, TAKES, PER_TAKE, np.random.default_rng(7), neutral_frames=NEUTRAL)
    performance = render(openhead, weights, neck, size=256, seed=7, take_length=PER_TAKE)
    return performance, _track(model, performance, NEUTRAL), names


def test_head_rotation_through_mediapipe(tracked):
    from stylemm_runtime.tracking.tracker import rotation_error_deg

    performance, results, _ = tracked
    assert all(r.found for r in results)
    errors = np.array([rotation_error_deg(r, n) for r, n in zip(results, performance.neck)])[NEUTRAL:]
    median, p95 = float(np.median(errors)), float(np.percentile(errors, 95))
    print(json.dumps({"rotation_error_deg": {"median": round(median, 2), "p95": round(p95, 2)}}))
    assert median <= 2.5 and p95 <= 5.0  # measured 2.14 / 4.39; the target median (2) is not met here


def test_expression_weights_through_mediapipe(tracked):
    performance, results, names = tracked
    estimate = np.array([[r.weights[n] for n in names] for r in results])[NEUTRAL:]
    truth = performance.weights[NEUTRAL:]
    mae = {n: round(float(np.abs(estimate[:, names.index(n)] - truth[:, names.index(n)]).mean()), 3) for n in UNITS}
    # The same within each unit's own take: what a zero answer cannot pass.
    during = {}
    for t, (unit, _) in enumerate(TAKES):
        rows = slice(t * PER_TAKE, (t + 1) * PER_TAKE)
        k = names.index(unit)
        during[f"{t}:{unit}"] = (round(float(estimate[rows, k].mean()), 2), round(float(truth[rows, k].mean()), 2))
    print(json.dumps({"mae": mae, "take_mean_estimate_vs_truth": during}))
    assert max(mae.values()) <= 0.14  # measured 0.133 at worst (eyeBlinkLeft: false blinks on gaze takes)
    for unit in ["jawOpen", "mouthSmileLeft"]:  # read within their takes
        t = next(i for i, (u, _) in enumerate(TAKES) if u == unit)
        estimate_mean, truth_mean = during[f"{t}:{unit}"]
        assert estimate_mean > 0.5 * truth_mean, unit


def _blink_peaks(tracked):
    performance, results, names = tracked
    blink = np.array([[r.weights["eyeBlinkLeft"], r.weights["eyeBlinkRight"]] for r in results])[NEUTRAL:]
    truth = performance.weights[NEUTRAL:, [names.index("eyeBlinkLeft"), names.index("eyeBlinkRight")]]
    peaks = {}
    for t, (unit, _) in enumerate(TAKES):
        rows = slice(t * PER_TAKE, (t + 1) * PER_TAKE)
        peaks[t] = (unit, blink[rows].max(0), truth[rows].max(0))
    print(json.dumps({"blink_peak_left_right_per_take": {f"{t}:{u}": [round(float(x), 2) for x in p] for t, (u, p, _) in peaks.items()}}))
    return peaks


def test_no_blink_is_invented_while_looking_down(tracked):
    for unit, peak, _ in _blink_peaks(tracked).values():
        if unit.startswith("eyeLookDown"):
            assert peak.max() < 0.3, unit


def test_blinks_are_not_read_as_looking_down(tracked):
    """The known failure of landmark trackers: a closing lid pulls the iris points down.
    Here the iris stops counting as its eye closes and the gaze holds."""
    performance, results, names = tracked
    worst = 0.0
    for t, (unit, _) in enumerate(TAKES):
        if unit.startswith("eyeBlink"):
            rows = results[NEUTRAL + t * PER_TAKE : NEUTRAL + (t + 1) * PER_TAKE]
            worst = max(worst, *(max(r.weights["eyeLookDownLeft"], r.weights["eyeLookDownRight"]) for r in rows))
    print(json.dumps({"eye_look_down_max_during_blinks": round(worst, 3)}))
    assert worst < 0.3  # measured 0.06


def test_every_blink_is_found(tracked):
    for unit, peak, truth in _blink_peaks(tracked).values():
        if unit.startswith("eyeBlink"):
            for side in range(2):
                if truth[side] > 0.5:
                    assert peak[side] > 0.3, (unit, side)


def test_a_still_face_does_not_jitter(openhead, linear_bundle):
    """The same face and pose for 40 frames, with camera noise and MediaPipe's own frame to
    frame wobble: the smoothed weights stay within 0.01 (std) of themselves."""
    import stylemm_runtime

    model = stylemm_runtime.load(linear_bundle)
    names = list(openhead.expression_names)
    weights = np.zeros((40, len(names)))
    weights[:, names.index("mouthSmileLeft")] = weights[:, names.index("mouthSmileRight")] = 0.4
    neck = np.tile([0.05, 0.2, 0.0], (40, 1))
    performance = render(openhead, weights, neck, size=256, seed=9, noise=3.0)
    results = _track(model, performance, 0)
    estimate = np.array([[r.weights[n] for n in names] for r in results])[10:]  # after the filter settles
    jitter = estimate.std(0)
    rotation = np.array([r.pose["neck"] for r in results])[10:].std(0)
    print(json.dumps({"still_face_weight_std_max": round(float(jitter.max()), 4), "worst_unit": names[int(jitter.argmax())],
                      "still_face_rotation_std_deg": [round(math.degrees(x), 3) for x in rotation]}))  # fmt: skip
    assert jitter.max() <= 0.03  # measured 0.023; the target is 0.01 (below)
    assert np.degrees(rotation).max() <= 0.2


@pytest.mark.xfail(strict=True, reason="issue 17's target (0.01), not met: MediaPipe's eye points wobble by about "
                   "0.07 in gaze units on renders; the filter takes that to about 0.02 (docs/tracking.md)")  # fmt: skip
def test_a_still_face_jitters_at_most_0_01(openhead, linear_bundle):
    import stylemm_runtime

    model = stylemm_runtime.load(linear_bundle)
    names = list(openhead.expression_names)
    weights = np.zeros((40, len(names)))
    performance = render(openhead, weights, np.tile([0.05, 0.2, 0.0], (40, 1)), size=256, seed=9, noise=3.0)
    estimate = np.array([[r.weights[n] for n in names] for r in _track(model, performance, 0)])[10:]
    assert estimate.std(0).max() <= 0.01
