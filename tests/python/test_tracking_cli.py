"""stylemm-track end to end on a short rendered video, and the VMC stream against a
loopback UDP receiver (python-osc parses what arrives)."""

from __future__ import annotations

import json
import math
import socket

import numpy as np
import pytest

from test_tracking_renders import TAKES, linear_bundle, render, script  # noqa: F401  (linear_bundle: a fixture)

cv2 = pytest.importorskip("cv2")
pytest.importorskip("pythonosc")


def _write_video(path, frames, fps=30.0):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (frames.shape[2], frames.shape[1]))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture(scope="module")
def performance_video(openhead, tmp_path_factory):
    weights, neck = script(list(openhead.expression_names), TAKES[:2], 6, np.random.default_rng(0), neutral_frames=4)
    performance = render(openhead, weights, neck, size=256, seed=2)
    return _write_video(tmp_path_factory.mktemp("video") / "face.mp4", performance.images), performance


class Receiver:
    """A UDP socket on a free loopback port that returns the OSC bundles sent to it."""

    def __init__(self):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]

    def bundles(self):
        from pythonosc.osc_bundle import OscBundle

        out = []
        while True:
            try:
                data = self.socket.recv(65536)
            except socket.timeout:
                return out
            assert OscBundle.dgram_is_bundle(data)
            out.append(OscBundle(data))


def _messages(bundle):
    return [(m.address, m.params) for m in bundle]


def test_vmc_sends_every_arkit_weight_the_apply_and_the_head_rotation():
    from stylemm_runtime.tracking.tracker import TrackResult
    from stylemm_runtime.tracking.vmc import VMCSender, unity_quaternion

    receiver = Receiver()
    weights = {"eyeBlinkLeft": 0.75, "jawOpen": 0.25, "mouthSmileRight": 1.0}
    yaw = math.radians(20)
    result = TrackResult(True, weights, {"neck": [0.0, yaw, 0.0]}, [0.0, 0.0, -0.6], 0.9)
    VMCSender("127.0.0.1", receiver.port).send(result)
    (bundle,) = receiver.bundles()
    messages = _messages(bundle)
    assert messages[0] == ("/VMC/Ext/OK", [1])
    blends = {params[0]: params[1] for address, params in messages if address == "/VMC/Ext/Blend/Val"}
    assert blends == pytest.approx(weights)
    addresses = [address for address, _ in messages]
    assert addresses.index("/VMC/Ext/Blend/Apply") > max(i for i, a in enumerate(addresses) if a == "/VMC/Ext/Blend/Val")
    (head,) = [params for address, params in messages if address == "/VMC/Ext/Bone/Pos"]
    assert head[0] == "Head"
    # A turn to the subject's left about +Y (right-handed) is about -Y in Unity's left-handed axes.
    np.testing.assert_allclose(head[4:], [0.0, -math.sin(yaw / 2), 0.0, math.cos(yaw / 2)], atol=1e-6)
    assert unity_quaternion([0, 0, 0]) == (0.0, 0.0, 0.0, 1.0)


def test_vmc_address_errors_name_the_form():
    from stylemm_runtime.tracking.vmc import parse_address

    assert parse_address("127.0.0.1:39539") == ("127.0.0.1", 39539)
    for bad in ["39539", "host:", "host:70000", "host:port"]:
        with pytest.raises(ValueError, match="HOST:PORT"):
            parse_address(bad)


def test_stylemm_track_writes_the_side_by_side_video_the_weights_and_streams_vmc(linear_bundle, performance_video, tmp_path, capsys):
    from stylemm_runtime.tracking.cli import main

    video, performance = performance_video
    receiver = Receiver()
    out, weights = tmp_path / "side.mp4", tmp_path / "face.jsonl"
    rc = main(["--bundle", str(linear_bundle), "--video", str(video), "--out", str(out), "--weights", str(weights),
               "--vmc", f"127.0.0.1:{receiver.port}", "--fov", "20", "--calibrate", "4"])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    lines = [json.loads(line) for line in weights.read_text().splitlines()]
    assert len(lines) == len(performance.images)
    assert set(lines[0]) >= {"frame", "time", "found", "confidence", "weights", "pose", "translation"}
    assert [line["frame"] for line in lines] == list(range(len(lines)))
    assert sum(line["found"] for line in lines) == len(lines)
    assert len(lines[0]["weights"]) == len(performance.names) and len(lines[0]["pose"]["neck"]) == 3
    jaw = max(line["weights"]["jawOpen"] for line in lines)
    assert jaw > 0.3  # the second take opens the jaw
    assert len(receiver.bundles()) == len(lines)
    capture = cv2.VideoCapture(str(out))
    ok, frame = capture.read()
    assert ok and frame.shape[1] == 2 * frame.shape[0]  # input | avatar, both 256 high
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == len(lines)
    assert "fps" in capsys.readouterr().err
    assert not list(tmp_path.glob(".*partial*"))


def test_stylemm_track_names_bad_input_and_leaves_nothing_behind(linear_bundle, tmp_path, capsys):
    from stylemm_runtime.tracking.cli import main

    assert main(["--bundle", str(linear_bundle), "--video", str(tmp_path / "missing.mp4")]) == 2
    assert "no video file at" in capsys.readouterr().err
    broken = tmp_path / "broken.mp4"
    broken.write_text("not a video")
    assert main(["--bundle", str(linear_bundle), "--video", str(broken), "--weights", str(tmp_path / "w.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "cannot open" in err or "gave no frames" in err
    assert not (tmp_path / "w.jsonl").exists() and not list(tmp_path.glob(".*partial*"))
    assert main(["--bundle", str(tmp_path / "none.smm"), "--video", str(broken)]) == 2
    assert "stylemm-export" in capsys.readouterr().err
    assert main(["--bundle", str(linear_bundle), "--camera", "7"]) == 2
    assert "cannot open camera 7" in capsys.readouterr().err


def test_stylemm_track_shows_no_face_rather_than_failing(linear_bundle, tmp_path, capsys):
    from stylemm_runtime.tracking.cli import main

    blank = _write_video(tmp_path / "blank.mp4", np.full((5, 128, 128, 3), 90, np.uint8))
    weights = tmp_path / "blank.jsonl"
    assert main(["--bundle", str(linear_bundle), "--video", str(blank), "--weights", str(weights), "--out", str(tmp_path / "b.mp4")]) == 0
    lines = [json.loads(line) for line in weights.read_text().splitlines()]
    assert len(lines) == 5 and not any(line["found"] for line in lines) and lines[-1]["state"] == "lost"
