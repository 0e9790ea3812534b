"""The CPU differentiable renderer: coverage, depth order, gradients, silhouette fitting."""

import numpy as np
import pytest
import torch

from stylemm.render import Camera, MeshRenderer, orbit_camera, project_points, rasterize
from stylemm.render.antialias import edge_neighbours


def _front_camera(size=32, distance=3.0, dtype=torch.float64):
    return Camera(eye=torch.tensor([0.0, 0.0, distance], dtype=dtype), target=torch.zeros(3, dtype=dtype),
                  width=size, height=size, fov_y=30.0)  # fmt: skip


def _inside_reference(corners: np.ndarray, size: int) -> np.ndarray:
    """Pixel centres inside a 2D triangle, by the sign of three edge cross products."""
    ys, xs = np.mgrid[0:size, 0:size] + 0.5
    signs = []
    for k in range(3):
        a, b = corners[k], corners[(k + 1) % 3]
        signs.append((b[0] - a[0]) * (ys - a[1]) - (b[1] - a[1]) * (xs - a[0]))
    signs = np.stack(signs)
    return (signs >= 0).all(0) | (signs <= 0).all(0)


def test_a_triangle_covers_exactly_the_pixel_centres_inside_it():
    camera = _front_camera()
    vertices = torch.tensor([[[-0.5, -0.4, 0.0], [0.6, -0.2, 0.0], [0.1, 0.55, 0.0]]], dtype=torch.float64)
    faces = torch.tensor([[0, 1, 2]])
    clip = camera.to_clip(vertices)
    pixels = camera.to_pixels(clip)
    raster = rasterize(pixels, clip[..., 2] / clip[..., 3], faces, 32, 32)
    expected = _inside_reference(pixels[0].numpy(), 32)
    assert expected.sum() > 50
    np.testing.assert_array_equal(raster.mask[0].numpy(), expected)


def _cube():
    corners = torch.tensor([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)], dtype=torch.float64)
    quads = [[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4], [1, 5, 7, 3]]  # -x +x -y +y -z +z
    faces = torch.tensor([[q[0], q[1], q[2]] for q in quads] + [[q[0], q[2], q[3]] for q in quads])
    return corners, faces


def test_a_cube_shows_only_the_three_faces_towards_the_camera():
    corners, faces = _cube()
    camera = Camera(eye=torch.tensor([2.0, 1.6, 2.4], dtype=torch.float64), target=torch.zeros(3, dtype=torch.float64),
                    width=64, height=64, fov_y=40.0)  # fmt: skip
    out = MeshRenderer(faces)(corners[None], camera)
    seen = set(out.triangle.unique().tolist()) - {-1}
    sides = {t % 6 for t in seen}  # faces k and k + 6 are the two halves of side k
    assert sides == {1, 3, 5}  # +x, +y, +z
    # Smooth vertex normals of outward-wound faces lean, on average, towards the camera.
    normals = out.normals[0].permute(1, 2, 0)[out.raster.mask[0]]
    towards = torch.nn.functional.normalize(torch.tensor([2.0, 1.6, 2.4], dtype=torch.float64), dim=0)
    assert (normals @ towards).mean() > 0.5


def test_the_nearer_triangle_wins_whatever_the_order():
    camera = _front_camera()
    near = [[-0.5, -0.5, 0.3], [0.5, -0.5, 0.3], [0.0, 0.5, 0.3]]
    far = [[-0.6, -0.6, -0.3], [0.6, -0.6, -0.3], [0.0, 0.6, -0.3]]
    for order in ([near, far], [far, near]):
        vertices = torch.tensor([order[0] + order[1]], dtype=torch.float64)
        faces = torch.tensor([[0, 1, 2], [3, 4, 5]])
        out = MeshRenderer(faces)(vertices, camera)
        centre = out.triangle[0, 16, 16].item()
        assert vertices[0, faces[centre, 0], 2] == 0.3


def _finite_difference(loss, x, index, eps):
    x_plus, x_minus = x.clone(), x.clone()
    x_plus[index] += eps
    x_minus[index] -= eps
    return (loss(x_plus) - loss(x_minus)) / (2 * eps)


