"""Small face models for tests that need a real FaceModel but not OpenHead's size."""

import numpy as np
import torch

from stylemm.facemodel.model import FaceModel, FaceModelArrays
from stylemm.nets.deformer import DeformerConfig


def smooth_model():
    """A small 3DMM whose bases vary smoothly over a sphere (like a face's, unlike the
    synthetic FLAME's per-vertex noise), so a tiny network can learn it in seconds."""
    rng = np.random.default_rng(0)
    points = rng.normal(size=(300, 3))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    x, y, z = points.T
    shapedirs = 0.01 * np.stack([np.stack([x, y, z], 1), np.stack([y * z, 0 * x, x], 1), np.stack([0 * x, x * x, y], 1)])
    exprdirs = 0.02 * np.stack([np.stack([0 * x, np.maximum(-y, 0), 0 * x], 1), np.stack([z, 0 * x, 0 * x], 1)])
    return FaceModel(FaceModelArrays(
        name="smooth", template=0.1 * points, faces=np.array([[0, 1, 2]]), uvs=np.zeros((0, 2)), uv_faces=np.zeros((0, 3)),
        shapedirs=shapedirs, exprdirs=exprdirs, expression_names=["openLeft", "openRight"], joint_regressor=np.full((1, 300), 1 / 300),
        parents=[-1], joint_names=["global"], lbs_weights=np.ones((300, 1)), part_labels=np.zeros(300), part_names=["head"],
        expression_range=(0.0, 1.0)))  # fmt: skip


class LinearDeformer(torch.nn.Module):
    """A face model's own linear blend shapes in a deformer's place: a bundle of it gives
    exactly the training side's faces (and no native weights, not being a Deformer)."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.config = DeformerConfig(shape_dim=model.shape_dim, expression_dim=model.expression_dim)

    def forward(self, shape, expression):
        m = self.model
        return m.template + torch.einsum("bk,knc->bnc", shape, m.shapedirs) + torch.einsum("be,enc->bnc", expression, m.exprdirs)
