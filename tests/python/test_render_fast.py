"""The CPU renderer's fast path against its reference (backend ``cpu-reference``, the path as
first written): the same pixels bit for bit on varied scenes, the same gradients, and a
sample's pixels independent of the batch it is rendered in."""

import math

import pytest
import torch

from stylemm.render import Camera, MeshRenderer, orbit_camera
from stylemm.render.rasterize import rasterize, rasterize_reference
from stylemm.render.shading import Shading

OUTPUTS = ("rgb", "alpha", "depth", "normals", "triangle", "weights")


def _both(faces, vertices, camera, **kwargs):
    """The same render through the fast and the reference path."""
    labels = {k: kwargs.pop(k) for k in ("uvs", "uv_faces", "part_labels") if k in kwargs}
    return [MeshRenderer(faces, backend=backend, **labels)(vertices, camera, **kwargs) for backend in ("cpu", "cpu-reference")]


def _assert_same(fast, reference, outputs=OUTPUTS):
    for name in outputs:
        a, b = getattr(fast, name), getattr(reference, name)
        assert torch.equal(a, b), f"{name} differs: max {(a.double() - b.double()).abs().max().item()}"


def _heads(openhead, batch, seed):
    g = torch.Generator().manual_seed(seed)
    shape = torch.randn(batch, openhead.shape_dim, generator=g)
    expression = torch.rand(batch, len(openhead.expression_names), generator=g) * (torch.rand(batch, len(openhead.expression_names), generator=g) < 0.1)
    return openhead(shape=shape, expression=expression), g


@pytest.mark.parametrize("size, distance, seed", [((256, 256), 0.75, 0), ((120, 90), 0.75, 1), ((96, 96), 0.32, 2)])
def test_openhead_renders_are_the_same_bit_for_bit(openhead, size, distance, seed):
    """Textured, with part labels, at the pairs' framing, off-square, and close enough that
    the head leaves the frame and its triangles' boxes pass the largest tile."""
    vertices, g = _heads(openhead, 3, seed)
    width, height = size
    yaw = (torch.rand(3, generator=g) * 70 - 35).tolist()
    pitch = (torch.rand(3, generator=g) * 30 - 15).tolist()
    camera = orbit_camera(yaw, pitch, distance=distance, target=(0.0, 0.03, 0.02), width=width, height=height)
    texture = torch.rand(3, 3, 64, 64, generator=g)
    fast, reference = _both(openhead.faces, vertices, camera, texture=texture, uvs=openhead.uvs, uv_faces=openhead.uv_faces,
                            part_labels=openhead.part_labels)  # fmt: skip
    assert fast.raster.mask.float().mean() > 0.1
    _assert_same(fast, reference, OUTPUTS + ("parts",))


def test_shading_vertex_colours_and_float64_are_the_same_bit_for_bit(openhead):
    vertices, g = _heads(openhead, 2, 3)
    camera = orbit_camera([-20.0, 30.0], [5.0, -10.0], distance=0.75, target=(0.0, 0.03, 0.02), width=128, height=128)
    colours = torch.rand(2, vertices.shape[1], 3, generator=g)
    for shading in (None, Shading(toon=1.0, specular=0.5)):
        _assert_same(*_both(openhead.faces, vertices, camera, color=colours, shading=shading))
    camera64 = Camera(eye=camera.eye.double(), target=camera.target.double(), width=128, height=128, fov_y=camera.fov_y)
    _assert_same(*_both(openhead.faces, vertices.double(), camera64))


def _cube():
    corners = torch.tensor([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)])
    quads = [[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4], [1, 5, 7, 3]]
    return corners, torch.tensor([[q[0], q[1], q[2]] for q in quads] + [[q[0], q[2], q[3]] for q in quads])


def test_large_clipped_degenerate_and_tied_triangles_are_the_same_bit_for_bit():
    """Boxes far past the tiles (a cube filling 256 px), a camera inside the near plane's
    reach (clipped vertices), zero-area triangles and exact depth ties."""
    corners, faces = _cube()
    # Two copies of a face at the same depth (a tie), a zero-area sliver and a point triangle.
    extra = torch.tensor([[1, 5, 7], [0, 1, 1], [2, 2, 2]])
    faces = torch.cat([faces, extra])
    for eye in ([1.2, 0.9, 1.5], [0.3, 0.2, 0.55], [0.0, 0.0, 0.45]):
        camera = Camera(eye=torch.tensor(eye), target=torch.zeros(3), width=256, height=256, fov_y=60.0, near=0.1)
        fast, reference = _both(faces, corners[None], camera)
        _assert_same(fast, reference)
        assert fast.raster.mask.any()


def test_the_rasterizer_alone_matches_on_random_triangle_soup():
    """Thousands of random triangles of all sizes and both windings, overlapping at random depths."""
    g = torch.Generator().manual_seed(4)
    n = 3000
    centre = torch.rand(2, n, 1, 2, generator=g) * 140 - 10
    spread = torch.rand(2, n, 1, 1, generator=g) ** 3 * 60
    pixels = (centre + spread * torch.randn(2, n, 3, 2, generator=g)).reshape(2, 3 * n, 2)
    depth = (torch.rand(2, n, 1, generator=g) * 2.2 - 1.1 + 0.05 * torch.randn(2, n, 3, generator=g)).reshape(2, 3 * n)
    faces = torch.arange(3 * n).reshape(n, 3)
    fast, reference = rasterize(pixels, depth, faces, 100, 130), rasterize_reference(pixels, depth, faces, 100, 130)
    assert torch.equal(fast.triangle, reference.triangle)
    assert torch.equal(fast.depth, reference.depth)
    assert fast.mask.float().mean() > 0.5
    assert ((pixels.view(2, n, 3, 2).amax(2) - pixels.view(2, n, 3, 2).amin(2)) > 40).any(-1).sum() > 100  # large boxes too


