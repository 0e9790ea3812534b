"""`stylemm-export`: write a style as a bundle for the runtime and game engines.

  stylemm-export --style realistic --out out/realistic.smm [--force]

Styles: `realistic` is the shipped source networks (D_src, G_src) of the source model.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

STYLES = ("realistic",)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stylemm-export", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--style", default="realistic", choices=STYLES, help="style to export (default: realistic)")
    parser.add_argument("--model", default="openhead", help="source model (default: openhead)")
    parser.add_argument("--out", type=Path, required=True, help="bundle to write: a directory, or a file ending in .smm")
    parser.add_argument("--force", action="store_true", help="replace an existing bundle")
    args = parser.parse_args(argv)
    try:
        return _export(args)
    except (ValueError, FileNotFoundError, FileExistsError) as e:
        print(f"stylemm-export: error: {e}", file=sys.stderr)
        return 2


def _export(args) -> int:
    from stylemm import load_pretrained
    from stylemm.facemodel import load
    from stylemm_export.bundle import write_bundle
    from stylemm_runtime.bundle import Bundle

    start = time.perf_counter()
    print(f"loading {args.model} and its {args.style} networks ...", flush=True)
    model, networks = load(args.model), load_pretrained(args.model)
    print(f"exporting ONNX networks and writing {args.out} ...", flush=True)
    write_bundle(args.out, model, networks.deformer, networks.texture_generator, style=args.style, overwrite=args.force)
    manifest = Bundle(args.out).manifest
    size = sum(entry["bytes"] for entry in manifest["files"].values()) / 2**20
    print(f"wrote {args.out} ({size:.1f} MB, format v{manifest['format_version']}) in {time.perf_counter() - start:.1f} s:")
    for name, entry in sorted(manifest["files"].items()):
        print(f"  {name:<24} {entry['bytes'] / 2**10:>9.1f} KiB  sha256 {entry['sha256'][:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
