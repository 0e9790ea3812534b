"""`stylemm-eval`: measure a style pack against its recipe's ground truth (paper 4.3-4.4).

  stylemm-eval runs/orc            a finished `stylemm-train` run (its pack/)
  stylemm-eval orc                 a shipped style, or the path of any pack folder
  stylemm-eval runs/orc --clip DIR also the style score (CLIP image-text similarity)
  stylemm-eval --table             the README's table of every shipped style (from their evaluation.json)

Prints the measures and writes them to the pack's evaluation.json (key "stylization").
The recipe is the one the pack was trained on (its provenance); --style names another.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def resolve_pack(name: str) -> Path:
    """A run folder's pack/, or what stylemm.load_pack takes (a shipped style or a pack folder)."""
    from stylemm.finetune.train import PACK
    from stylemm.packs import find_pack

    run = Path(name) / PACK
    return run if (run / "pack.json").is_file() else find_pack(name)


def pack_recipe(pack, style: str | None):
    from stylemm.stylize.recipes import Recipe, get_recipe

    if style:
        return get_recipe(style)
    recipe = pack.provenance.get("finetune", {}).get("data", {}).get("recipe")
    if not recipe or "strengths" not in recipe:
        raise ValueError(f"{pack.path} records no recipe it was trained on; pass --style NAME to measure against a named one")
    return Recipe(recipe["name"], recipe["prompt"], dict(recipe["strengths"]))


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    if args.table:
        return _print_table()
    if args.pack is None:
        parser.error("name a run folder, a shipped style or a pack folder (or pass --table)")
    import torch

    from stylemm.facemodel import load
    from stylemm.finetune.perceptual import CLIPDistance
    from stylemm.io.atomic import write_json
    from stylemm.metrics.stylization import evaluate
    from stylemm.packs import load_pack

    torch.set_num_threads(args.threads)
    try:
        folder = resolve_pack(args.pack)
        pack = load_pack(folder)
        recipe = pack_recipe(pack, args.style)
        clip = CLIPDistance.from_folder(args.clip) if args.clip else None
    except (ValueError, FileNotFoundError) as e:
        print(f"stylemm-eval: error: {e}", file=sys.stderr)
        return 2
    source = load_pack(args.source)
    result = evaluate(pack, source, load(pack.source_model), recipe, clip, args.count, args.diversity_meshes)
    evaluation = dict(pack.evaluation)
    evaluation["stylization"] = result
    write_json(folder / "evaluation.json", evaluation)
    print(json.dumps(result, indent=2))
    print(f"wrote {folder / 'evaluation.json'}")
    return 0


def _print_table() -> int:
    from stylemm.metrics.style_table import style_table
    from stylemm.packs import load_pack, shipped_styles

    print(style_table({style: load_pack(style).evaluation for style in shipped_styles() if style != "realistic"}))
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stylemm-eval", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pack", nargs="?", help="a stylemm-train run folder, a shipped style name or a pack folder")
    p.add_argument("--table", action="store_true", help="print the table of every shipped stylized style's measures and exit")
    p.add_argument("--style", help="measure against this named recipe instead of the one the pack was trained on")
    p.add_argument("--source", default="realistic", help="the source pack (default: realistic)")
    p.add_argument("--count", type=int, default=32, help="held-out samples for recovery and fidelity (default 32)")
    p.add_argument("--diversity-meshes", type=int, default=1000, help="neutral meshes for the diversity PCA (paper: 1000)")
    p.add_argument("--clip", help="local CLIP folder, for the style score")
    p.add_argument("--threads", type=int, default=2)
    return p


if __name__ == "__main__":
    sys.exit(main())
