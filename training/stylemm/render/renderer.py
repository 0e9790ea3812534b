"""A differentiable mesh renderer on the CPU: rasterize -> barycentrics -> interpolate
-> texture -> shade -> antialias, each step its own function (nvdiffrast's split)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from stylemm.render.backends import check_backend, make_backend
from stylemm.render.camera import Camera
from stylemm.render.rasterize import Rasterization
from stylemm.render.shading import DEFAULT_AMBIENT, Shading

AMBIENT = DEFAULT_AMBIENT


@dataclass
class Render:
    rgb: torch.Tensor  # (B, 3, H, W) in [0, 1], antialiased over the background
    alpha: torch.Tensor  # (B, 1, H, W) coverage, antialiased (silhouette gradients)
    depth: torch.Tensor  # (B, H, W) NDC depth, +inf on background
    normals: torch.Tensor  # (B, 3, H, W) world-space unit normals, zero on background
    triangle: torch.Tensor  # (B, H, W) visible triangle, -1 on background
    parts: torch.Tensor | None  # (B, P, H, W) soft part masks, if part labels were given
    raster: Rasterization
    weights: torch.Tensor  # (B, H, W, 3) perspective-correct barycentrics


def vertex_normals(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """(B, N, 3) area-weighted unit vertex normals (counter-clockwise faces point out)."""
    corners = vertices[:, faces]  # (B, F, 3, 3)
    face_normals = torch.cross(corners[:, :, 1] - corners[:, :, 0], corners[:, :, 2] - corners[:, :, 0], dim=-1)
    normals = torch.zeros_like(vertices)
    for k in range(3):
        normals = normals.index_add(1, faces[:, k], face_normals)
    return torch.nn.functional.normalize(normals, dim=-1, eps=1e-12)


def sample_texture(texture: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """Bilinear lookup: texture (B, C, Ht, Wt), uv (B, H, W, 2) with glTF's top-left origin."""
    return torch.nn.functional.grid_sample(texture, uv * 2 - 1, mode="bilinear", padding_mode="border", align_corners=False)


class MeshRenderer:
    """Renders one mesh topology (faces fixed) with any vertices, cameras and textures."""

    def __init__(self, faces: torch.Tensor, uvs: torch.Tensor | None = None, uv_faces: torch.Tensor | None = None,
                 part_labels: torch.Tensor | None = None, num_parts: int | None = None, backend: str = "auto"):  # fmt: skip
        """backend: 'auto' (nvdiffrast for CUDA tensors where installed, else 'cpu'), 'cpu',
        'cpu-reference' or 'nvdiffrast' (see stylemm.render.backends); the outputs are the same either way."""
        self.faces = faces.long()
        self.uvs, self.uv_faces = uvs, None if uv_faces is None else uv_faces.long()
        self._backends = {}  # per device, made on first use
        self.backend_name = check_backend(backend)
        self.parts_onehot = None
        if part_labels is not None:
            self.parts_onehot = torch.nn.functional.one_hot(part_labels.long(), num_parts or int(part_labels.max()) + 1).float()

    def __call__(self, vertices: torch.Tensor, camera: Camera, texture: torch.Tensor | None = None,
                 color: torch.Tensor | None = None, background: float = 1.0, shading: Shading | None = None) -> Render:  # fmt: skip
        """vertices (B, N, 3); texture (B or 1, 3, Ht, Wt) needs uvs; color (3,) or (B, N, 3);
        shading: a stylemm.render.shading.Shading (toon, matte, glossy), None for the Lambert headlight."""
        backend = self.backend(vertices.device)
        clip = camera.to_clip(vertices)
        pixels = camera.to_pixels(clip)
        raster, weights = backend.rasterize(clip, pixels, camera.height, camera.width)
        mask = raster.mask[..., None].to(vertices.dtype)
        interpolate = backend.interpolate
        normals = torch.nn.functional.normalize(interpolate(vertex_normals(vertices, self.faces), self.faces, raster, weights), dim=-1, eps=1e-12)
        albedo = self._albedo(vertices, raster, weights, texture, color, interpolate)
        to_camera = torch.nn.functional.normalize(torch.atleast_2d(camera.eye) - torch.atleast_2d(camera.target), dim=-1)
        if shading is None:
            light = AMBIENT + (1 - AMBIENT) * (normals * to_camera[:, None, None, :].to(normals)).sum(-1, keepdim=True).clamp(min=0)
            lit = albedo * light
        else:
            lit = shading(albedo, normals, to_camera[:, None, None, :].to(normals))
        shaded = lit * mask + background * (1 - mask)
        blended = backend.antialias(torch.cat([shaded, mask], -1), raster, clip, pixels)
        parts = None
        if self.parts_onehot is not None:
            parts = interpolate(self.parts_onehot[None].to(vertices), self.faces, raster, weights).permute(0, 3, 1, 2)
        return Render(
            rgb=blended[..., :3].permute(0, 3, 1, 2),
            alpha=blended[..., 3:].permute(0, 3, 1, 2),
            depth=raster.depth,
            normals=normals.permute(0, 3, 1, 2),
            triangle=raster.triangle,
            parts=parts,
            raster=raster,
            weights=weights,
        )

    def backend(self, device: torch.device):
        """The backend that renders tensors on ``device``."""
        if device not in self._backends:
            self._backends[device] = make_backend(self.backend_name, self.faces, device)
        return self._backends[device]

    def _albedo(self, vertices, raster, weights, texture, color, interpolate) -> torch.Tensor:
        if texture is not None:
            if self.uvs is None:
                raise ValueError("a texture needs UVs: build the MeshRenderer with uvs and uv_faces")
            uv = interpolate(self.uvs[None].to(vertices), self.uv_faces, raster, weights)
            texels = sample_texture(texture.expand(len(vertices), *texture.shape[1:]).to(vertices), uv)
            return texels.permute(0, 2, 3, 1)
        if color is None:
            color = torch.tensor([0.8, 0.66, 0.58])
        color = torch.as_tensor(color).to(vertices)
        if color.ndim == 1:
            return color.expand(*raster.triangle.shape, 3)
        return interpolate(color, self.faces, raster, weights)


def project_points(vertices: torch.Tensor, faces: torch.Tensor, triangles: torch.Tensor, weights: torch.Tensor,
                   camera: Camera) -> torch.Tensor:  # fmt: skip
    """Pixel positions (B, L, 2) of surface points given as triangle index (L,) + barycentrics (L, 3)."""
    points = (vertices[:, faces[triangles]] * weights[None, :, :, None].to(vertices)).sum(-2)
    return camera.project(points)
