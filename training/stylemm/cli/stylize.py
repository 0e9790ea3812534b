"""stylemm-stylize: make a stylized pair dataset (paper 3.2-3.3), or train the EAM.

    stylemm-stylize --style orc --count 200 --out pairs/orc
    stylemm-stylize --prompt "a green orc with a heavy brow" --count 1000 --out pairs/orc2
    stylemm-stylize --style pixar-child --stylizer eas --sdxl SDXL_DIR --eam EAM_DIR --out pairs/pixar
    stylemm-stylize --list-styles
    stylemm-stylize eam-train --sdxl SDXL_DIR --out runs/eam      (--help for its options)
    stylemm-stylize mask-train --images LABELLED --masks MASKS --sdxl SDXL_DIR --dinov2 DINO_DIR --out runs/f_mask
    stylemm-stylize --style orc --stylizer eas --sdxl SDXL_DIR --eam EAM_DIR --mask-network runs/f_mask \
                    --dinov2 DINO_DIR --out pairs/orc-eas   (masks from f_mask instead of the MediaPipe fallback)
    torchrun --nproc_per_node 2 $(which stylemm-stylize) ...         (each process makes its share;
                                                                     accelerate launch on GPUs)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_USAGE = 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stylemm-stylize", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = p.add_mutually_exclusive_group()
    what.add_argument("--style", help="a named style (see --list-styles)")
    what.add_argument("--prompt", help="free text, mapped onto style atoms by a sentence-embedding model")
    what.add_argument("--list-styles", action="store_true", help="print the named styles, their prompts and atoms")
    p.add_argument("--count", type=int, default=200, help="number of pairs (default 200)")
    p.add_argument("--out", type=Path, help="the dataset folder")
    p.add_argument("--size", type=int, default=256, help="image size in pixels (default 256)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--variation", type=float, default=0.3, help="per-image random variation of the atoms' strengths (default 0.3)")
    p.add_argument("--stylizer", choices=("recipe", "eas"), default="recipe",
                   help="recipe: offline, with 3D ground truth (default); eas: SDXL + EAM, needs --sdxl and --eam")  # fmt: skip
    p.add_argument("--sdxl", type=Path, help="EAS: an SDXL base model folder (diffusers layout)")
    p.add_argument("--eam", type=Path, help="EAS: a trained EAM folder (stylemm-stylize eam-train)")
    p.add_argument("--device", help="EAS: torch device (default: the GPU; 'cpu' forces a slow run)")
    p.add_argument("--mask-network", type=Path,
                   help="EAS: part masks from a trained f_mask folder (stylemm-stylize mask-train) instead of the "
                        "MediaPipe fallback; its SD features come from --sdxl")  # fmt: skip
    p.add_argument("--dinov2", type=Path, help="EAS: the DINOv2 folder (transformers layout) the f_mask was trained with")
    p.add_argument("--pack", default="realistic", help="the source networks D_src, G_src (a style pack; default realistic)")
    p.add_argument("--chunk-size", type=int, default=None, help="samples per batch and per atomic chunk (default 16)")
    p.add_argument("--resume", action="store_true", help="continue a run that was stopped")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads per process (default: 1, 4.5x faster here than torch's 2 with the renderer's "
                        "small ops; part of what fixes the bytes, so keep it when resuming; run more processes "
                        "with torchrun or accelerate launch for more cores)")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["eam-train"]:
        return eam_train(argv[1:])
    if argv[:1] == ["mask-train"]:
        return mask_train(argv[1:])
    args = parser().parse_args(argv)
    if args.list_styles:
        return list_styles()
    if not (args.style or args.prompt):
        parser().error("give --style NAME or --prompt TEXT (or --list-styles)")
    if args.out is None:
        parser().error("--out DIR is required")
    if args.count < 1 or args.size < 32:
        parser().error("--count must be at least 1 and --size at least 32")
    try:
        recipe_info = choose(args)
    except LookupError as e:
        print(f"stylemm-stylize: {e}", file=sys.stderr)
        return EXIT_USAGE
    return make(args, recipe_info)


# -- styles -------------------------------------------------------------------------------------
def list_styles() -> int:
    from stylemm.stylize.recipes import get_recipe
    from stylemm.stylize.recipes import list_styles as names

    for name in names():
        recipe = get_recipe(name)
        atoms = ", ".join(f"{atom} {strength:g}" for atom, strength in recipe.strengths.items())
        print(f"{name:14s} {recipe.prompt}\n{'':14s} {atoms}")
    return 0


def choose(args) -> dict:
    """The recipe the run uses: {name, prompt, recipe, atoms}; a LookupError names what is known."""
    from stylemm.stylize.recipes import get_recipe

    if args.style:
        recipe = get_recipe(args.style)  # UnknownStyle (a LookupError) lists the known styles
        return {"name": args.style, "prompt": recipe.prompt, "recipe": recipe}
    from stylemm.stylize.prompt import NothingMatched, match_prompt

    try:
        match = match_prompt(args.prompt)
    except NothingMatched as e:
        raise LookupError(str(e)) from None
    print(f"prompt {args.prompt!r} chose (cosine similarity, and the words that chose it):\n{match.report()}")
    return {"name": None, "prompt": args.prompt, "recipe": match.recipe()}


# -- the run ------------------------------------------------------------------------------------
def make(args, chosen: dict) -> int:
    import torch
    from accelerate import PartialState
    from tqdm import tqdm

    import stylemm
    from stylemm.facemodel import load
    from stylemm.stylize import dataset as pairs
    from stylemm.stylize.source import SourceSampler

    if args.threads:
        torch.set_num_threads(args.threads)
    # cpu=True where there is no GPU: otherwise Accelerate ignores the process group that
    # torchrun / accelerate launch made and every process would make every sample.
    state = PartialState(cpu=not torch.cuda.is_available())
    pack = stylemm.load_pack(args.pack)
    model = load(pack.source_model)
    recipe = chosen["recipe"]
    config = pairs.DatasetConfig(
        style=chosen["name"], prompt=chosen["prompt"], stylizer=args.stylizer,
        recipe=recipe.to_dict(),
        seed=args.seed, count=args.count, size=args.size, variation=args.variation,
        source_model=pack.source_model, source_pack=args.pack, chunk_size=args.chunk_size or pairs.CHUNK_SIZE,
    )  # fmt: skip
    try:
        stylizer = make_stylizer(args, model, recipe, chosen["prompt"])
        mask_network = load_mask_network(args)
    except (FileNotFoundError, RuntimeError, ImportError, ValueError) as e:
        print(f"stylemm-stylize: {e}", file=sys.stderr)
        return EXIT_USAGE
    sampler = SourceSampler(model, pack.deformer, pack.texture_generator, args.size)
    maker = pairs.PairMaker(config, model, sampler, stylizer, mask_network=mask_network)
    info = pairs.dataset_info(config, model)
    try:
        pairs.check(args.out, info, args.resume)
    except (FileExistsError, ValueError) as e:
        print(f"stylemm-stylize: {e}", file=sys.stderr)
        return EXIT_USAGE
    mine = range(state.process_index, config.chunks, state.num_processes)
    total = sum(len(config.chunk_indices(c)) for c in mine)
    todo = sum(len(config.chunk_indices(c)) for c in pairs.pending_chunks(args.out, config, state.process_index, state.num_processes))
    with tqdm(total=total, initial=total - todo, unit="pair", desc=f"{config.style or 'prompt'} pairs",
              disable=not state.is_local_main_process) as bar:  # fmt: skip
        summary = pairs.build(args.out, config, maker, info, resume=args.resume, process=state.process_index,
                              processes=state.num_processes, barrier=state.wait_for_everyone, progress=bar.update)  # fmt: skip
    maker.close()
    if summary is not None:
        s = summary["summary"]
        spent = sum(maker.seconds.values()) or 1.0
        shares = ", ".join(f"{step} {100 * maker.seconds[step] / spent:.0f}%" for step in pairs.STEPS if step in maker.seconds)
        print(f"wrote {s['samples']} pairs to {args.out}: landmarks found on {s['landmarks_found']}, "
              f"{s['flagged']} flagged, median landmark error {s['landmarks_error_px_median']} px; time: {shares}")  # fmt: skip
        print(f"look at {args.out / 'preview.png'}")
    return 0


def make_stylizer(args, model, recipe, prompt: str):
    if args.stylizer == "recipe":
        from stylemm.stylize.recipe_stylizer import RecipeStylizer

        return RecipeStylizer(model, recipe, variation=args.variation)
    if args.sdxl is None or args.eam is None:
        raise FileNotFoundError("--stylizer eas needs --sdxl DIR (an SDXL base model, diffusers layout) and "
                                "--eam DIR (a trained EAM: stylemm-stylize eam-train)")  # fmt: skip
    from stylemm.stylize.eas import EASStylizer

    return EASPairs(EASStylizer.from_pretrained(args.sdxl, args.eam, device=args.device), model, prompt)


def load_mask_network(args):
    """f_mask for --mask-network (EAS images only: recipe pairs have exact masks)."""
    if args.mask_network is None:
        return None
    if args.stylizer != "eas":
        raise ValueError("--mask-network is for --stylizer eas: recipe pairs have exact part masks from their 3D truth")
    from stylemm.stylize.mask_network import MaskNetwork

    return MaskNetwork.from_pretrained(args.mask_network, sd_dir=args.sdxl, dinov2_dir=args.dinov2)


class EASPairs:
    """EAS behind the pair interface: the source renders plus their conditions (five
    landmarks of the source mesh, head rotation, expression, exactly as the EAM was trained
    on them: stylemm.stylize.eam.eam_conditions) in, images out (no 3D)."""

    def __init__(self, eas, model, prompt: str):
        from stylemm.landmarks import load_embedding

        self.eas, self.model, self.prompt = eas, model, prompt
        self.embedding = load_embedding(model)

    def stylize(self, faces, generator):
        from stylemm.stylize.eam import eam_conditions
        from stylemm.stylize.faces import StylizedFaces

        conditions = eam_conditions(self.model, faces, self.embedding)
        images = self.eas.stylize(faces.images, conditions["landmarks5"], conditions["rotation"], conditions["expression"],
                                  self.prompt, generator=generator)  # fmt: skip
        return StylizedFaces(images=images)


def eam_train(argv: list[str]) -> int:
    from stylemm.stylize import eam_training

    p = argparse.ArgumentParser(prog="stylemm-stylize eam-train", description=eam_training.__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    eam_training.configure_parser(p)
    return eam_training.run(p.parse_args(argv)) or 0


def mask_train(argv: list[str]) -> int:
    """Few-shot f_mask training (paper 3.4.4) from a handful of hand-labelled stylized images."""
    import torch

    from stylemm.stylize.mask_network import CLASSES, IGNORE, load_extractors, load_labelled, train_mask_network

    p = argparse.ArgumentParser(prog="stylemm-stylize mask-train", description=mask_train.__doc__)
    p.add_argument("--images", type=Path, required=True, help="a folder of stylized images, NAME.png (RGB)")
    p.add_argument("--masks", type=Path, required=True,
                   help=f"a folder of masks NAME.png: one channel of class indices {dict(enumerate(CLASSES))}, {IGNORE} unlabelled")
    p.add_argument("--sdxl", type=Path, help="a Stable Diffusion folder (diffusers layout) for SD features")
    p.add_argument("--dinov2", type=Path, help="a DINOv2 folder (transformers layout) for DINOv2 features")
    p.add_argument("--out", type=Path, required=True, help="the f_mask folder to write (use it with --mask-network)")
    p.add_argument("--steps", type=int, default=300, help="full-batch Adam steps (default 300)")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        images, masks = load_labelled(args.images, args.masks)
        extractor = load_extractors(args.sdxl, args.dinov2)
    except (FileNotFoundError, ValueError) as e:
        print(f"stylemm-stylize mask-train: {e}", file=sys.stderr)
        return EXIT_USAGE
    network = train_mask_network(extractor, images, masks, steps=args.steps, progress=True)
    network.save_pretrained(args.out)
    print(f"f_mask trained on {len(images)} labelled images written to {args.out} (use it with --mask-network {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
