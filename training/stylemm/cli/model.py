"""`stylemm-model`: inspect a source face model and write sample heads.

  stylemm-model info
  stylemm-model samples --count 8 --out out/samples
  stylemm-model textures --count 16 --out out/textures
  stylemm-model convert-flame generic_model.pkl flame.npz
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from stylemm.viz.sheets import ARKIT_PRESETS, framing_camera

# Expressions shown by `samples` for models with ARKit names (OpenHead).


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError, ImportError, RuntimeError) as e:  # bad input or a missing piece: say which
        print(f"stylemm-model: error: {e}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stylemm-model", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    def model_options(p):
        p.add_argument("--model", default="openhead", choices=["openhead", "flame"], help="source model (default: openhead)")
        p.add_argument("--path", help="FLAME model file (.pkl or converted .npz); needed for --model flame")

    info = sub.add_parser("info", help="print the model's sizes and names")
    model_options(info)
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.set_defaults(run=_info)

    samples = sub.add_parser("samples", help="write random identities x expressions as meshes and a PNG contact sheet")
    model_options(samples)
    samples.add_argument("--count", type=int, default=6, help="number of random identities (default: 6)")
    samples.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    samples.add_argument("--out", type=Path, default=Path("out/samples"), help="output folder (default: out/samples)")
    samples.add_argument("--format", default="obj,glb", help="mesh formats, comma separated: obj, glb (default: obj,glb)")
    samples.add_argument("--size", type=int, default=256, help="pixels per picture in the contact sheet")
    samples.set_defaults(run=_samples)

    textures = sub.add_parser("textures", help="write a contact sheet of procedural skin textures and textured heads")
    textures.add_argument("--count", type=int, default=16, help="number of textures (default: 16)")
    textures.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    textures.add_argument("--out", type=Path, default=Path("out/textures"), help="output folder (default: out/textures)")
    textures.add_argument("--size", type=int, default=256, help="pixels per head picture")
    textures.set_defaults(run=_textures, model="openhead", path=None)

    convert = sub.add_parser("convert-flame", help="convert a FLAME .pkl into a plain .npz (no pickle needed afterwards)")
    convert.add_argument("pkl", type=Path)
    convert.add_argument("npz", type=Path)
    convert.set_defaults(run=_convert)
    return parser


def _load(args):
    from stylemm.facemodel import load

    options = {"path": args.path} if args.path else {}
    return load(args.model, **options)


def _info(args) -> int:
    model = _load(args)
    summary = {
        "name": model.name,
        "vertices": model.num_vertices,
        "triangles": int(model.faces.shape[0]),
        "uv_coordinates": int(model.uvs.shape[0]),
        "shape_dim": model.shape_dim,
        "expression_dim": model.expression_dim,
        "expression_range": model.expression_range,
        "joints": model.joint_names,
        "parts": {name: int((model.part_labels == i).sum()) for i, name in enumerate(model.part_names)},
        "pose_correctives": model.posedirs is not None,
        "metadata": model.metadata,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    for key, value in summary.items():
        if key == "metadata":
            continue
        print(f"{key:>18}: {value}")
    print(f"{'expressions':>18}: {', '.join(model.expression_names[:8])}{', ...' if model.expression_dim > 8 else ''}")
    return 0


def _samples(args) -> int:
    import torch
    from PIL import Image
    from tqdm import tqdm

    from stylemm.viz.gl import GLRenderer
    from stylemm.io.mesh import write_glb, write_obj
    from stylemm.viz.sheets import contact_sheet

    formats = {f.strip() for f in args.format.split(",") if f.strip()}
    if not formats <= {"obj", "glb"}:
        raise ValueError(f"--format takes obj and/or glb, got {args.format!r}")
    if args.count < 1:
        raise ValueError("--count must be at least 1")
    model = _load(args)
    generator = torch.Generator().manual_seed(args.seed)
    shapes = torch.randn(args.count, model.shape_dim, generator=generator)
    expressions = _expressions(model, generator)
    faces, uvs, uv_faces = (model.faces.numpy(), model.uvs.numpy(), model.uv_faces.numpy())
    gl = GLRenderer(args.size, args.size)
    pictures, labels = [], []
    args.out.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        for i in tqdm(range(args.count), desc="identities", unit="head"):
            for name, expression in expressions.items():
                vertices = model(shape=shapes[i], expression=expression)[0].numpy()
                stem = args.out / f"id{i:02d}_{name}"
                if "obj" in formats:
                    write_obj(stem.with_suffix(".obj"), vertices, faces, uvs, uv_faces)
                if "glb" in formats:
                    write_glb(stem.with_suffix(".glb"), vertices, faces, uvs, uv_faces)
                pictures.append(Image.fromarray(gl.render(vertices, faces, _camera(model, 25, args.size))))
                labels.append(f"id {i} {name}")
        sheet = args.out / "contact_sheet.png"
        contact_sheet(pictures, columns=len(expressions), labels=labels).save(sheet)
        _parts_pictures(model, gl, args.out, args.size)
        _videos(model, gl, shapes[0], expressions, args.out, args.size)
    gl.close()
    print(f"wrote {args.count * len(expressions)} heads ({', '.join(sorted(formats))}), {sheet}, "
          "parts.png, uv_layout.png, turntable.mp4 and expressions.mp4")  # fmt: skip
    return 0


def _camera(model, yaw: float, size: int):
    return framing_camera(model.template.numpy(), yaw, size)


def _parts_pictures(model, gl, out: Path, size: int) -> None:
    """The part labels on the template (front, side, back) and on the UV layout."""
    from PIL import Image

    from stylemm.viz.sheets import contact_sheet, part_palette, uv_layout, with_legend

    faces = model.faces.numpy()
    palette = part_palette(len(model.part_names))
    colors = palette[model.part_labels.numpy()[faces[:, 0]]]
    views = [Image.fromarray(gl.render(model.template.numpy(), faces, _camera(model, yaw, size), face_colors=colors))
             for yaw in (0, 60, 180)]  # fmt: skip
    with_legend(contact_sheet(views, columns=3), model.part_names, palette).save(out / "parts.png")
    if len(model.uvs):
        layout = uv_layout(model.uvs.numpy(), model.uv_faces.numpy(), colors)
        with_legend(layout, model.part_names, palette).save(out / "uv_layout.png")


TURNTABLE_FRAMES = 90  # 3 s at 30 fps
SWEEP_FRAMES = 12  # per transition: neutral -> expression, and back


def _videos(model, gl, shape, expressions: dict, out: Path, size: int) -> None:
    """A turntable of one head, and the same head going through every expression."""
    from stylemm.viz.gl import write_video

    faces = model.faces.numpy()
    neutral = model(shape=shape)[0].numpy()
    write_video(out / "turntable.mp4", (gl.render(neutral, faces, _camera(model, yaw, size))
                                        for yaw in np.linspace(0, 360, TURNTABLE_FRAMES, endpoint=False)))  # fmt: skip
    frames = []
    ramp = np.concatenate([np.linspace(0, 1, SWEEP_FRAMES), np.linspace(1, 0, SWEEP_FRAMES)])
    for expression in expressions.values():
        if expression is None or len(expression) == 0:
            continue  # neutral
        for t in ramp:
            scaled = {k: t * v for k, v in expression.items()} if isinstance(expression, dict) else t * expression
            vertices = model(shape=shape, expression=scaled)[0].numpy()
            frames.append(gl.render(vertices, faces, _camera(model, 20, size)))
    write_video(out / "expressions.mp4", frames)


def _expressions(model, generator) -> dict:
    """Named ARKit presets where the model has those names, else random PCA expressions."""
    names = set(model.expression_names)
    presets = {k: v for k, v in ARKIT_PRESETS.items() if set(v) <= names}
    if len(presets) > 1:
        return presets
    import torch

    return {"neutral": None, **{f"expr{k}": torch.randn(model.expression_dim, generator=generator) for k in range(3)}}


def _textures(args) -> int:
    import torch
    from PIL import Image

    from stylemm.viz.gl import GLRenderer
    from stylemm.viz.sheets import contact_sheet
    from stylemm.textures import SkinTextures

    if args.count < 1:
        raise ValueError("--count must be at least 1")
    model = _load(args)
    generator = torch.Generator().manual_seed(args.seed)
    maps = (SkinTextures(model).sample(args.count, generator).permute(0, 2, 3, 1).numpy() * 255).round().astype("uint8")
    shapes = torch.randn(args.count, model.shape_dim, generator=generator)
    gl = GLRenderer(args.size, args.size)
    faces, uvs, uv_faces = model.faces.numpy(), model.uvs.numpy(), model.uv_faces.numpy()
    with torch.no_grad():
        heads = [Image.fromarray(gl.render(model(shape=shape)[0].numpy(), faces, _camera(model, 25, args.size),
                                           texture=texture, uvs=uvs, uv_faces=uv_faces))
                 for shape, texture in zip(shapes, maps)]  # fmt: skip
    gl.close()
    args.out.mkdir(parents=True, exist_ok=True)
    columns = min(args.count, 4)
    contact_sheet([Image.fromarray(m) for m in maps], columns).save(args.out / "textures.png")
    contact_sheet(heads, columns).save(args.out / "textured_heads.png")
    print(f"wrote {args.out / 'textures.png'} and {args.out / 'textured_heads.png'}")
    return 0


def _convert(args) -> int:
    from stylemm.facemodel.flame import convert_flame

    convert_flame(args.pkl, args.npz)
    print(f"wrote {args.npz}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
