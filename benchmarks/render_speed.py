"""Forward + backward time of the CPU differentiable renderer vs DEODR, in one run.

OpenHead (4.8k vertices, 9.4k triangles) at 256 x 256, smooth-shaded with per-vertex
colours (DEODR's textured backward is broken, so the like-for-like comparison is
untextured), plus our textured path. Medians of several runs; the ratio is what to
read, not the absolute times.

    python benchmarks/render_speed.py [--threads 2] [--runs 9]
DEODR is optional: pip install deodr==0.2.3 typing_extensions
"""

from __future__ import annotations

import numpy as np
import torch

from stylemm.facemodel import load
from stylemm.render import MeshRenderer, orbit_camera
from timing import benchmark_arguments, median_ms  # benchmarks/timing.py

SIZE = 256


def ours(model, batch: int, textured: bool):
    renderer = MeshRenderer(model.faces, model.uvs, model.uv_faces)
    vertices = model(shape=torch.randn(batch, model.shape_dim, generator=torch.Generator().manual_seed(0))).detach()
    camera = orbit_camera(torch.linspace(-30, 30, batch), distance=0.9, width=SIZE, height=SIZE)
    colors = torch.rand(1, model.num_vertices, 3, generator=torch.Generator().manual_seed(1))
    texture = torch.rand(1, 3, 256, 512, generator=torch.Generator().manual_seed(2))

    def step():
        v = vertices.clone().requires_grad_()
        if textured:
            t = texture.clone().requires_grad_()
            image = renderer(v, camera, texture=t).rgb
        else:
            image = renderer(v, camera, color=colors.expand(batch, -1, -1)).rgb
        image.sum().backward()

    return step


def deodr_step(model, batch: int):
    from deodr import differentiable_renderer as dr
    from deodr.triangulated_mesh import ColoredTriMesh

    vertices = model(shape=torch.randn(batch, model.shape_dim, generator=torch.Generator().manual_seed(0))).detach().double().numpy()
    faces = model.faces.numpy()
    colors = np.random.default_rng(1).uniform(size=(model.num_vertices, 3))
    scenes = []
    for b in range(batch):
        # DEODR's camera looks down +Z with +Y down: turn the head to face it.
        mesh = ColoredTriMesh(faces.astype(np.uint32), vertices[b] * [1, -1, -1], colors=colors)
        scene = dr.Scene3D()
        scene.set_mesh(mesh)
        scene.set_background_color(np.ones(3))
        scene.set_light(light_directional=np.array([0.0, 0.0, 0.65]), light_ambient=0.35)
        camera = dr.default_camera(SIZE, SIZE, 20, mesh.vertices, np.eye(3))
        scenes.append((scene, camera))

    def step():
        for scene, camera in scenes:
            image = scene.render(camera)
            scene.clear_gradients()
            scene.render_backward(np.ones_like(image))

    return step


def main() -> None:
    args = benchmark_arguments(__doc__)
    model = load("openhead")
    try:
        import deodr  # noqa: F401

        have_deodr = True
    except ImportError:
        have_deodr = False
        print("DEODR not installed (pip install deodr==0.2.3 typing_extensions): its column is skipped")
    print(f"forward + backward, OpenHead {model.num_vertices} vertices / {len(model.faces)} triangles, {SIZE}x{SIZE}, "
          f"{args.threads} threads, median of {args.runs}")  # fmt: skip
    print(f"{'batch':>5} {'ours colours ms':>16} {'ours textured ms':>17} {'DEODR colours ms':>17} {'ours / DEODR':>13}")
    for batch in (1, 8):
        colours = median_ms(ours(model, batch, textured=False), args.runs)
        textured = median_ms(ours(model, batch, textured=True), args.runs)
        if have_deodr:
            theirs = median_ms(deodr_step(model, batch), args.runs)
            print(f"{batch:>5} {colours:>16.1f} {textured:>17.1f} {theirs:>17.1f} {colours / theirs:>13.2f}")
        else:
            print(f"{batch:>5} {colours:>16.1f} {textured:>17.1f} {'-':>17} {'-':>13}")


if __name__ == "__main__":
    main()