def _signed_areas(pixels, faces):
    a, b, c = pixels[faces].unbind(1)
    return (b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0]


def test_triangles_turned_away_are_skipped_only_when_wholly_behind():
    """The rasterizer skips triangles turned away from the camera that lie behind the surface
    already drawn; one a hair in front of it, level with it, or a hair behind must still be
    tested (and win, tie or lose as the reference says)."""
    towards = torch.tensor([[-100.0, -100.0], [0.0, 300.0], [300.0, -50.0]])  # over the whole image, clockwise: facing
    away = torch.tensor([[20.0, 20.0], [29.0, 22.0], [22.0, 30.0]])  # inside it, the other winding
    for gap in (-1e-6, -1e-7, 0.0, 1e-7, 1e-6, 0.05):
        pixels = torch.cat([towards, away])[None]
        depth = torch.tensor([[0.5, 0.5, 0.5] + [0.5 + gap] * 3])
        faces = torch.tensor([[0, 1, 2], [3, 4, 5]])
        area = _signed_areas(pixels[0], faces)
        assert area[0] < 0 < area[1]  # the rasterizer's "facing" is clockwise on screen
        fast, reference = rasterize(pixels, depth, faces, 64, 64), rasterize_reference(pixels, depth, faces, 64, 64)
        assert torch.equal(fast.triangle, reference.triangle) and torch.equal(fast.depth, reference.depth), gap
        if abs(gap) >= 1e-6:  # nearer ones within rounding may or may not win pixels
            assert (fast.triangle[0, 23, 23] == 1) == (gap < 0)  # a pixel inside both


def test_gradients_are_the_reference_paths(openhead):
    """With gradients the barycentrics are recomputed from the vertices; every gradient agrees."""
    vertices, g = _heads(openhead, 2, 5)
    vertices = vertices.double()
    camera = orbit_camera([-15.0, 25.0], distance=0.8, target=(0.0, 0.03, 0.02), width=64, height=64)
    camera = Camera(eye=camera.eye.double(), target=camera.target.double(), width=64, height=64, fov_y=camera.fov_y)
    texture = torch.rand(1, 3, 32, 32, generator=g, dtype=torch.float64)
    target = torch.rand(2, 3, 64, 64, generator=g, dtype=torch.float64)
    grads = []
    for backend in ("cpu", "cpu-reference"):
        v, t = vertices.clone().requires_grad_(), texture.clone().requires_grad_()
        out = MeshRenderer(openhead.faces, openhead.uvs, openhead.uv_faces, backend=backend)(v, camera, texture=t)
        ((out.rgb - target) ** 2).sum().add(out.alpha.sum()).backward()
        grads.append((v.grad, t.grad))
    (fv, ft), (rv, rt) = grads
    assert rv.abs().max() > 0 and rt.abs().max() > 0
    torch.testing.assert_close(fv, rv, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(ft, rt, rtol=1e-9, atol=1e-12)


def test_a_samples_pixels_do_not_depend_on_its_batch(openhead):
    """Bit for bit, alone or with others (the pair dataset's chunks exist for other reasons)."""
    vertices, g = _heads(openhead, 4, 6)
    yaw = [-30.0, -5.0, 10.0, 33.0]
    texture = torch.rand(4, 3, 64, 64, generator=g)
    renderer = MeshRenderer(openhead.faces, openhead.uvs, openhead.uv_faces)
    batch = renderer(vertices, orbit_camera(yaw, distance=0.75, width=160, height=160), texture=texture)
    for i in range(4):
        alone = renderer(vertices[i : i + 1], orbit_camera(yaw[i : i + 1], distance=0.75, width=160, height=160), texture=texture[i : i + 1])
        assert torch.equal(alone.rgb[0], batch.rgb[i]) and torch.equal(alone.triangle[0], batch.triangle[i])


def test_the_reference_backend_is_named_and_reachable():
    corners, faces = _cube()
    renderer = MeshRenderer(faces, backend="cpu-reference")
    assert renderer.backend(torch.device("cpu")).name == "cpu-reference"
    assert math.isfinite(renderer(corners[None], orbit_camera([30.0], distance=3.0, width=16, height=16)).rgb.sum().item())


def test_a_samples_pixels_do_not_depend_on_the_thread_count(openhead):
    """Bit for bit with one torch thread or two (D_src's and the face model's matrix products
    are not: pin the threads to make a dataset's bytes reproducible)."""
    vertices, g = _heads(openhead, 2, 7)
    camera = orbit_camera([-25.0, 20.0], distance=0.75, target=(0.0, 0.03, 0.02), width=128, height=128)
    texture = torch.rand(2, 3, 64, 64, generator=g)
    renderer = MeshRenderer(openhead.faces, openhead.uvs, openhead.uv_faces)
    before = torch.get_num_threads()
    try:
        images = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            images.append(renderer(vertices, camera, texture=texture).rgb)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(*images)