def _smooth_patch():
    """A bumpy grid of vertex-coloured triangles, seen from the front, inside the image."""
    n = 5
    xs, ys = np.meshgrid(np.linspace(-0.6, 0.6, n), np.linspace(-0.6, 0.6, n))
    # Jitter: a regular grid puts edges exactly through pixel centres, where the
    # image has a kink (one-sided derivatives) that central differences average.
    jitter = np.random.default_rng(5).uniform(-0.03, 0.03, size=(2, n, n))
    xs, ys = xs + jitter[0], ys + jitter[1]
    zs = 0.1 * np.sin(3 * xs) * np.cos(2 * ys)
    vertices = torch.tensor(np.stack([xs, ys, zs], -1).reshape(-1, 3))[None]
    faces = []
    for i in range(n - 1):
        for j in range(n - 1):
            a, b, c, d = i * n + j, i * n + j + 1, (i + 1) * n + j + 1, (i + 1) * n + j
            faces += [[a, b, c], [a, c, d]]
    colors = torch.tensor(np.random.default_rng(0).uniform(0.2, 1.0, size=(1, n * n, 3)))
    return vertices, torch.tensor(faces), colors


def test_gradients_inside_triangles_match_finite_differences():
    vertices, faces, colors = _smooth_patch()
    camera = _front_camera(size=48)
    renderer = MeshRenderer(faces)
    weights = torch.tensor(np.random.default_rng(1).normal(size=(1, 3, 48, 48)))
    inner = [6, 7, 8, 11, 12, 13, 16, 17, 18]  # vertices off the silhouette

    def loss(v):
        return (renderer(v, camera, color=colors).rgb * weights).sum()

    v = vertices.clone().requires_grad_()
    loss(v).backward()
    for vertex in inner:
        for axis in range(3):
            numeric = _finite_difference(lambda x: loss(x).detach(), vertices, (0, vertex, axis), 1e-5)
            assert v.grad[0, vertex, axis].item() == pytest.approx(numeric.item(), rel=0.02, abs=1e-3), (vertex, axis)


def test_silhouette_gradients_match_finite_differences():
    """Moving a corner of a lone triangle changes only its coverage: only antialiasing sees that."""
    camera = _front_camera(size=32)
    faces = torch.tensor([[0, 1, 2]])
    vertices = torch.tensor([[[-0.5, -0.41, 0.0], [0.53, -0.27, 0.0], [0.07, 0.52, 0.0]]], dtype=torch.float64)
    renderer = MeshRenderer(faces)
    weights = torch.tensor(np.random.default_rng(2).uniform(size=(1, 1, 32, 32)))

    def loss(v):
        return (renderer(v, camera).alpha * weights).sum()

    v = vertices.clone().requires_grad_()
    loss(v).backward()
    analytic = v.grad[0, :, :2]
    assert analytic.abs().max() > 1  # the hard rasterizer alone would give exactly zero
    for vertex in range(3):
        for axis in range(2):
            # A step of ~0.02 px: the antialiased image is piecewise smooth in the vertices.
            numeric = _finite_difference(lambda x: loss(x).detach(), vertices, (0, vertex, axis), 1e-3)
            assert analytic[vertex, axis].item() == pytest.approx(numeric.item(), rel=1e-3), (vertex, axis)


def test_texture_gradients_match_finite_differences():
    vertices, faces, _ = _smooth_patch()
    uvs = (vertices[0, :, :2] + 0.6) / 1.2
    renderer = MeshRenderer(faces, uvs=uvs, uv_faces=faces)
    texture = torch.tensor(np.random.default_rng(3).uniform(size=(1, 3, 8, 8)), requires_grad=True)
    weights = torch.tensor(np.random.default_rng(4).normal(size=(1, 3, 40, 40)))
    camera = _front_camera(size=40)

    def loss(t):
        return (renderer(vertices, camera, texture=t).rgb * weights).sum()

    loss(texture).backward()
    for texel in [(0, 0, 3, 4), (0, 1, 5, 2), (0, 2, 0, 7)]:
        numeric = _finite_difference(lambda t: loss(t).detach(), texture.detach(), texel, 1e-4)
        assert texture.grad[texel].item() == pytest.approx(numeric.item(), rel=1e-4, abs=1e-6)


