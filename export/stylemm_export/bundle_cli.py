"""`stylemm-bundle`: look into and check a bundle written by stylemm-export.

  stylemm-bundle info out/realistic.smm      what it holds (style, sizes, parameters, files)
  stylemm-bundle verify out/realistic.smm    checksums, schema, and one animated character
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
    args = parser.parse_args(argv)
    from stylemm_runtime.bundle import BundleError

    try:
        return args.run(args)
    except BundleError as e:
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
    print(f"{args.bundle}: style '{manifest['style']}' of {manifest['source_model']}, format v{manifest['format_version']}, {size:.1f} MB")
    print(f"  mesh        {mesh['vertices']} vertices, {mesh['triangles']} triangles, {mesh['uv_vertices']} UV vertices")
    print(f"  shape       {parameters['shape']['dim']} coefficients")
    print(f"  expression  {len(parameters['expression']['names'])} weights, range {parameters['expression']['range']}")
    print(f"  pose        {', '.join(parameters['pose']['joints'])}")
    print(f"  texture     z of {parameters['texture_z']['dim']}, image {manifest['networks']['texture']['outputs']['texture'][1:]}")
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


if __name__ == "__main__":
    sys.exit(main())
