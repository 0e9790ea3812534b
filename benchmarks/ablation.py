"""The paper's Table 3 for the 3D stage, ours beside it: one style trained on the same pairs
with and without L_CDL, the geometry warm-up and the texture refinement, each measured by
stylemm-eval against the recipe's 3D truth.

    python benchmarks/ablation.py --data pairs/orc --out runs/ablation [--limit 385] [--measured-weights]
        [--warmup-epochs 1 --joint-epochs 1 --texture-epochs 0] [--threads 1] [--texture-lr 5e-4]

Each run is `stylemm-train --data DATA --out OUT/<name> <its switch>` followed by
`stylemm-eval OUT/<name>`; a run that finished before is measured again, not retrained, and
a stopped one resumes. Extra options go to every stylemm-train call. At the paper's length
(2 / 4 / 4 epochs on all pairs) a run takes about an hour here; the defaults above are the
short version (minutes each). The paper's numbers are FLAME-scale diversities (realistic
FLAME: 12.21), so they are shown with their ratio to it beside ours.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

RUNS = {"ours": [], "w/o L_CDL": ["--no-cdl"], "w/o warmup": ["--no-warmup"], "w/o texture refine": ["--no-texture-refine"]}
# Table 3 (face diversity, style score) and the realistic FLAME diversity of Table 2.
PAPER = {"ours": (12.005, 0.3136), "w/o L_CDL": (1.812, 0.3039), "w/o warmup": (11.657, 0.3027),
         "w/o texture refine": (None, 0.3037)}  # fmt: skip
PAPER_SOURCE_DIVERSITY = 12.21


def run(name: str, switches: list[str], args, extra: list[str]) -> dict:
    from stylemm.cli import eval as evaluate
    from stylemm.cli import train

    out = args.out / name.replace("/", "").replace(" ", "-")
    record = out / "run.json"
    finished = record.is_file() and json.loads(record.read_text()).get("finished")
    if not finished:
        resume = ["--resume"] if (out / "checkpoint").is_dir() else []
        code = train.main(["--data", str(args.data), "--out", str(out), *switches, *resume, *extra])
        if code:
            raise SystemExit(f"stylemm-train failed for {name} (exit {code})")
    if evaluate.main([str(out), "--threads", str(args.threads)]):
        raise SystemExit(f"stylemm-eval failed for {name}")
    measured = json.loads((out / "pack" / "evaluation.json").read_text())["stylization"]
    measured["seconds"] = json.loads(record.read_text())["seconds"]
    return measured


def table(results: dict[str, dict]) -> str:
    rows = ["| run | paper diversity (ratio) | paper style score | our diversity ratio | geometry mean / p99 mm | "
            "error / style displacement | PSNR dB | jawOpen, blink | minutes |",
            "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, m in results.items():
        diversity, score = PAPER[name]
        paper = f"{diversity:.3f} ({diversity / PAPER_SOURCE_DIVERSITY:.2f})" if diversity else "—"
        g, e = m["recovery"]["geometry"], m["expression_fidelity"]
        rows.append(f"| {name} | {paper} | {score:.4f} | {m['diversity']['ratio']:.3f} | {g['mean_mm']:.2f} / {g['p99_mm']:.1f} | "
                    f"{100 * g['error_over_displacement']:.0f} % | {m['recovery']['appearance']['psnr_db']:.1f} | "
                    f"{e['jaw_open_ratio']:.2f}, {e['blink_ratio']:.2f} | {m['seconds'] / 60:.0f} |")  # fmt: skip
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a recipe pair dataset (stylemm-stylize --out)")
    parser.add_argument("--out", type=Path, required=True, help="a folder for the four runs")
    parser.add_argument("--threads", type=int, default=1)
    args, extra = parser.parse_known_args()
    extra = [*extra, "--threads", str(args.threads)]
    results = {name: run(name, switches, args, extra) for name, switches in RUNS.items()}
    print("\nTable 3, ours beside the paper's (style score: CLIP, not run without local weights)\n")
    print(table(results))


if __name__ == "__main__":
    main()
