"""MediaPipe's 478 face landmarks as fixed points on a face model's surface.

Each landmark is a triangle + barycentric weights, so it follows every identity,
expression and pose of the model. How the shipped embedding is made: stylemm.landmarks.fitting.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from stylemm.io.atomic import atomic_write

# Named subsets of MediaPipe's indices.
SUBSETS = {
    # Eye (iris) centres, nose tip, mouth corners: the paper's 5-point attribute input.
    "five": [468, 473, 1, 61, 291],
    # The common 68-point (iBUG / dlib) layout expressed in MediaPipe indices: jaw 0-16,
    # brows 17-26, nose 27-35, eyes 36-47, outer lips 48-59, inner lips 60-67.
    "68": [162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389,
           71, 63, 105, 66, 107, 336, 296, 334, 293, 301,
           168, 197, 5, 4, 75, 97, 2, 326, 305,
           33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
           61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,
           78, 82, 13, 312, 308, 317, 14, 87],
}  # fmt: skip


@dataclass
class LandmarkEmbedding:
    triangles: np.ndarray  # (L,) triangle index per landmark
    weights: np.ndarray  # (L, 3) barycentric weights inside that triangle

    def points(self, vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        """(B, N, 3) vertices -> (B, L, 3) landmark positions (differentiable)."""
        corners = vertices[:, faces[torch.as_tensor(self.triangles)]]  # (B, L, 3, 3)
        return (corners * torch.as_tensor(self.weights).to(vertices)[None, :, :, None]).sum(-2)

    def subset(self, name: str) -> LandmarkEmbedding:
        if name not in SUBSETS:
            raise ValueError(f"unknown landmark subset '{name}'; choose one of {sorted(SUBSETS)}")
        index = SUBSETS[name]
        return LandmarkEmbedding(self.triangles[index], self.weights[index])

    def save(self, path, faces: torch.Tensor) -> None:
        with atomic_write(path) as f:
            np.savez(f, triangles=self.triangles, weights=self.weights, faces_sha256=faces_digest(faces))

    @classmethod
    def load(cls, path, faces: torch.Tensor) -> LandmarkEmbedding:
        with np.load(path, allow_pickle=False) as z:
            if str(z["faces_sha256"]) != faces_digest(faces):
                raise ValueError(f"{path} was embedded on a different mesh topology; re-embed it: python -m stylemm.landmarks")
            return cls(z["triangles"], z["weights"])


def faces_digest(faces: torch.Tensor) -> str:
    return hashlib.sha256(np.ascontiguousarray(faces.cpu().numpy().astype(np.int64)).tobytes()).hexdigest()


def shipped_path(model_name: str) -> Path:
    return Path(__file__).with_name(f"{model_name}_mediapipe.npz")


def load_embedding(model) -> LandmarkEmbedding:
    """The embedding shipped with the package for this model (OpenHead)."""
    path = shipped_path(model.name)
    if not path.is_file():
        raise FileNotFoundError(f"no landmark embedding ships for '{model.name}'; make one: python -m stylemm.landmarks --model {model.name}")
    return LandmarkEmbedding.load(path, model.faces)
