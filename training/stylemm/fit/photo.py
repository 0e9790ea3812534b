"""A photo in, its face's 478 MediaPipe landmarks out, or a named error.

MediaPipe's face mesh (0.10.14 bundles its models: nothing is downloaded) reads the whole
photo in static mode and may return several faces; the largest (by the area of its
landmarks' bounding box) is fitted and the others are named in a warning.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from stylemm.fit.errors import ImageTooSmallError, NoFaceError, NotAnImageError, SeveralFacesWarning
from stylemm.landmarks.detector import INSTALL_HINT

MIN_IMAGE_SIDE = 64  # px: below this MediaPipe's face detector finds nothing reliable
MIN_FACE_IOD = 20.0  # px between the outer eye corners: below it one pixel is over 5 % of the error budget
MAX_FACES = 4


@dataclass
class Photo:
    image: np.ndarray  # (H, W, 3) uint8 RGB
    landmarks: np.ndarray  # (478, 3) pixels (x, y) and MediaPipe's relative depth, of the fitted face
    faces_found: int
    path: Path | None = None

    @property
    def width(self) -> int:
        return self.image.shape[1]

    @property
    def height(self) -> int:
        return self.image.shape[0]


def read_image(source) -> np.ndarray:
    """A path or an (H, W, 3|4) / (H, W) array -> (H, W, 3) uint8 RGB, or NotAnImageError / ImageTooSmallError."""
    if isinstance(source, np.ndarray):
        image = source
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, -1)
        if image.ndim != 3 or image.shape[2] not in (3, 4):
            raise NotAnImageError(f"an image array must be (H, W), (H, W, 3) or (H, W, 4), got {image.shape}")
        if image.dtype != np.uint8:
            image = (np.clip(image, 0, 1) * 255).round().astype(np.uint8) if image.dtype.kind == "f" else image.astype(np.uint8)
        image = np.ascontiguousarray(image[..., :3])
    else:
        path = Path(source)
        if not path.is_file():
            raise NotAnImageError(f"{path}: no such file; pass the path of a photo (JPEG, PNG, ...)")
        try:
            with Image.open(path) as opened:
                opened = _upright(opened)
                image = np.asarray(opened.convert("RGB"))
        except (UnidentifiedImageError, OSError) as e:
            raise NotAnImageError(f"{path}: not an image Pillow can read ({e}); pass a JPEG or PNG photo") from None
    if min(image.shape[:2]) < MIN_IMAGE_SIDE:
        raise ImageTooSmallError(f"the image is {image.shape[1]} x {image.shape[0]} px; the fit needs at least "
                                 f"{MIN_IMAGE_SIDE} px on each side (a face of {MIN_FACE_IOD:.0f}+ px between the eyes)")  # fmt: skip
    return image


def _upright(image: Image.Image) -> Image.Image:
    """Phone photos store their rotation in EXIF; MediaPipe needs the face upright."""
    from PIL import ImageOps

    return ImageOps.exif_transpose(image)


def detect_face(image: np.ndarray, min_confidence: float = 0.5) -> tuple[np.ndarray, int]:
    """(478, 3) landmarks of the largest face and how many faces were found; NoFaceError if none."""
    os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ start-up logs say nothing a user can act on
    try:
        from mediapipe.python.solutions import face_mesh
    except ImportError as e:
        raise ImportError(f"stylemm-fit reads the face with MediaPipe: {INSTALL_HINT}") from e
    with face_mesh.FaceMesh(static_image_mode=True, max_num_faces=MAX_FACES, refine_landmarks=True,
                            min_detection_confidence=min_confidence) as mesh:  # fmt: skip
        found = mesh.process(np.ascontiguousarray(image)).multi_face_landmarks
    if not found:
        raise NoFaceError("MediaPipe found no face in the image; use a photo where the face is clearly visible, "
                          "lit, and turned less than about 45 degrees from the camera")  # fmt: skip
    height, width = image.shape[:2]
    faces = [np.array([(p.x, p.y, p.z) for p in f.landmark], np.float64) * np.array([width, height, width]) for f in found]
    return max(faces, key=_box_area), len(faces)


def _box_area(points: np.ndarray) -> float:
    extent = points[:, :2].max(0) - points[:, :2].min(0)
    return float(extent[0] * extent[1])


def load_photo(source, min_confidence: float = 0.5) -> Photo:
    """Read and check a photo and find its face (warning SeveralFacesWarning when there are more)."""
    from stylemm_runtime.tracking.topology import inter_ocular

    image = read_image(source)
    landmarks, count = detect_face(image, min_confidence)
    if count > 1:
        warnings.warn(f"{count} faces in the photo; fitting the largest", SeveralFacesWarning, stacklevel=2)
    iod = inter_ocular(landmarks[:, :2])
    if iod < MIN_FACE_IOD:
        raise ImageTooSmallError(f"the face is {iod:.0f} px between the outer eye corners; the fit needs at least "
                                 f"{MIN_FACE_IOD:.0f} px: crop closer or use a larger photo")  # fmt: skip
    return Photo(image, landmarks, count, None if isinstance(source, np.ndarray) else Path(source))
