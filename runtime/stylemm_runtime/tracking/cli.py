"""stylemm-track: a video file or a camera -> ARKit weights + head pose -> a bundle's avatar.

    stylemm-track --bundle out/realistic.smm --video face.mp4 --out side_by_side.mp4 --weights face.jsonl
    stylemm-track --bundle out/realistic.smm --camera 0 --vmc 127.0.0.1:39539 --show

The first second (``--calibrate``, in frames) records the performer's resting face: look
at the camera and relax. Bad input is named (exit code 2), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np


class TrackError(Exception):
    """A problem with the user's input, reported as one line."""


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        return run(args)
    except (TrackError, ValueError, ImportError, FileNotFoundError) as e:
        print(f"stylemm-track: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nstylemm-track: stopped", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stylemm-track", description="Track a face from a video or a camera and drive a bundle's character.")
    p.add_argument("--bundle", required=True, help="a .smm bundle or bundle directory (stylemm-export)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--video", help="a video file to read")
    source.add_argument("--camera", type=int, help="a camera index (0 is the first camera)")
    p.add_argument("--character-seed", type=int, default=0, help="which character of the bundle is the avatar (default 0)")
    p.add_argument("--out", help="write the side-by-side video (input + landmarks | avatar) here, .mp4")
    p.add_argument("--weights", help="write one JSON line per frame here (frame, time, found, confidence, weights, pose, translation)")
    p.add_argument("--vmc", metavar="HOST:PORT", help="stream over OSC/UDP in the VMC protocol (VSeeFace listens on 39539)")
    p.add_argument("--show", action="store_true", help="show the side-by-side view in a window (q quits)")
    p.add_argument("--fov", type=float, default=45.0, help="the camera's vertical field of view in degrees (default 45)")
    p.add_argument("--calibrate", type=int, default=30, metavar="FRAMES", help="frames of resting face to calibrate on (0: none)")
    p.add_argument("--identity", action="store_true", help="also fit the tracking character's shape to the performer while calibrating")
    p.add_argument("--max-frames", type=int, help="stop after this many frames")
    return p


def run(args) -> int:
    import stylemm_runtime
    from stylemm_runtime.tracking import FaceTracker, TrackerSettings
    from stylemm_runtime.tracking.avatar_view import AvatarView, draw_landmarks

    cv2 = _opencv()
    if not Path(args.bundle).exists():
        raise TrackError(f"no bundle at {args.bundle}; make one with `stylemm-export --style realistic --out {args.bundle}`")
    model = stylemm_runtime.load(args.bundle)
    capture, fps, name = _open_source(cv2, args)
    sender = None
    if args.vmc:
        from stylemm_runtime.tracking.vmc import VMCSender, parse_address

        sender = VMCSender(*parse_address(args.vmc))
    tracker = FaceTracker(model, settings=TrackerSettings(fov_y_deg=args.fov))
    if args.calibrate > 0:
        tracker.calibrate(args.calibrate, identity=args.identity)
    avatar = model.character(seed=args.character_seed, backend=avatar_backend())
    view = AvatarView(avatar) if (args.out or args.show) else None
    writer = weights_file = None
    out_tmp = weights_tmp = None
    frame_index, found_count, started, complete = 0, 0, time.perf_counter(), False
    try:
        if args.weights:
            weights_tmp = _temporary(args.weights)
            weights_file = open(weights_tmp, "w")
        while args.max_frames is None or frame_index < args.max_frames:
            ok, bgr = capture.read()
            if not ok:
                if frame_index == 0:
                    raise TrackError(f"{name} gave no frames: it is empty or in a format OpenCV cannot decode")
                break
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            timestamp = frame_index / fps if args.video else time.perf_counter() - started
            result = tracker.track(rgb, timestamp)
            found_count += result.found
            if weights_file:
                weights_file.write(json.dumps({"frame": frame_index, "time": round(timestamp, 4), **result.to_json()}) + "\n")
            if sender:
                sender.send(result)
            if view is not None:
                status = f"{result.state}  confidence {result.confidence:.2f}" if result.found else f"no face ({result.state})"
                left = draw_landmarks(rgb, result.landmarks, status)
                right = view.draw(avatar.mesh(expression=result.weights, pose=result.pose))
                right = cv2.resize(right, (int(round(right.shape[1] * rgb.shape[0] / right.shape[0])), rgb.shape[0]))
                frame = np.concatenate([left, right], axis=1)
                if args.out:
                    if writer is None:
                        out_tmp = _temporary(args.out)
                        writer = cv2.VideoWriter(str(out_tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (frame.shape[1], frame.shape[0]))
                        if not writer.isOpened():
                            raise TrackError(f"cannot write a video to {args.out} (OpenCV has no mp4v encoder here)")
                    writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
                if args.show:
                    _show(cv2, frame)
            frame_index += 1
            if frame_index % 30 == 0:
                elapsed = time.perf_counter() - started
                print(f"\r{frame_index} frames, face in {found_count}, {frame_index / elapsed:.1f} fps", end="", file=sys.stderr, flush=True)
        complete = True
    finally:
        capture.release()
        tracker.close()
        if writer is not None:
            writer.release()
        if weights_file:
            weights_file.close()
        if not complete:  # nothing half-written is left behind
            for partial in (out_tmp, weights_tmp):
                if partial is not None:
                    partial.unlink(missing_ok=True)
    # Complete outputs replace the targets only now (temp path + rename).
    if out_tmp is not None:
        os.replace(out_tmp, args.out)
    if weights_tmp is not None:
        os.replace(weights_tmp, args.weights)
    elapsed = time.perf_counter() - started
    print(f"\r{frame_index} frames, face in {found_count} ({100 * found_count / max(frame_index, 1):.0f} %), "
          f"{frame_index / max(elapsed, 1e-9):.1f} fps" + (f"; wrote {args.out}" if args.out else "")
          + (f"; wrote {args.weights}" if args.weights else ""), file=sys.stderr)  # fmt: skip
    return 0


def avatar_backend() -> str:
    """Morph targets for the avatar (what a game does per frame), blended natively where built."""
    import stylemm_runtime

    return "native" if stylemm_runtime.has_native() else "baked"


def _opencv():
    try:
        import cv2
    except ImportError as e:
        from stylemm_runtime.tracking.landmarks import INSTALL_HINT

        raise ImportError(f"stylemm-track reads video with OpenCV, which MediaPipe brings: {INSTALL_HINT}") from e
    return cv2


def _open_source(cv2, args):
    if args.video is not None:
        if not Path(args.video).is_file():
            raise TrackError(f"no video file at {args.video}")
        capture = cv2.VideoCapture(args.video)
        name = args.video
    else:
        capture = cv2.VideoCapture(args.camera)
        name = f"camera {args.camera}"
    if not capture.isOpened():
        raise TrackError(f"cannot open {name}" + (": is a camera connected, and is it free?" if args.video is None else
                                                  ": not a video OpenCV can read"))  # fmt: skip
    fps = capture.get(cv2.CAP_PROP_FPS)
    return capture, fps if fps and 1 <= fps <= 240 else 30.0, name


def _temporary(path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")


def _show(cv2, frame) -> None:
    try:
        cv2.imshow("stylemm-track", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    except cv2.error as e:
        raise TrackError(f"--show needs a display ({e.msg.strip() if hasattr(e, 'msg') else e}); use --out instead") from None
    if cv2.waitKey(1) & 0xFF == ord("q"):
        raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