def test_batch_equals_loop(openhead):
    renderer = MeshRenderer(openhead.faces, openhead.uvs, openhead.uv_faces, openhead.part_labels)
    vertices = openhead(shape=torch.randn(2, openhead.shape_dim, generator=torch.Generator().manual_seed(0)))
    camera = orbit_camera([0.0, 35.0], distance=0.9, width=48, height=48)
    texture = torch.rand(1, 3, 16, 32, generator=torch.Generator().manual_seed(1))
    batch = renderer(vertices, camera, texture=texture)
    for i in range(2):
        single = renderer(vertices[i : i + 1], orbit_camera([[0.0, 35.0][i]], distance=0.9, width=48, height=48), texture=texture)
        assert torch.allclose(batch.rgb[i], single.rgb[0], atol=1e-5)
        assert torch.equal(batch.triangle[i], single.triangle[0])
    assert batch.parts.shape == (2, len(openhead.part_names), 48, 48)


def test_a_pose_is_recovered_from_its_silhouette(openhead):
    """Silhouette gradients at work: fit a head's offset and turn to a target alpha mask."""
    renderer = MeshRenderer(openhead.faces)
    camera = orbit_camera([0.0], distance=0.9, width=64, height=64)
    template = openhead.template[None]

    def posed(params):
        shift, yaw = params[:3], params[3]
        c, s = torch.cos(yaw), torch.sin(yaw)
        rotation = torch.stack([torch.stack([c, 0 * c, s]), torch.tensor([0.0, 1.0, 0.0]), torch.stack([-s, 0 * c, c])])
        return template @ rotation.T + shift

    truth = torch.tensor([0.015, -0.01, 0.0, 0.12])
    target = renderer(posed(truth), camera).alpha.detach()
    params = torch.zeros(4, requires_grad=True)
    optimizer = torch.optim.Adam([params], lr=3e-3)
    for _ in range(150):
        optimizer.zero_grad()
        loss = (renderer(posed(params), camera).alpha - target).square().mean()
        loss.backward()
        optimizer.step()
    assert (params[:2] - truth[:2]).abs().max() < 2e-3  # metres, in the image plane
    assert abs(params[3] - truth[3]) < 0.04  # radians


def test_edge_neighbours_pair_up_shared_edges():
    _, faces = _cube()
    neighbours = edge_neighbours(faces)
    assert (neighbours >= 0).all()  # a closed surface has no open edge
    for f in range(len(faces)):
        for k in range(3):
            g = neighbours[f, k].item()
            edge = {faces[f, k].item(), faces[f, (k + 1) % 3].item()}
            assert edge <= set(faces[g].tolist()) and g != f


def test_projected_surface_points_land_on_the_rendered_surface(openhead):
    renderer = MeshRenderer(openhead.faces)
    camera = orbit_camera([20.0], distance=0.9, width=96, height=96)
    out = renderer(openhead.template[None], camera)
    nose = openhead.part_mask("nose").nonzero()[:, 0]
    triangles = torch.nonzero(torch.isin(openhead.faces, nose).all(1))[:20, 0]
    xy = project_points(openhead.template[None], openhead.faces, triangles, torch.full((20, 3), 1 / 3), camera)[0]
    hit = out.triangle[0, xy[:, 1].long(), xy[:, 0].long()]
    assert (hit >= 0).all()


def test_auto_backend_renders_cpu_tensors_with_the_cpu_path_and_gpu_only_backends_say_why():
    faces = torch.tensor([[0, 1, 2]])
    renderer = MeshRenderer(faces)
    assert renderer.backend(torch.device("cpu")).name == "cpu"
    with pytest.raises(RuntimeError, match="NVIDIA GPU.*use backend='cpu'"):
        MeshRenderer(faces, backend="nvdiffrast").backend(torch.device("cpu"))
    with pytest.raises(ValueError, match="backend must be one of"):
        MeshRenderer(faces, backend="pytorch3d")
