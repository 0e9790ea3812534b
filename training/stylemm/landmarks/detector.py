"""MediaPipe face mesh (0.10.14 bundles its models: nothing is downloaded) as a
batch landmark detector: 478 points per image (468 mesh + 10 iris)."""

from __future__ import annotations

import numpy as np

NUM_LANDMARKS = 478
INSTALL_HINT = 'pip install "mediapipe==0.10.14" "protobuf>=4.25,<5"  (or: pip install -e ".[landmarks]")'


class FaceMeshDetector:
    """``detect(images) -> (B, 478, 2)`` pixel coordinates, NaN where no face was found."""

    def __init__(self, min_confidence: float = 0.5):
        try:
            from mediapipe.python.solutions import face_mesh
        except ImportError as e:
            raise ImportError(f"the landmark detector needs MediaPipe: {INSTALL_HINT}") from e
        self._mesh = face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=True,
                                        min_detection_confidence=min_confidence)  # fmt: skip

    def detect(self, images: np.ndarray) -> np.ndarray:
        """images: (B, H, W, 3) uint8 RGB."""
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"images must be (B, H, W, 3) uint8 RGB, got {images.dtype} {images.shape}")
        out = np.full((len(images), NUM_LANDMARKS, 2), np.nan)
        height, width = images.shape[1:3]
        for i, image in enumerate(images):
            found = self._mesh.process(np.ascontiguousarray(image)).multi_face_landmarks
            if found:
                points = found[0].landmark
                out[i] = [(p.x * width, p.y * height) for p in points]
        return out

    def close(self) -> None:
        self._mesh.close()
