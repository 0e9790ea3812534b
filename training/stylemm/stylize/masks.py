"""Part masks of stylized images: background, face, eye, nose, mouth, ear (paper 3.4.4).

Three sources, recorded per sample as ``mask_source``:

- ``render``: exact, from the model's part label seen at each pixel (recipe pairs, whose
  stylized mesh is known). OpenHead's parts map onto the six classes by ``CLASS_OF_PART``.
- ``f_mask``: the paper's few-shot mask network, where its local weights exist
  (``stylemm.stylize.mask_network``).
- ``mediapipe``: the offline fallback for images without 3D truth: the head's silhouette
  from MediaPipe's bundled selfie segmentation is ``face``, and each part is the convex
  hull of the detected landmarks that lie in that part on the model's surface (found
  through the landmark embedding), so the fallback approximates the same regions as the
  exact masks rather than MediaPipe's own notion of an eye or a mouth.
"""

from __future__ import annotations

import numpy as np
import torch

CLASSES = ("background", "face", "eye", "nose", "mouth", "ear")
# The model's parts -> classes. The whole skin of the head is "face" (our heads are bald:
# the paper's "outer face" is hair and background, and the trainer needs the cranium's
# silhouette); the inner mouth is "mouth", the eyeballs "eye".
CLASS_OF_PART = {
    "scalp": "face", "face": "face", "neck": "face",
    "eyes": "eye", "left_eyeball": "eye", "right_eyeball": "eye",
    "nose": "nose",
    "mouth": "mouth", "teeth": "mouth", "tongue": "mouth",
    "ears": "ear",
}  # fmt: skip
# Colours for the PNG palette and pictures (index = class).
PALETTE = np.array([[0, 0, 0], [230, 180, 140], [60, 120, 255], [255, 200, 0], [230, 40, 60], [40, 200, 120]], np.uint8)
# Fallback hulls are drawn in this order, later over earlier.
HULL_ORDER = ("ear", "nose", "mouth", "eye")
SELFIE_THRESHOLD = 0.5


def part_classes(part_names: list[str]) -> np.ndarray:
    """(P,) class index of each of the model's parts; an unmapped part is an error, not a guess."""
    unknown = [p for p in part_names if p not in CLASS_OF_PART]
    if unknown:
        raise ValueError(f"no mask class for the model's part(s) {unknown}; add them to stylemm.stylize.masks.CLASS_OF_PART")
    return np.array([CLASSES.index(CLASS_OF_PART[p]) for p in part_names], np.uint8)


def masks_from_parts(parts: torch.Tensor, part_names: list[str]) -> np.ndarray:
    """(B, H, W) part label per pixel (-1 on background) -> (B, H, W) uint8 class indices."""
    lookup = np.concatenate([[0], part_classes(part_names)]).astype(np.uint8)  # label -1 -> background
    return lookup[parts.cpu().numpy() + 1]


class LandmarkMasks:
    """The offline fallback: ``masks(images, landmarks) -> (B, H, W)`` class indices."""

    def __init__(self, model):
        from mediapipe.python.solutions import selfie_segmentation

        from stylemm.landmarks import load_embedding

        self.groups = landmark_groups(model, load_embedding(model))
        self._selfie = selfie_segmentation.SelfieSegmentation(model_selection=0)

    def masks(self, images: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """images (B, H, W, 3) uint8; landmarks (B, 478, 2) pixels, NaN where none were found
        (then only the silhouette is known: face and background)."""
        import cv2

        out = np.zeros(images.shape[:3], np.uint8)
        for b, image in enumerate(images):
            silhouette = self._selfie.process(np.ascontiguousarray(image)).segmentation_mask > SELFIE_THRESHOLD
            out[b][silhouette] = CLASSES.index("face")
            if not np.isfinite(landmarks[b]).all():
                continue
            for name in HULL_ORDER:
                for group in self.groups.get(name, []):
                    hull = cv2.convexHull(np.round(landmarks[b, group]).astype(np.int32))
                    cv2.fillConvexPoly(out[b], hull, CLASSES.index(name))
        return out

    def close(self) -> None:
        self._selfie.close()


def landmark_groups(model, embedding) -> dict[str, list[np.ndarray]]:
    """class -> landmark index groups, one per connected region (left / right for eyes and
    ears): the landmarks whose embedded point lies in a part of that class on the model."""
    classes = part_classes(model.part_names)
    faces = model.faces.numpy()[embedding.triangles]  # (L, 3)
    labels = model.part_labels.numpy()[faces[np.arange(len(faces)), embedding.weights.argmax(1)]]
    landmark_class = classes[labels]
    side = model.template.numpy()[faces[:, 0], 0] > 0  # +X is the subject's left
    groups: dict[str, list[np.ndarray]] = {}
    for name in HULL_ORDER:
        members = np.flatnonzero(landmark_class == CLASSES.index(name))
        split = [members[side[members]], members[~side[members]]] if name in ("eye", "ear") else [members]
        groups[name] = [g for g in split if len(g) >= 3]
    return groups


def mask_png(mask: np.ndarray):
    """A class-index mask as a palette PNG image (the Pascal VOC convention): the pixel
    values are the class indices, the palette only makes them visible."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(mask, np.uint8))
    image.putpalette(PALETTE.reshape(-1).tolist())  # makes the "L" image a "P" one, values unchanged
    return image


def iou_per_class(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Intersection over union of two masks for each class present in either."""
    out = {}
    for k, name in enumerate(CLASSES):
        union = ((a == k) | (b == k)).sum()
        if union:
            out[name] = float(((a == k) & (b == k)).sum() / union)
    return out
