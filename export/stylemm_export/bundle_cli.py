"""`stylemm-bundle`: look into and check a bundle written by stylemm-export.

  stylemm-bundle info out/realistic.smm      what it holds (style, sizes, parameters, files)
  stylemm-bundle verify out/realistic.smm    checksums, schema, and one animated character
  stylemm-bundle preview out/realistic.smm --out out/preview   contact sheet, expression video, turntable
  stylemm-bundle gallery out/realistic.smm out/orc.smm --out out/styles.png   the same faces in every style
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stylemm-bundle", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    info = sub.add_parser("info", help="print what the bundle holds")
    info.add_argument("bundle", type=Path)
    info.add_argument("--json", action="store_true", help="print the whole manifest as JSON")
    info.set_defaults(run=_info)
    verify = sub.add_parser("verify", help="check checksums and schema, and animate one character")
    verify.add_argument("bundle", type=Path)
    verify.set_defaults(run=_verify)
    preview = sub.add_parser("preview", help="contact sheet of characters and an expression video, made through the runtime")
    preview.add_argument("bundle", type=Path)
    preview.add_argument("--out", type=Path, default=Path("out/preview"), help="output folder (default: out/preview)")
    preview.add_argument("--count", type=int, default=8, help="characters on the contact sheet (default: 8)")
    preview.add_argument("--size", type=int, default=256, help="pixels per picture (default: 256)")
    preview.add_argument("--turntable-seconds", type=float, default=10.0, help="length of turntable.mp4 (default: 10; 0: none)")
    preview.set_defaults(run=_preview)
    gallery = sub.add_parser("gallery", help="the same identities in every bundle's style, plus expressions, in one picture")
    gallery.add_argument("bundles", type=Path, nargs="+", help="one bundle per row, e.g. out/realistic.smm out/orc.smm")
    gallery.add_argument("--out", type=Path, default=Path("out/styles.png"), help="PNG to write (default: out/styles.png)")
    gallery.add_argument("--identities", type=int, default=6, help="identities per row (default: 6)")
    gallery.add_argument("--size", type=int, default=160, help="pixels per picture (default: 160)")
    gallery.set_defaults(run=_gallery)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, RuntimeError) as e:  # BundleError is a ValueError
        print(f"stylemm-bundle: error: {e}", file=sys.stderr)
        return 2


def _info(args) -> int:
    from stylemm_runtime.bundle import Bundle

    manifest = Bundle(args.bundle).manifest
    if args.json:
        print(json.dumps(manifest, indent=2))
        return 0
    parameters, mesh = manifest["parameters"], manifest["mesh"]
    size = sum(entry["bytes"] for entry in manifest["files"].values()) / 2**20
    print(f"{args.bundle}: style '{manifest['style']}' of {manifest['source_model']}, format {manifest['format_version']}.{manifest.get('format_minor', 0)}, {size:.1f} MB")
    print(f"  mesh        {mesh['vertices']} vertices, {mesh['triangles']} triangles, {mesh['uv_vertices']} UV vertices")
    print(f"  shape       {parameters['shape']['dim']} coefficients")
    print(f"  expression  {len(parameters['expression']['names'])} weights, range {parameters['expression']['range']}")
    print(f"  pose        {', '.join(parameters['pose']['joints'])}")
    generator = manifest["networks"].get("texture_generator") or manifest["networks"]["texture"]  # "texture" before 1.1
    print(f"  texture     z of {parameters['texture_z']['dim']}, image {generator['outputs']['texture'][1:]}")
    print(f"  written by  {manifest['created_by']}")
    return 0


def _verify(args) -> int:
    import numpy as np

    import stylemm_runtime
    from stylemm_export.bundle import validate_manifest

    start = time.perf_counter()
    model = stylemm_runtime.load(args.bundle)  # sizes, sha256, format version, shapes
    validate_manifest(model.bundle.manifest)
    character = model.character(seed=0)
    vertices = character.mesh(expression=np.full(len(model.expression_names), 0.3, np.float32), pose={model.joint_names[-1]: [0, 0.2, 0]})
    texture = character.texture()
    if not np.isfinite(vertices).all():
        print("stylemm-bundle: error: the deformer produced NaN or Inf vertices", file=sys.stderr)
        return 1
    print(f"{args.bundle}: OK ({len(model.bundle.manifest['files'])} files checked, a character animated: "
          f"{vertices.shape[0]} vertices, texture {texture.shape[1]}x{texture.shape[0]}; {time.perf_counter() - start:.1f} s)")  # fmt: skip
    return 0


SWEEP_FRAMES = 12  # per transition: neutral -> expression, and back


def _preview(args) -> int:
    """Characters drawn by the GL preview from meshes and textures the runtime made."""
    import numpy as np
    from PIL import Image

    import stylemm_runtime
    from stylemm.io.atomic import atomic_path
    from stylemm.viz.gl import write_video
    from stylemm.viz.sheets import ARKIT_PRESETS, contact_sheet
    from stylemm_export.gallery import BundlePainter, turntable

    if args.count < 1:
        raise ValueError("--count must be at least 1")
    if args.turntable_seconds < 0:
        raise ValueError("--turntable-seconds must be >= 0")
    model = stylemm_runtime.load(args.bundle)
    presets = {name: e for name, e in ARKIT_PRESETS.items() if set(e) <= set(model.expression_names)}
    painter = BundlePainter(args.size)
    characters = [model.character(seed=seed) for seed in range(args.count)]
    names = list(presets)
    pictures = [Image.fromarray(painter.draw(model, c, presets[names[i % len(names)]])) for i, c in enumerate(characters)]
    labels = [f"seed {i}: {names[i % len(names)]}" for i in range(args.count)]
    ramp = np.concatenate([np.linspace(0, 1, SWEEP_FRAMES), np.linspace(1, 0, SWEEP_FRAMES)])
    frames = [painter.draw(model, characters[0], {k: t * v for k, v in e.items()}) for e in presets.values() if e for t in ramp]
    painter.close()
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out / "characters.png") as tmp:
        contact_sheet(pictures, columns=min(4, args.count), labels=labels).save(tmp, format="PNG")
    write_video(args.out / "expressions.mp4", frames)
    written = f"{args.out / 'characters.png'} ({args.count} characters), {args.out / 'expressions.mp4'} ({len(frames)} frames)"
    if args.turntable_seconds > 0:
        write_video(args.out / "turntable.mp4", turntable(model, characters[0], args.size, args.turntable_seconds))
        written += f" and {args.out / 'turntable.mp4'} ({args.turntable_seconds:g} s)"
    print(f"wrote {written}")
    return 0


def _gallery(args) -> int:
    import stylemm_runtime
    from stylemm.io.atomic import atomic_path
    from stylemm_export.gallery import gallery

    sheet = gallery([stylemm_runtime.load(path) for path in args.bundles], args.identities, args.size)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out) as tmp:
        sheet.save(tmp, format="PNG", optimize=True)
    print(f"wrote {args.out} ({len(args.bundles)} styles x {args.identities} identities, {sheet.width}x{sheet.height})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
