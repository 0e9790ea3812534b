"""A procedural family of skin textures in a face model's UV layout (no outside data).

Every texel knows where it sits on the template (rasterized in UV space), and facial
features are placed from the embedded MediaPipe landmarks, so the same recipe works
for any identity. A texture is drawn from a handful of random parameters: skin tone
from a melanin / haemoglobin absorption model, lips, eyebrows, stubble, freckles and
moles, ageing, blush, make-up, and layered smooth noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from stylemm.landmarks import load_embedding
from stylemm.render.rasterize import rasterize, screen_barycentrics

# MediaPipe face-mesh indices of the outer lip contour and of the eyebrows (both sides).
LIP_CONTOUR = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146]
BROWS = [[70, 63, 105, 66, 107], [46, 53, 52, 65, 55], [300, 293, 334, 296, 336], [276, 283, 282, 295, 285]]
CHEEKS = [50, 280]
UPPER_LIDS = [[33, 246, 161, 160, 159, 158, 157, 173, 133], [263, 466, 388, 387, 386, 385, 384, 398, 362]]
IRIS_CENTRES = [468, 473]
NOSE_BOTTOM = 2

# Absorption of melanin and haemoglobin at roughly red, green, blue (relative units):
# melanin absorbs short wavelengths most; haemoglobin absorbs green most.
MELANIN = torch.tensor([0.5, 0.8, 1.15])
HAEMOGLOBIN = torch.tensor([0.05, 0.35, 0.25])
DERMIS = torch.tensor([0.98, 0.88, 0.76])


@dataclass
class TexelMap:
    """Where each texel of the UV layout lies on the template."""

    position: torch.Tensor  # (H, W, 3) template position, metres
    part: torch.Tensor  # (H, W) part label of the nearest corner
    covered: torch.Tensor  # (H, W) texels inside a UV triangle

    @classmethod
    def build(cls, model, height: int, width: int) -> TexelMap:
        if len(model.uvs) == 0:
            raise ValueError(f"model '{model.name}' has no UV layout, so it cannot be textured")
        pixels = (model.uvs * torch.tensor([width, height])).to(torch.float64)[None]
        raster = rasterize(pixels, torch.zeros(1, len(model.uvs), dtype=torch.float64), model.uv_faces, height, width)
        tri = raster.triangle[0].clamp(min=0)
        ys, xs = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")
        weights = screen_barycentrics(pixels[0, model.uv_faces[tri]], torch.stack([xs, ys], -1).double()).clamp(min=0)
        corners = model.template.double()[model.faces[tri]]  # (H, W, 3, 3)
        position = (weights[..., None] * corners).sum(-2) / weights.sum(-1, keepdim=True).clamp(min=1e-12)
        part = model.part_labels[model.faces[tri, weights.argmax(-1)]]
        return cls(position.float(), part, raster.mask[0])


class SkinTextures:
    """``sample(count, generator) -> (count, 3, H, W)`` textures in [0, 1] for one model."""

    def __init__(self, model, height: int = 256, width: int = 512):
        self.model, self.height, self.width = model, height, width
        self.texels = TexelMap.build(model, height, width)
        points = load_embedding(model).points(model.template[None], model.faces)[0]
        self.masks = self._feature_masks(points)

    # -- where things go ------------------------------------------------------------------
    def _feature_masks(self, landmarks: torch.Tensor) -> dict[str, torch.Tensor]:
        p = self.texels.position
        part = self.texels.part
        names = self.model.part_names
        in_part = lambda *ps: torch.isin(part, torch.tensor([names.index(n) for n in ps]))  # noqa: E731
        front = p[..., 2] > landmarks[LIP_CONTOUR, 2].min() - 0.01
        lips = _inside_polygon(p[..., :2], landmarks[LIP_CONTOUR, :2]) & front & in_part("mouth", "face")
        brows = torch.zeros_like(p[..., 0])
        for row in BROWS:
            brows = torch.maximum(brows, _near_polyline(p, landmarks[row], radius=0.004))
        lids = torch.zeros_like(brows)
        for row in UPPER_LIDS:
            lids = torch.maximum(lids, _near_polyline(p + torch.tensor([0.0, -0.004, 0.0]), landmarks[row], radius=0.006))
        cheeks = sum(torch.exp(-((p - landmarks[i]) ** 2).sum(-1) / (2 * 0.018**2)) for i in CHEEKS)
        below_nose = (p[..., 1] < landmarks[NOSE_BOTTOM, 1] - 0.003) & (p[..., 2] > 0.0)
        beard = (below_nose & in_part("face", "mouth", "neck") & ~lips).float()
        iris = torch.zeros_like(brows)
        for i in IRIS_CENTRES:
            iris = torch.maximum(iris, (torch.linalg.norm(p - landmarks[i], dim=-1) < 0.0058).float())
        eyeball = in_part("left_eyeball", "right_eyeball").float()
        masks = {
            "lips": _soften(lips.float()),
            "brows": brows * in_part("face", "eyes").float(),
            "lids": lids * in_part("eyes", "face").float(),
            "cheeks": cheeks * in_part("face").float(),
            "beard": _soften(beard),
            "eyeball": eyeball,
            "iris": iris * eyeball,
            "teeth": in_part("teeth").float(),
            "tongue": in_part("tongue").float(),
            "skin": (~in_part("left_eyeball", "right_eyeball", "teeth", "tongue")).float(),
        }
        # Texels outside every UV triangle have no place on the surface.
        return {name: mask * self.texels.covered for name, mask in masks.items()}

    # -- what they look like --------------------------------------------------------------
    def sample(self, count: int, generator: torch.Generator | None = None) -> torch.Tensor:
        generator = generator or torch.Generator().manual_seed(0)
        return torch.stack([self._one(generator) for _ in range(count)])

    def _one(self, g: torch.Generator) -> torch.Tensor:
        u = lambda lo=0.0, hi=1.0: lo + (hi - lo) * torch.rand((), generator=g)  # noqa: E731
        m = self.masks
        melanin = u(0.1, 1.4) ** 1.5  # from very light to very dark skin
        blood = u(0.3, 0.9)
        noise = self._noise(g, cells=24) * 0.5 + self._noise(g, cells=96) * 0.5
        blood_map = blood * (1 + 0.1 * noise + 0.6 * m["cheeks"] * u(0, 1) + 0.2 * m["lips"])
        skin = DERMIS[:, None, None] * torch.exp(-(melanin * MELANIN[:, None, None] + blood_map * HAEMOGLOBIN[:, None, None]))
        skin = skin * (1 + 0.025 * self._noise(g, cells=160))
        # Lips: darker, redder skin.
        lip_colour = skin * torch.tensor([0.92, 0.7, 0.7])[:, None, None] * u(0.8, 1.05)
        skin = torch.lerp(skin, lip_colour, m["lips"] * u(0.6, 1.0))
        # Freckles (on the cheeks and nose, for some) and a few moles anywhere.
        freckles = (self._noise(g, cells=320, octave_only=True) > 1 - u(0, 0.06) * (u() < 0.3)).float()
        skin = skin * (1 - 0.3 * _blur(freckles)[None] * (m["cheeks"] * 2).clamp(max=1))
        moles = (self._noise(g, cells=400, octave_only=True) > 1 - u(0, 0.002)).float()
        skin = skin * (1 - 0.6 * _blur(moles)[None] * m["skin"])
        # Stubble: fine dark dots in the beard area.
        stubble = u(0, 1) ** 3 * m["beard"] * (self._noise(g, cells=480, octave_only=True) > 0.45).float()
        hair = torch.tensor([0.08, 0.06, 0.05]) * u(0.5, 2.5)
        skin = torch.lerp(skin, hair[:, None, None], 0.35 * stubble)
        # Ageing: crease lines as stretched noise, mostly on the forehead and around the eyes.
        age = u(0, 1) ** 2
        creases = (self._noise(g, cells=160, stretch=6.0, octave_only=True) > 0.8).float()
        skin = skin * (1 - 0.08 * age * _blur(creases)[None])
        # Make-up: eyeshadow on the lids, lipstick, blush.
        if u() < 0.35:
            shadow = torch.rand(3, generator=g) * 0.6 + 0.1
            skin = torch.lerp(skin, shadow[:, None, None], 0.6 * m["lids"] * u(0.3, 1.0))
        if u() < 0.35:
            lipstick = torch.tensor([0.55, 0.08, 0.15]) * u(0.6, 1.3)
            skin = torch.lerp(skin, lipstick[:, None, None].clamp(0, 1), m["lips"] * u(0.5, 0.9))
        brow_colour = hair * u(0.8, 1.5)
        skin = torch.lerp(skin, brow_colour[:, None, None], m["brows"] * u(0.5, 0.95))
        # Eyes, teeth, tongue.
        iris_colour = torch.tensor([0.25, 0.15, 0.08]) * u(0.5, 2.0) + torch.tensor([0.0, 0.08, 0.15]) * u(0, 2)
        sclera = torch.tensor([0.92, 0.9, 0.88])
        eye = torch.lerp(sclera[:, None, None].expand_as(skin), iris_colour[:, None, None].clamp(0, 1).expand_as(skin), m["iris"])
        texture = torch.lerp(skin, eye, m["eyeball"])
        texture = torch.lerp(texture, torch.tensor([0.93, 0.9, 0.82])[:, None, None].expand_as(texture), m["teeth"])
        texture = torch.lerp(texture, torch.tensor([0.75, 0.38, 0.40])[:, None, None].expand_as(texture), m["tongue"])
        return _fill_outside(texture.clamp(0, 1), self.texels.covered)

    def _noise(self, g: torch.Generator, cells: int, stretch: float = 1.0, octave_only: bool = False) -> torch.Tensor:
        """An upsampled random grid over the texture: standardised and smooth (bicubic), or
        with ``octave_only`` in [0, 1] (bilinear: no overshoot, so thresholds near 1 pick
        sparse spots)."""
        rows = max(2, int(cells * self.height / self.width))
        grid = torch.rand(1, 1, rows, max(2, int(cells / stretch)), generator=g)
        mode = "bilinear" if octave_only else "bicubic"
        field = F.interpolate(grid, size=(self.height, self.width), mode=mode, align_corners=False)[0, 0]
        if octave_only:
            return field
        return (field - field.mean()) / (field.std() + 1e-6)


def _inside_polygon(points: torch.Tensor, polygon: torch.Tensor) -> torch.Tensor:
    """Even-odd rule: (..., 2) points inside the closed (K, 2) polygon."""
    inside = torch.zeros(points.shape[:-1], dtype=torch.bool)
    x, y = points[..., 0], points[..., 1]
    for a, b in zip(polygon, torch.roll(polygon, -1, 0)):
        crosses = (a[1] > y) != (b[1] > y)
        x_cross = a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1] + 1e-12)
        inside ^= crosses & (x < x_cross)
    return inside


def _near_polyline(points: torch.Tensor, line: torch.Tensor, radius: float) -> torch.Tensor:
    """Soft mask in [0, 1] of (..., 3) points within ``radius`` of a 3D polyline."""
    best = torch.full(points.shape[:-1], torch.inf)
    for a, b in zip(line[:-1], line[1:]):
        t = (((points - a) * (b - a)).sum(-1) / ((b - a) ** 2).sum()).clamp(0, 1)
        best = torch.minimum(best, torch.linalg.norm(points - (a + t[..., None] * (b - a)), dim=-1))
    return (1 - best / radius).clamp(0, 1) ** 0.5


def _soften(mask: torch.Tensor, passes: int = 2) -> torch.Tensor:
    for _ in range(passes):
        mask = _blur(mask)
    return mask


def _blur(image: torch.Tensor) -> torch.Tensor:
    kernel = torch.tensor([1.0, 2.0, 1.0])
    kernel = (kernel[:, None] * kernel[None]) / 16
    return F.conv2d(image[None, None], kernel[None, None], padding=1)[0, 0]


def _fill_outside(texture: torch.Tensor, covered: torch.Tensor, passes: int = 8) -> torch.Tensor:
    """Grow colours a few texels past UV island borders, so filtering shows no seams."""
    texture = texture * covered
    weight = covered.float()
    for _ in range(passes):
        grown = F.max_pool2d(weight[None, None], 3, 1, 1)[0, 0]
        summed = F.avg_pool2d((texture * weight)[None], 3, 1, 1)[0]
        count = F.avg_pool2d(weight[None, None], 3, 1, 1)[0]
        fill = summed / count.clamp(min=1e-6)
        texture = torch.where(weight > 0, texture, fill * (grown > 0))
        weight = grown
    return texture
