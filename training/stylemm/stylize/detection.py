"""Landmarks on stylized images: MediaPipe's face mesh standing in for the paper's X-Pose.

Every stylized image is read by the detector. A detection is checked against where the
face really is: the embedded landmarks of the ground-truth mesh (the stylized mesh where
the stylizer built one, the source mesh otherwise) projected with the pair's camera. A
sample whose detection is missing or strays from that is flagged, never silently used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from stylemm.landmarks import load_embedding
from stylemm.landmarks.detector import FaceMeshDetector
from stylemm.render.camera import Camera

# A detection strays when its median landmark is further than this share of the image
# width from the projected ground truth. MediaPipe's own spread on plain renders is about
# 1 % (README, Landmarks: 4.1 px at 512); stylized faces add some, a wrong face adds much more.
STRAY_FRACTION = 0.04


@dataclass
class Detections:
    landmarks: np.ndarray  # (B, 478, 2) float32 pixels, NaN where no face was found
    found: np.ndarray  # (B,) bool
    error_px: np.ndarray  # (B,) median distance to the projected ground truth, NaN if not found
    strayed: np.ndarray  # (B,) bool: found, but further than the threshold from the ground truth
    threshold_px: float

    @property
    def flagged(self) -> np.ndarray:
        """(B,) samples whose landmarks must not be trusted: not found, or strayed."""
        return ~self.found | self.strayed


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) floats in [0, 1] -> (B, H, W, 3) uint8, as the images are saved."""
    return (images.detach().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy() * 255).round().astype(np.uint8)


class StylizedLandmarks:
    """``detect(images, vertices, camera) -> Detections`` for one face model."""

    def __init__(self, model, stray_fraction: float = STRAY_FRACTION):
        self.model, self.stray_fraction = model, stray_fraction
        self.embedding = load_embedding(model)
        self.detector = FaceMeshDetector()

    def expected(self, vertices: torch.Tensor, camera: Camera) -> np.ndarray:
        """(B, 478, 2) pixels: the embedded landmarks of ``vertices`` seen by ``camera``."""
        with torch.no_grad():
            return camera.project(self.embedding.points(vertices, self.model.faces)).numpy()

    def detect(self, images, vertices: torch.Tensor, camera: Camera) -> Detections:
        """images: (B, H, W, 3) uint8 (what is saved); vertices: the ground-truth mesh to check against."""
        found_points = self.detector.detect(images)
        found = np.isfinite(found_points).all((1, 2))
        error = np.linalg.norm(found_points - self.expected(vertices, camera), axis=-1)
        median = np.where(found, np.median(np.where(found[:, None], error, 0.0), axis=1), np.nan)
        threshold = self.stray_fraction * images.shape[2]
        return Detections(
            landmarks=found_points.astype(np.float32),
            found=found,
            error_px=median,
            strayed=found & (median > threshold),
            threshold_px=threshold,
        )

    def close(self) -> None:
        self.detector.close()
