"""MediaPipe's face mesh (0.10.14, models bundled in the wheel: nothing is downloaded) as
the tracker's landmark source: 478 points per frame (468 mesh + 10 iris), in pixels.

Video mode: MediaPipe finds the face once and then follows it from frame to frame, which
is what makes it fast enough for live use; ``static=True`` detects on every image.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

NUM_LANDMARKS = 478
INSTALL_HINT = 'pip install "stylemm[tracking]"  (mediapipe==0.10.14 with protobuf<5)'


class FaceMeshLandmarks:
    """``detect(image_rgb) -> (478, 3) float64 or None``: x, y in pixels and MediaPipe's
    relative depth z (in the same pixel scale, larger = further), None when no face."""

    def __init__(self, static: bool = False, min_detection: float = 0.5, min_tracking: float = 0.5):
        # MediaPipe's C++ logs (TensorFlow Lite delegates, feedback tensors) and a protobuf
        # deprecation say nothing a user can act on; errors still show.
        os.environ.setdefault("GLOG_minloglevel", "2")
        warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype")
        try:
            from mediapipe.python.solutions import face_mesh
        except ImportError as e:
            raise ImportError(f"the tracker's landmark source is MediaPipe's face mesh: {INSTALL_HINT}") from e
        self._mesh = face_mesh.FaceMesh(static_image_mode=static, max_num_faces=1, refine_landmarks=True,
                                        min_detection_confidence=min_detection, min_tracking_confidence=min_tracking)  # fmt: skip

    def detect(self, image_rgb: np.ndarray) -> np.ndarray | None:
        image = np.asarray(image_rgb)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"image_rgb must be (H, W, 3) uint8 RGB, got {image.dtype} {image.shape}")
        found = self._mesh.process(np.ascontiguousarray(image)).multi_face_landmarks
        if not found:
            return None
        height, width = image.shape[:2]
        points = np.array([(p.x, p.y, p.z) for p in found[0].landmark], np.float64)
        return points * np.array([width, height, width])  # MediaPipe scales z like x

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
