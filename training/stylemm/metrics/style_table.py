"""The README's per-style table (paper Table 2 beside ours), from the packs' evaluation.json.

``stylemm-eval --table`` prints it for every shipped style; nothing is measured again
(``stylemm-eval STYLE`` measures and writes evaluation.json).
"""

from __future__ import annotations

# Paper Table 2, "Ours": face diversity (sum of the top-100 PCA variances of 1,000 neutral
# meshes) per style; FLAME's own is 12.211. Our packs are measured in the deformer's unit
# frame of OpenHead, so only the ratios compare.
PAPER_DIVERSITY = {"disney": 11.678, "pixar-child": 12.070, "orc": 11.940, "baby": 12.004, "statue": 10.686,
                   "neanderthal": 11.906}  # fmt: skip
PAPER_SOURCE_DIVERSITY = 12.211
COLUMNS = ("style", "paper diversity (ratio to FLAME)", "ours: diversity ratio", "geometry mean / p99",
           "error / style displacement", "PSNR (source networks)", "jawOpen, blink (style / source)")  # fmt: skip


def style_row(style: str, stylization: dict) -> list[str]:
    """One row from an evaluation.json's "stylization" entry (what stylemm-eval wrote)."""
    paper = PAPER_DIVERSITY.get(style)
    geometry = stylization["recovery"]["geometry"]
    appearance = stylization["recovery"]["appearance"]
    fidelity = stylization["expression_fidelity"]
    return [style,
            "—" if paper is None else f"{paper:.3f} ({paper / PAPER_SOURCE_DIVERSITY:.2f})",
            f"{stylization['diversity']['ratio']:.2f}",
            f"{geometry['mean_mm']:.2f} / {geometry['p99_mm']:.1f} mm",
            f"{100 * geometry['error_over_displacement']:.0f} % of {geometry['style_displacement_mean_mm']:.1f} mm",
            f"{appearance['psnr_db']:.1f} dB ({appearance['source_psnr_db']:.1f})",
            f"{fidelity['jaw_open_ratio']:.2f}, {fidelity['blink_ratio']:.2f}"]  # fmt: skip


def style_table(packs: dict[str, dict]) -> str:
    """A markdown table: ``packs`` maps a style name to its evaluation.json; packs never
    measured (no "stylization" entry) are listed as such."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for style, evaluation in packs.items():
        stylization = evaluation.get("stylization")
        cells = style_row(style, stylization) if stylization else [style] + ["not measured (run stylemm-eval)"] * (len(COLUMNS) - 1)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
