"""G_src in one run: milliseconds per texture for the procedural family it was trained on,
the shipped generator (torch and ONNX Runtime), and the same architecture at 512 x 256;
then the shipped quality report.

    python benchmarks/texture_generator.py [--runs 9] [--threads 2]
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime
import torch

from stylemm import load_pack
from stylemm.facemodel import load
from stylemm.nets.texture_generator import TextureGeneratorConfig, TextureGenerator
from stylemm.textures import SkinTextures
from stylemm_export.onnx_export import export_texture_generator
from timing import benchmark_arguments, median_ms  # benchmarks/timing.py


def onnx_session(generator: TextureGenerator, folder: Path, threads: int) -> onnxruntime.InferenceSession:
    path = export_texture_generator(generator, folder / f"texture-generator-{generator.config.height}.onnx")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main() -> None:
    args = benchmark_arguments(__doc__)
    networks = load_pack("realistic")
    shipped = networks.texture_generator
    wide = TextureGenerator(TextureGeneratorConfig(**{**vars(shipped.config), "height": 256})).eval()  # same widths, 512 x 256
    model = load("openhead")
    rows = []
    for generator in (shipped, wide):
        h = generator.config.height
        family, g = SkinTextures(model, h, 2 * h), torch.Generator().manual_seed(0)
        rows.append((f"procedural family {2 * h}x{h}", median_ms(lambda: family.sample(1, g), args.runs)))
        z = torch.randn(1, generator.config.z_dim)
        with torch.no_grad():
            rows.append((f"G_src torch {2 * h}x{h}", median_ms(lambda: generator.texture(z), args.runs)))
        with tempfile.TemporaryDirectory() as folder:
            session = onnx_session(generator, Path(folder), args.threads)
            feed = {"z": z.numpy(), "truncation": np.ones(1, np.float32)}
            rows.append((f"G_src onnxruntime {2 * h}x{h}", median_ms(lambda: session.run(None, feed), args.runs)))
    print(f"ms per texture, batch 1, {args.threads} threads, median of {args.runs} (the 512x256 G_src is untrained: cost only)")
    for name, ms in rows:
        print(f"  {name:<32} {ms:8.2f}")
    for resolution in (0, 3):
        family_ms, torch_ms, onnx_ms = (ms for _, ms in rows[resolution : resolution + 3])
        print(f"  {rows[resolution][0].split()[-1]}: procedural / G torch = {family_ms / torch_ms:.1f}, G torch / G onnxruntime = {torch_ms / onnx_ms:.1f}")
    print("shipped quality report:", json.dumps(networks.evaluation["texture_generator"], indent=2))


if __name__ == "__main__":
    main()
