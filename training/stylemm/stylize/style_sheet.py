"""A picture of every named style: source | stylized for a few identities, one style per row.

``python -m stylemm.stylize.style_sheet docs/images/recipes.png`` (what the README shows). The
sources are rendered as the pair dataset renders them (G_src textures, the training renderer);
each row runs the recipe stylizer on the same sources.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from PIL import Image, ImageDraw

from stylemm.render import MeshRenderer, orbit_camera
from stylemm.stylize.faces import SourceFaces
from stylemm.stylize.recipe_stylizer import RecipeStylizer
from stylemm.stylize.recipes import get_recipe, list_styles

LABEL_WIDTH = 92


def example_sources(model, count: int, size: int, seed: int = 0) -> SourceFaces:
    """A few random faces seen from different sides, textured by the shipped G_src."""
    import stylemm

    g = torch.Generator().manual_seed(seed)
    shape = torch.randn(count, model.shape_dim, generator=g)
    expression = torch.zeros(count, model.expression_dim)
    smile = [n for n in ("mouthSmileLeft", "mouthSmileRight") if n in model.expression_names]
    for name in smile:  # one of them smiles, so expressions show
        expression[count - 1, model.expression_names.index(name)] = 0.6
    pose = {"neck": torch.zeros(count, 3)}
    generator = stylemm.load_pack("realistic").texture_generator
    texture_z = torch.randn(count, generator.config.z_dim, generator=g)
    with torch.no_grad():
        texture = generator.texture(texture_z)
        yaw = torch.linspace(-30, 30, count) if count > 1 else torch.zeros(1)
        camera = orbit_camera(yaw, torch.full((count,), 5.0), distance=0.72, target=(0, 0.025, 0.02), width=size, height=size)
        vertices = model(shape=shape, expression=expression, pose=pose)
        images = MeshRenderer(model.faces, model.uvs, model.uv_faces)(vertices, camera, texture=texture).rgb
    return SourceFaces(shape, expression, pose, texture_z, texture, camera, vertices, images)


def style_sheet(model, styles: list[str] | None = None, count: int = 3, size: int = 112, seed: int = 0) -> Image.Image:
    sources = example_sources(model, count, size, seed)
    rows = []
    for name in styles or list_styles():
        stylized = RecipeStylizer(model, get_recipe(name), variation=0.0).stylize(sources, torch.Generator().manual_seed(seed))
        tiles = [torch.cat([sources.images[i], stylized.images[i]], 2) for i in range(count)]
        row = (torch.cat(tiles, 2).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        label = Image.new("RGB", (LABEL_WIDTH, size), "white")
        ImageDraw.Draw(label).text((4, size // 2 - 6), name, fill="black")
        rows.append(np.concatenate([np.asarray(label), row], 1))
    return Image.fromarray(np.concatenate(rows, 0))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="PNG to write")
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--size", type=int, default=112)
    args = parser.parse_args(argv)
    from stylemm.facemodel import load
    from stylemm.io.atomic import atomic_path

    sheet = style_sheet(load("openhead"), count=args.count, size=args.size)
    with atomic_path(args.out) as tmp:
        sheet.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(tmp, format="PNG", optimize=True)
    print(f"wrote {args.out} ({sheet.width}x{sheet.height})")


if __name__ == "__main__":
    main()
