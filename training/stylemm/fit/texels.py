"""The photo's visible skin carried into the model's UV space, filled symmetrically where
the photo does not show it, and blended over G_src's inverted texture elsewhere.

Each texel is a point on the surface (its UV triangle and barycentrics, found by
rasterizing the UV layout with the project's rasterizer). On the fitted, posed head it
projects into the photo; it is taken where it is the surface the photo sees there (depth
test against a render of the same head), faces the camera, belongs to the skin and lies
inside the landmarks' hull (not hair, not background). The photo's colour divided by the
fitted lighting is its albedo. A hidden texel takes its mirror image's (the template
mesh is left-right symmetric: mirror by position), so a face turned to one side still
gets both cheeks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial import cKDTree

from stylemm.fit.photometric import SKIN_PARTS, hull_mask, sh_basis
from stylemm.fit.view import photo_camera, photo_tensor
from stylemm.render import MeshRenderer, interpolate, vertex_normals
from stylemm.render.rasterize import barycentrics, rasterize

VISIBLE_MM = 3.0  # a texel is the seen surface when within this of the point the photo sees there
FACING = (0.25, 0.6)  # n . view ramps the trust from 0 to 1 between these (grazing texels smear)
MIRROR_MM = 6.0  # the mirror of a texel must land this close to another texel of the layout
FEATHER = 2  # px of blur on the blend weight, so the photo's patch has no hard edge


@dataclass
class UVSurface:
    """Where each texel of an (H, W) UV map lies on the mesh: triangle (H, W) (-1 outside
    the layout) and barycentrics (H, W, 3)."""

    triangle: torch.Tensor
    weights: torch.Tensor
    raster: object

    @classmethod
    def build(cls, model, height: int, width: int) -> UVSurface:
        # UVs have glTF's top-left origin, as the renderer samples them: pixel = uv * size.
        pixels = (model.uvs * torch.tensor([width, height], dtype=torch.float32))[None]
        depth = torch.zeros(1, len(model.uvs))
        raster = rasterize(pixels, depth, model.uv_faces, height, width)
        weights = barycentrics(pixels, torch.ones(1, len(model.uvs)), model.uv_faces, raster)
        return cls(raster.triangle[0], weights[0], raster)

    @property
    def covered(self) -> torch.Tensor:
        return self.triangle >= 0

    def attribute(self, values: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        """Per-vertex values (N, C) -> per-texel (H, W, C), zero outside the layout."""
        return interpolate(values[None], faces, self.raster, self.weights[None])[0]


def mirror_texels(surface: UVSurface, model) -> torch.Tensor:
    """(H, W) flat index of each texel's mirror texel (x -> -x on the template), -1 where none."""
    points = surface.attribute(model.template, model.faces).reshape(-1, 3).numpy()
    inside = surface.covered.reshape(-1).numpy()
    index = np.flatnonzero(inside)
    distance, nearest = cKDTree(points[index]).query(points[index] * np.array([-1.0, 1.0, 1.0]))
    mirror = np.full(len(points), -1)
    mirror[index] = np.where(distance * 1000 < MIRROR_MM, index[nearest], -1)
    return torch.from_numpy(mirror.reshape(surface.triangle.shape))


def capture(image: np.ndarray, focal: float, vertices: torch.Tensor, lighting: torch.Tensor, landmarks: np.ndarray,
            model, surface: UVSurface, mirror: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """The photo's albedo in UV space (3, H, W) and how much to trust it (1, H, W) in [0, 1].

    vertices: (N, 3) the fitted head in the photo camera's frame; lighting: (9, 3) from the
    photometric fit."""
    height, width = image.shape[:2]
    camera = photo_camera(width, height, focal)
    with torch.no_grad():
        seen = MeshRenderer(model.faces)(vertices[None], camera)
        surface_seen = interpolate(vertices[None], model.faces, seen.raster, seen.weights)[0]  # (h, w, 3)
        points = surface.attribute(vertices, model.faces)  # (H, W, 3)
        normals = torch.nn.functional.normalize(surface.attribute(vertex_normals(vertices[None], model.faces)[0], model.faces), dim=-1)
        pixels = camera.project(points.reshape(1, -1, 3))[0].reshape(*points.shape[:2], 2)
        column = pixels[..., 0].floor().long().clamp(0, width - 1)
        row = pixels[..., 1].floor().long().clamp(0, height - 1)
        inside_image = (pixels[..., 0] >= 0) & (pixels[..., 0] < width) & (pixels[..., 1] >= 0) & (pixels[..., 1] < height)
        visible = (surface_seen[row, column] - points).norm(dim=-1) * 1000 < VISIBLE_MM
        to_camera = torch.nn.functional.normalize(-points, dim=-1)
        facing = (((normals * to_camera).sum(-1) - FACING[0]) / (FACING[1] - FACING[0])).clamp(0, 1)
        labels = model.part_labels[model.faces[surface.triangle.clamp(min=0), 0]]
        skin = torch.isin(labels, torch.tensor([model.part_names.index(p) for p in SKIN_PARTS]))
        hull = hull_mask(landmarks, landmarks[:, :2], max(width, height))[0, 0, :height, :width]
        in_hull = hull[row, column] > 0.5
        weight = (surface.covered & inside_image & visible & skin & in_hull).float() * facing
        grid = torch.stack([pixels[..., 0] / width * 2 - 1, pixels[..., 1] / height * 2 - 1], -1)[None]
        photo = photo_tensor(image)
        colour = torch.nn.functional.grid_sample(photo, grid, mode="bilinear", padding_mode="border", align_corners=False)[0]
        light = (sh_basis(normals) @ lighting).clamp(min=0.2).permute(2, 0, 1)  # (3, H, W)
        albedo = (colour / light).clamp(0, 1)
        albedo, weight = _mirror_fill(albedo, weight, mirror)
        weight = _feather(weight) * surface.covered
    return albedo, weight[None]


def _mirror_fill(albedo: torch.Tensor, weight: torch.Tensor, mirror: torch.Tensor):
    """Where a texel is unseen and its mirror is seen better, it takes the mirror's colour."""
    flat_albedo, flat_weight, flat_mirror = albedo.reshape(3, -1), weight.reshape(-1), mirror.reshape(-1)
    has = flat_mirror >= 0
    mirrored_weight = torch.where(has, flat_weight[flat_mirror.clamp(min=0)], torch.zeros_like(flat_weight))
    take = mirrored_weight > flat_weight
    source = torch.where(take, flat_mirror.clamp(min=0), torch.arange(len(flat_weight)))
    return flat_albedo[:, source].reshape(albedo.shape), torch.maximum(flat_weight, mirrored_weight).reshape(weight.shape)


def _feather(weight: torch.Tensor) -> torch.Tensor:
    """A box blur of FEATHER px, then only inward: the patch's edge fades instead of stepping."""
    size = 2 * FEATHER + 1
    blurred = torch.nn.functional.avg_pool2d(weight[None, None], size, stride=1, padding=FEATHER, count_include_pad=False)[0, 0]
    return torch.minimum(weight, blurred)


def blend(base: torch.Tensor, albedo: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) base texture (any size: resized to the capture's) with the captured albedo over it."""
    base = torch.nn.functional.interpolate(base, size=albedo.shape[-2:], mode="bilinear", align_corners=False)
    return base * (1 - weight) + albedo * weight
