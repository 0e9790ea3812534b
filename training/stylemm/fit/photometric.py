"""Photometric refinement through the project's differentiable renderer: G_src latent
inversion for the texture, with the lighting, the identity and the head pose refined too.

Analysis by synthesis (the paper's 5.2; DECA's and 3DMM fitting's usual loop): the fitted
head is rendered in the square face view (view.face_camera) with the texture G_src makes
from ``texture_z``, lit by second-order spherical harmonics per colour channel (photos are
not lit by the renderer's headlight), and compared with the photo resampled into the same
view, over the skin the render shows *and* the photo's landmark hull holds (so hair,
glasses' rims outside the face and background do not pull). The landmark term keeps the
geometry where the landmark fit put it; N(0, I) priors keep shape and latent plausible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw
from scipy.spatial import ConvexHull

from stylemm.fit.landmark_fit import LandmarkFit
from stylemm.fit.view import face_camera, posed, resample, to_tensor
from stylemm.landmarks import load_embedding
from stylemm.render import MeshRenderer
from stylemm.render.shading import Shading
from stylemm_runtime.tracking import rotations
from stylemm_runtime.tracking.topology import inter_ocular, landmark_weights

SKIN_PARTS = ("face", "nose", "mouth", "eyes")  # what a photo shows of the head model, hair and neck aside
UNLIT = Shading(ambient=1.0)  # the renderer's output is then the albedo; the lighting is ours


@dataclass
class PhotometricSettings:
    # Chosen on rendered faces with known shape (10 faces of seed 5; benchmarks/fit.py --measure
    # reports seed 11): at 224 px, with a warm-up and these weights the photometric step lowers
    # the landmark fit's shape error (2.09 -> 1.87 mm); at 160 px, without the warm-up (1.96)
    # or with a landmark weight of 20 (2.03) it does less.
    size: int = 224  # px of the square face view
    iterations: int = 100
    landmark_weight: float = 5.0  # against the photometric L1 (colour units) per pixel
    shape_prior: float = 2e-4  # per unit of shape, squared
    latent_prior: float = 1e-3  # per unit of texture_z, squared
    lr: float = 0.03
    refine_geometry: bool = True
    geometry_lr: float = 0.5  # the shape's step at this share of lr
    # Adam's steps are about lr in each parameter's own unit: radians and metres need their own.
    rotation_lr: float = 2e-3  # radians (0.1 degree)
    translation_lr: float = 5e-4  # metres
    # Iterations with the geometry held while texture and lighting settle: until then the
    # photometric error is the mean texture's, and would only push the shape around.
    warmup: int = 30


@dataclass
class PhotometricFit:
    shape: np.ndarray  # (K,)
    expression: np.ndarray  # (E,)
    rotation: np.ndarray  # (3, 3) neck, camera frame
    translation: np.ndarray  # (3,)
    texture_z: np.ndarray  # (Z,)
    lighting: np.ndarray  # (9, 3) spherical-harmonic coefficients per channel, camera frame
    losses: list
    landmark_error: float  # median reprojection error after the refinement, in inter-ocular distances


def sh_basis(normals: torch.Tensor) -> torch.Tensor:
    """(..., 3) unit normals -> (..., 9) the real spherical harmonics up to order 2 (constants
    folded into the coefficients)."""
    x, y, z = normals.unbind(-1)
    return torch.stack([torch.ones_like(x), x, y, z, x * y, x * z, y * z, x * x - y * y, 3 * z * z - 1], -1)


def shade(albedo: torch.Tensor, normals: torch.Tensor, lighting: torch.Tensor) -> torch.Tensor:
    """albedo (B, 3, H, W), normals (B, 3, H, W), lighting (9, 3) -> lit colours (B, 3, H, W)."""
    light = sh_basis(normals.permute(0, 2, 3, 1)) @ lighting  # (B, H, W, 3)
    return albedo * light.permute(0, 3, 1, 2)


def initial_lighting() -> torch.Tensor:
    """A soft frontal light: ambient + a term towards the camera (+Z in its frame)."""
    lighting = torch.zeros(9, 3)
    lighting[0], lighting[3] = 0.6, 0.4
    return lighting


def hull_mask(landmarks: np.ndarray, camera_points: np.ndarray, size: int) -> torch.Tensor:
    """(1, 1, S, S) the convex hull of the landmarks as the face view sees them (camera_points: (L, 2) px)."""
    hull = camera_points[ConvexHull(camera_points).vertices]
    image = Image.new("L", (size, size), 0)
    ImageDraw.Draw(image).polygon([tuple(p) for p in hull], fill=255)
    return torch.from_numpy(np.asarray(image, np.float32) / 255)[None, None]


class PhotometricFitter:
    def __init__(self, model, texture_generator, settings: PhotometricSettings | None = None):
        self.model, self.generator = model, texture_generator
        self.settings = settings or PhotometricSettings()
        self.renderer = MeshRenderer(model.faces, model.uvs, model.uv_faces, model.part_labels)
        self.skin = torch.tensor([model.part_names.index(p) for p in SKIN_PARTS])
        self.embedding = load_embedding(model)
        self.landmark_weights = torch.as_tensor(landmark_weights(), dtype=torch.float32)

    def fit(self, image: np.ndarray, landmarks: np.ndarray, start: LandmarkFit, progress=None) -> PhotometricFit:
        s, model = self.settings, self.model
        camera = start.camera
        shape = to_tensor(start.shape).requires_grad_(s.refine_geometry)
        neck = to_tensor(rotations.log(start.rotation)).requires_grad_(s.refine_geometry)
        translation = to_tensor(start.translation).requires_grad_(s.refine_geometry)
        expression = to_tensor(start.expression)
        z = torch.zeros(1, self.generator.config.z_dim, requires_grad=True)
        lighting = initial_lighting().requires_grad_(True)
        groups = [{"params": [z, lighting]}]
        if s.refine_geometry:
            groups += [{"params": [shape], "lr": s.lr * s.geometry_lr}, {"params": [neck], "lr": s.rotation_lr},
                       {"params": [translation], "lr": s.translation_lr}]  # fmt: skip
        optimizer = torch.optim.Adam(groups, lr=s.lr)

        with torch.no_grad():
            first = self._vertices(shape, expression, neck, translation)
            view = face_camera(self.embedding.points(first, model.faces)[0].numpy(), s.size)
            target = resample(image, camera.focal, view)
            inside = hull_mask(landmarks, view.project(self._points(first))[0].numpy(), s.size)
        observed = torch.as_tensor(landmarks[:, :2], dtype=torch.float32)
        scale = 1.0 / inter_ocular(landmarks[:, :2])
        losses = []
        for step in range(s.iterations):
            optimizer.zero_grad()
            vertices = self._vertices(shape, expression, neck, translation)
            out = self.renderer(vertices, view, texture=self.generator.texture(z), shading=UNLIT)
            mask = (out.parts[:, self.skin].sum(1, keepdim=True) * out.alpha * inside).detach()
            lit = shade(out.rgb, out.normals, lighting)
            photometric = ((lit - target).abs() * mask).sum() / (3 * mask.sum().clamp(min=1))
            reprojected = self._project(self._points(vertices)[0], camera)
            landmark = (((reprojected - observed) * scale) ** 2).sum(-1).mul(self.landmark_weights).sum() / self.landmark_weights.sum()
            loss = photometric + s.landmark_weight * landmark + s.shape_prior * (shape**2).sum() + s.latent_prior * (z**2).sum()
            loss.backward()
            if step < s.warmup:
                for p in (shape, neck, translation):
                    p.grad = None  # Adam skips parameters without a gradient
            optimizer.step()
            losses.append({"photometric": photometric.item(), "landmark": landmark.sqrt().item(), "total": loss.item()})
            if progress is not None:
                progress.update(1)
        with torch.no_grad():
            final = self._project(self._points(self._vertices(shape, expression, neck, translation))[0], camera)
            error = float(((final - observed).norm(dim=-1) * scale).median())
        return PhotometricFit(shape[0].detach().numpy(), start.expression, rotations.exp(neck[0].detach().double().numpy()),
                              translation[0].detach().double().numpy(), z[0].detach().numpy(), lighting.detach().numpy(),
                              losses, error)  # fmt: skip

    def _vertices(self, shape, expression, neck, translation) -> torch.Tensor:
        neutral = self.model.neutral(shape)
        unposed = neutral + torch.einsum("be,enc->bnc", expression, self.model.exprdirs)
        return posed(self.model, unposed, neutral, neck, translation)

    def _points(self, vertices: torch.Tensor) -> torch.Tensor:
        return self.embedding.points(vertices, self.model.faces)

    @staticmethod
    def _project(points: torch.Tensor, camera) -> torch.Tensor:
        """(L, 3) camera-frame points -> (L, 2) photo pixels (the runtime's PinholeCamera, in torch)."""
        depth = -points[:, 2]
        return torch.stack([camera.width / 2 + camera.focal * points[:, 0] / depth,
                            camera.height / 2 - camera.focal * points[:, 1] / depth], 1)  # fmt: skip
