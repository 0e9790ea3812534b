"""The README's per-style table: cells computed from evaluation.json the way they read."""

from __future__ import annotations

from stylemm.metrics.style_table import COLUMNS, style_table

EVALUATION = {"stylization": {
    "diversity": {"ratio": 0.9876},
    "recovery": {"geometry": {"mean_mm": 4.2229, "p99_mm": 14.2897, "error_over_displacement": 0.65,
                              "style_displacement_mean_mm": 6.497},
                 "appearance": {"psnr_db": 21.0094, "source_psnr_db": 13.08}},
    "expression_fidelity": {"jaw_open_ratio": 0.902, "blink_ratio": 1.0063}}}  # fmt: skip


def test_a_measured_pack_gets_its_numbers_and_the_papers_beside_them():
    lines = style_table({"orc": EVALUATION, "goblin": EVALUATION}).splitlines()
    assert lines[0].count("|") == len(COLUMNS) + 1
    orc = [c.strip() for c in lines[2].strip("|").split("|")]
    # 11.940 / 12.211 = 0.978: the paper's orc diversity as a ratio to FLAME's
    assert orc == ["orc", "11.940 (0.98)", "0.99", "4.22 / 14.3 mm", "65 % of 6.5 mm", "21.0 dB (13.1)", "0.90, 1.01"]
    assert lines[3].split("|")[2].strip() == "—"  # the paper has no goblin


def test_a_pack_never_measured_says_so():
    row = style_table({"disney": {}}).splitlines()[2]
    assert row.count("not measured (run stylemm-eval)") == len(COLUMNS) - 1
