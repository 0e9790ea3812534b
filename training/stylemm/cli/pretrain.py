"""`stylemm-pretrain`: train the source networks on a source model.

  stylemm-pretrain deformer --model openhead --out runs/deformer-openhead [--resume]
  stylemm-pretrain texture-generator --model openhead --out runs/texture-openhead [--resume]
  stylemm-pretrain ship --deformer runs/deformer-openhead --texture-generator runs/texture-openhead
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

from stylemm.io.atomic import atomic_path, write_json


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    args.command = ["stylemm-pretrain", *argv]
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError) as e:
        print(f"stylemm-pretrain: error: {e}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    from stylemm.pretrain.deformer import TrainOptions
    from stylemm.nets.deformer import DeformerConfig
    from stylemm.nets.texture_generator import TextureGeneratorConfig
    from stylemm.pretrain.texture_generator import GanOptions

    parser = argparse.ArgumentParser(prog="stylemm-pretrain", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    deformer = sub.add_parser("deformer", help="distil the source model into D_src (resumable)")
    deformer.add_argument("--model", default="openhead", choices=["openhead", "flame"])
    deformer.add_argument("--path", help="FLAME model file, for --model flame")
    deformer.add_argument("--out", type=Path, required=True, help="run folder: checkpoint/, deformer/, evaluation.json")
    deformer.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint")
    _add_fields(deformer, TrainOptions)
    _add_fields(deformer, DeformerConfig, prefix="network: ", skip=("shape_dim", "expression_dim"))
    deformer.set_defaults(run=_deformer)

    texture = sub.add_parser("texture-generator", help="train G_src on the procedural skin textures (resumable)")
    texture.add_argument("--model", default="openhead", choices=["openhead"], help="source model whose UV layout is used")
    texture.add_argument("--out", type=Path, required=True, help="run folder: checkpoint/, texture_generator/, evaluation.json, samples.png")
    texture.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint")
    texture.add_argument("--eval-samples", type=int, default=512, help="textures per set in evaluation.json (default: 512)")
    _add_fields(texture, GanOptions)
    _add_fields(texture, TextureGeneratorConfig, prefix="network: ")
    texture.set_defaults(run=_texture)

    ship = sub.add_parser("ship", help="make two finished runs the shipped style pack 'realistic' (stylemm.load_pack)")
    ship.add_argument("--model", default="openhead", help="source model the networks were trained on (default: openhead)")
    ship.add_argument("--deformer", type=Path, required=True, help="finished `stylemm-pretrain deformer` run folder")
    ship.add_argument("--texture-generator", type=Path, required=True, help="finished `stylemm-pretrain texture-generator` run folder")
    ship.set_defaults(run=_ship)
    return parser


def _add_fields(parser: argparse.ArgumentParser, cls, prefix: str = "", skip: tuple[str, ...] = ()) -> None:
    """One --option per dataclass field, typed and defaulted from it."""
    for f in fields(cls):
        if f.name in skip:
            continue
        flag = f"--{f.name.replace('_', '-')}"
        if isinstance(f.default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default, help=f"{prefix}(default: {f.default})")
        else:
            parser.add_argument(flag, type=type(f.default), default=f.default, help=f"{prefix}(default: {f.default})")


def _values(args, cls, **fixed):
    return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if f.name not in fixed}, **fixed)


def _deformer(args) -> int:
    from stylemm.pretrain.deformer import TrainOptions, evaluate, train_deformer
    from stylemm.facemodel import load
    from stylemm.nets.deformer import Deformer, DeformerConfig

    model = load(args.model, **({"path": args.path} if args.path else {}))
    config = _values(args, DeformerConfig, shape_dim=model.shape_dim, expression_dim=model.expression_dim)
    options = _values(args, TrainOptions)
    _record_command(args, options, config)
    train_deformer(model, config, args.out, options, resume=args.resume)
    report = evaluate(Deformer.from_pretrained(args.out / "deformer"), model)  # what was saved (fp16 weights), not what is in memory
    write_json(args.out / "evaluation.json", report)
    print(json.dumps(report, indent=2))
    return 0


def _texture(args) -> int:
    from stylemm.facemodel import load
    from stylemm.nets.texture_generator import TextureGeneratorConfig, TextureGenerator
    from stylemm.pretrain.texture_generator import GanOptions, train_texture_generator
    from stylemm.metrics.texture_quality import evaluate, sample_sheet

    model = load(args.model)
    config, options = _values(args, TextureGeneratorConfig), _values(args, GanOptions)
    _record_command(args, options, config)
    train_texture_generator(model, config, args.out, options, resume=args.resume)
    generator = TextureGenerator.from_pretrained(args.out / "texture_generator")  # what was saved (fp16 weights), not what is in memory
    with atomic_path(args.out / "samples.png") as tmp:
        sample_sheet(generator).save(tmp, format="PNG")
    report = evaluate(generator, model, options.seed, options.dataset_size, count=args.eval_samples, cache=args.out)
    write_json(args.out / "evaluation.json", report)
    print(json.dumps(report, indent=2))
    print(f"wrote {args.out / 'texture_generator'}, samples.png (64 samples) and evaluation.json")
    return 0


def _ship(args) -> int:
    from stylemm.nets.deformer import Deformer
    from stylemm.nets.texture_generator import TextureGenerator
    from stylemm.packs import SHIPPED, StylePack

    runs = {"deformer": args.deformer, "texture_generator": args.texture_generator}
    needed = [run / f for name, run in runs.items() for f in (f"{name}/model.safetensors", "evaluation.json", "command.json")]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"cannot ship: a finished run has these files, missing: {missing}")
    pack = StylePack(
        style="realistic",
        source_model=args.model,
        deformer=Deformer.from_pretrained(args.deformer / "deformer"),
        texture_generator=TextureGenerator.from_pretrained(args.texture_generator / "texture_generator"),
        evaluation={name: json.loads((run / "evaluation.json").read_text()) for name, run in runs.items()},
        provenance={name: json.loads((run / "command.json").read_text()) for name, run in runs.items()},
    )
    target = pack.save(SHIPPED / "realistic")
    print(f"shipped the style pack 'realistic' to {target}")
    return 0


def _record_command(args, options, config) -> None:
    """How this run was started, and every resumption after it, so that anyone can repeat it."""
    path = args.out / "command.json"
    record = {"argv": args.command, "options": vars(options), "config": vars(config)}
    earlier = json.loads(path.read_text()) if args.resume and path.is_file() else None
    if earlier:
        record["earlier"] = earlier  # the invocations this one resumed, newest first
    write_json(path, record)


if __name__ == "__main__":
    sys.exit(main())
