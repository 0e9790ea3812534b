"""`stylemm-export`: write a style as a bundle for the runtime and game engines.

  stylemm-export --style realistic --out out/realistic.smm [--force] [--glb out/head.glb --character-seed 7] [--trt]
  stylemm-export --style runs/orc/pack --out orc.smm

--style takes a shipped style pack's name (`realistic` is the source networks D_src and G_src
of OpenHead; `stylemm-export --list-styles` lists them all) or the path of a pack folder that
stylemm-train wrote.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stylemm-export", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--style", default="realistic", help="a shipped style's name or a style pack folder (default: realistic)")
    parser.add_argument("--list-styles", action="store_true", help="list the shipped styles and exit")
    parser.add_argument("--out", type=Path, help="bundle to write: a directory, or a file ending in .smm")
    parser.add_argument("--force", action="store_true", help="replace an existing bundle (and .glb)")
    parser.add_argument("--glb", type=Path, help="also write one character as glTF binary: mesh, texture, morph targets, skin")
    parser.add_argument("--character-seed", type=int, default=0, help="seed of the --glb character's identity and texture")
    parser.add_argument("--trt", action="store_true", help="also build TensorRT engines (needs an NVIDIA GPU and tensorrt)")
    args = parser.parse_args(argv)
    if args.list_styles:
        from stylemm.packs import shipped_styles

        print("\n".join(shipped_styles()))
        return 0
    if args.out is None:
        parser.error("--out is required")
    try:
        return _export(args)
    except (ValueError, FileNotFoundError, FileExistsError, RuntimeError) as e:
        print(f"stylemm-export: error: {e}", file=sys.stderr)
        return 2


def _export(args) -> int:
    from stylemm import load_pack
    from stylemm.facemodel import load
    from stylemm_export.bundle import write_bundle
    from stylemm_runtime.bundle import Bundle

    start = time.perf_counter()
    pack = load_pack(args.style)
    print(f"loaded the style pack '{pack.style}' ({pack.path}) of the source model {pack.source_model}", flush=True)
    model = load(pack.source_model)
    print(f"exporting ONNX networks and writing {args.out} ...", flush=True)
    write_bundle(args.out, model, pack.deformer, pack.texture_generator, style=pack.style, prompt=pack.prompt, overwrite=args.force)
    manifest = Bundle(args.out).manifest
    size = sum(entry["bytes"] for entry in manifest["files"].values()) / 2**20
    print(f"wrote {args.out} ({size:.1f} MB, format {manifest['format_version']}.{manifest.get('format_minor', 0)}) in {time.perf_counter() - start:.1f} s:")
    width = max(map(len, manifest["files"]))
    for name, entry in sorted(manifest["files"].items()):
        print(f"  {name:<{width}} {entry['bytes'] / 2**10:>9.1f} KiB  sha256 {entry['sha256'][:12]}")
    if args.glb:
        _write_glb(args)
    if args.trt:
        from stylemm_export.tensorrt_engines import build_engines

        for name, path in build_engines(args.out).items():
            print(f"TensorRT engine for {name}: {path}")
    return 0


def _write_glb(args) -> None:
    import stylemm_runtime
    from stylemm_export.gltf import write_character_glb
    from stylemm_runtime import baking

    if args.glb.exists() and not args.force:
        raise FileExistsError(f"{args.glb} exists; pass --force to replace it")
    model = stylemm_runtime.load(args.out)
    character = model.character(seed=args.character_seed)
    print(f"baking character {args.character_seed} into {len(model.expression_names)} morph targets ...", flush=True)
    morphs = baking.bake(model, character.shape)
    error = baking.measure(model, character.shape, morphs)
    write_character_glb(args.glb, model, character, morphs)
    print(f"wrote {args.glb} ({args.glb.stat().st_size / 2**20:.1f} MB); morph targets vs the network on "
          f"{error['samples']} held-out expressions: mean {error['mean_mm']:.3f} mm, p99 {error['p99_mm']:.3f} mm")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
