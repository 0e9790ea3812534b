"""Milliseconds per 512 x 512 preview frame of OpenHead: OpenGL (moderngl, headless EGL)
vs drawing the same frame with the differentiable CPU renderer (forward only), in one run.

    python benchmarks/preview_speed.py [--runs 15]
"""

from __future__ import annotations


import torch

from stylemm.facemodel import load
from stylemm.viz.gl import GLRenderer
from stylemm.render import MeshRenderer, orbit_camera
from timing import benchmark_arguments, median_ms  # benchmarks/timing.py

SIZE = 512


def main() -> None:
    args = benchmark_arguments(__doc__, runs=15)
    model = load("openhead")
    camera = orbit_camera([25.0], 5.0, distance=0.75, target=(0.0, 0.03, 0.02), width=SIZE, height=SIZE)
    vertices, faces = model.template.numpy(), model.faces.numpy()
    gl = GLRenderer(SIZE, SIZE)
    cpu = MeshRenderer(model.faces)
    with torch.no_grad():
        gl_ms = median_ms(lambda: gl.render(vertices, faces, camera), args.runs)
        cpu_ms = median_ms(lambda: cpu(model.template[None], camera), args.runs)
    print(f"OpenHead {model.num_vertices} vertices, {SIZE}x{SIZE}, median of {args.runs}")
    print(f"{'OpenGL (moderngl/EGL) ms':>26} {'CPU differentiable ms':>22} {'speed-up':>9}")
    print(f"{gl_ms:>26.1f} {cpu_ms:>22.1f} {cpu_ms / gl_ms:>8.1f}x")


if __name__ == "__main__":
    main()
