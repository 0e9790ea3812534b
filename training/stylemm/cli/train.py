"""`stylemm-train`: fine-tune the source networks into a stylized 3DMM on a pair dataset (paper 3.4).

  stylemm-train --data pairs/orc --out runs/orc                 warm-up, joint, texture refinement
  stylemm-train --data pairs/orc --out runs/orc --resume        continue bit for bit after a stop
  stylemm-train --data pairs/orc --out runs/orc-nocdl --no-cdl  an ablation (also --no-warmup, --no-texture-refine)
  accelerate launch $(which stylemm-train) ...                  on a GPU or several

The run writes <out>/run.json (options, stages, which perceptual terms ran), losses.jsonl,
checkpoint/ every few minutes, and the style pack <out>/pack when it finishes, which
`stylemm-eval <out>` measures and `stylemm-export --style <out>/pack` exports.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from stylemm.finetune.train import FinetuneOptions, train_style

    args = _parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    options = FinetuneOptions(
        epochs={"warmup": args.warmup_epochs, "joint": args.joint_epochs, "texture": args.texture_epochs},
        batch=args.batch, size=args.size, limit=args.limit, lr=args.lr, texture_lr=args.texture_lr, seed=args.seed,
        threads=args.threads,
        checkpoint_minutes=args.checkpoint_minutes, cdl=not args.no_cdl, warmup=not args.no_warmup,
        texture_refine=not args.no_texture_refine, measured_weights=args.measured_weights, clip=args.clip, dino=args.dino, lpips=args.lpips,
    )  # fmt: skip
    try:
        record = train_style(args.data, args.out, options, resume=args.resume, stop_after=args.stop_after,
                             pack_checkpoint=args.pack_checkpoint)  # fmt: skip
    except (ValueError, FileNotFoundError) as e:
        print(f"stylemm-train: error: {e}", file=sys.stderr)
        return 2
    if record["finished"] and args.evaluate:
        from stylemm.cli.eval import main as evaluate

        return evaluate([str(args.out)])
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stylemm-train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="a pair dataset (stylemm-stylize --out)")
    p.add_argument("--out", type=Path, required=True, help="the run folder")
    p.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint")
    p.add_argument("--warmup-epochs", type=int, default=2, help="geometry warm-up epochs (paper: 2)")
    p.add_argument("--joint-epochs", type=int, default=4, help="joint fine-tuning epochs (paper: 4)")
    p.add_argument("--texture-epochs", type=int, default=4, help="texture refinement epochs (paper: 4)")
    p.add_argument("--batch", type=int, default=4, help="identities per step (CDL's variance is across them; default 4)")
    p.add_argument("--size", type=int, default=128, help="training resolution in pixels (default 128)")
    p.add_argument("--limit", type=int, help="use only the first N usable pairs")
    p.add_argument("--lr", type=float, default=5e-5, help="learning rate of D, and of G unless --texture-lr (paper: 5e-5)")
    p.add_argument("--texture-lr", type=float, help="learning rate of G (default: --lr)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    p.add_argument("--checkpoint-minutes", type=float, default=5.0)
    p.add_argument("--no-cdl", action="store_true", help="ablation: no consistent displacement loss")
    p.add_argument("--no-warmup", action="store_true", help="ablation: no geometry warm-up stage")
    p.add_argument("--no-texture-refine", action="store_true", help="ablation: no texture refinement stage")
    p.add_argument("--measured-weights", action="store_true",
                   help="eq. 4, 8 and 10 balanced so the 3D truth ranks first (6 mask classes, lambda_seg 1000, lambda_n 5, "
                        "lambda_ang 30) instead of the paper's numbers: closer geometry, weaker expressions (README: Fine-tuning)")
    p.add_argument("--clip", help="local CLIP model folder (Hugging Face layout); offline stand-in without it")
    p.add_argument("--dino", help="local DINOv2 model folder (Hugging Face layout); offline stand-in without it")
    p.add_argument("--lpips", help="local LPIPS-VGG folder (backbone.safetensors + lpips.safetensors); stand-in without it")
    p.add_argument("--stop-after", type=int, help="stop after N steps of this call, with a checkpoint (as a kill would)")
    p.add_argument("--pack-checkpoint", action="store_true",
                   help="train nothing: write <out>/pack from the last checkpoint of an unfinished run, to measure it")
    p.add_argument("--evaluate", action="store_true", help="run stylemm-eval on the pack when finished")
    return p


if __name__ == "__main__":
    sys.exit(main())
