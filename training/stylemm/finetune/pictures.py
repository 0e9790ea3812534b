"""A style pack beside the source for people: the same identities (shape and texture latent)
realistic and stylized, and an expression strip of stylized faces.

  python -m stylemm.finetune.pictures PACK_OR_RUN --out docs/images/styles/orc.png

Drawn with the trainer's own renderer and the style's shading, so the picture shows what
the networks learned, not a different shader.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from PIL import Image

from stylemm.viz.sheets import ARKIT_PRESETS, BACKGROUND, contact_sheet

IDENTITIES, SEED, SIZE, YAW = 8, 11, 192, 20.0


@torch.no_grad()
def _renders(model, networks, shapes, texture_z, expression, shading, size: int) -> list:
    from stylemm.render import MeshRenderer
    from stylemm.stylize.source import view_camera

    renderer = MeshRenderer(model.faces, model.uvs, model.uv_faces)
    vertices = networks.deformer(shapes, expression)
    yaw = torch.full((len(shapes),), YAW)
    rgb = renderer(vertices, view_camera(yaw, torch.zeros_like(yaw), size), texture=networks.texture_generator.texture(texture_z),
                   shading=shading).rgb.clamp(0, 1)  # fmt: skip
    return [Image.fromarray((img.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)) for img in rgb]


def sheet(pack, source, model, shading=None, count: int = IDENTITIES, size: int = SIZE, seed: int = SEED):
    """Rows: realistic identities, the same stylized, then stylized identity 0 in expressions."""
    rng = np.random.default_rng(seed)
    shapes = torch.from_numpy(rng.standard_normal((count, model.shape_dim)).astype(np.float32))
    texture_z = torch.from_numpy(rng.standard_normal((count, source.texture_generator.config.z_dim)).astype(np.float32))
    neutral = torch.zeros(count, len(model.expression_names))
    tiles = _renders(model, source, shapes, texture_z, neutral, None, size)
    tiles += _renders(model, pack, shapes, texture_z, neutral, shading, size)
    labels = [f"realistic #{i}" for i in range(count)] + [f"{pack.style} #{i}" for i in range(count)]
    presets = list(ARKIT_PRESETS.items())
    expressions = torch.zeros(len(presets), len(model.expression_names))
    for row, (_, weights) in enumerate(presets):
        for name, value in weights.items():
            expressions[row, model.expression_names.index(name)] = value
    strip = _renders(model, pack, shapes[:1].expand(len(presets), -1), texture_z[:1].expand(len(presets), -1), expressions, shading, size)
    strip += _renders(model, source, shapes[:1].expand(len(presets), -1), texture_z[:1].expand(len(presets), -1), expressions, None, size)
    pad = count - len(presets)  # the expression rows are padded to the grid's width
    blank = Image.new("RGB", (size, size), BACKGROUND)
    tiles += strip[: len(presets)] + [blank] * pad + strip[len(presets) :] + [blank] * pad
    labels += [f"{pack.style} #0 {n}" for n, _ in presets] + [""] * pad + [f"realistic #0 {n}" for n, _ in presets] + [""] * pad
    return contact_sheet(tiles, columns=count, labels=labels)


def main(argv: list[str] | None = None) -> int:
    from stylemm.cli.eval import pack_recipe, resolve_pack
    from stylemm.facemodel import load
    from stylemm.io.atomic import atomic_path
    from stylemm.packs import load_pack

    p = argparse.ArgumentParser(prog="python -m stylemm.finetune.pictures", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("pack", help="a stylemm-train run folder, a shipped style or a pack folder")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--source", default="realistic")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    pack = load_pack(resolve_pack(args.pack))
    shading = pack_recipe(pack, None).shading
    image = sheet(pack, load_pack(args.source), load(pack.source_model), shading)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out) as tmp:
        image.save(tmp, format="PNG")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
