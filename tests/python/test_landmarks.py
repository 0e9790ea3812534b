"""MediaPipe landmarks embedded on OpenHead: the shipped embedding, back-projection,
and the real MediaPipe model on our renders."""

import numpy as np
import pytest
import torch

from stylemm.landmarks import SUBSETS, LandmarkEmbedding, load_embedding
from stylemm.facemodel.sampling import RandomFaces, random_faces
from stylemm.landmarks.fitting import Views, _refine, _snap, back_project
from stylemm.render import MeshRenderer, orbit_camera


@pytest.fixture(scope="module")
def embedding(openhead):
    return load_embedding(openhead)


def test_the_shipped_embedding_fits_openhead(openhead, embedding):
    assert embedding.triangles.shape == (478,) and embedding.weights.shape == (478, 3)
    assert (embedding.weights >= 0).all() and np.allclose(embedding.weights.sum(1), 1)
    corners = openhead.faces[torch.as_tensor(embedding.triangles)]
    on_face = openhead.part_mask("face", "eyes", "nose", "mouth", "left_eyeball", "right_eyeball")[corners].any(1)
    # The sides of the face oval pass in front of the ears, where OpenHead's "ears" region
    # begins: MediaPipe puts them on the visible contour, which for a turned head lies there.
    near_ears = openhead.part_mask("ears")[corners].any(1)
    assert (on_face | near_ears).all() and (~on_face).sum() <= 12
    off_face = embedding.points(openhead.template[None], openhead.faces)[0][~on_face]
    face = openhead.template[openhead.part_mask("face")]
    assert torch.cdist(off_face, face).min(1).values.max() < 0.03  # metres: at the front of the ears


def test_named_subsets_sit_on_the_right_features(openhead, embedding):
    five = embedding.subset("five").points(openhead.template[None], openhead.faces)[0]
    eye_a, eye_b, nose, mouth_a, mouth_b = five
    # Iris centres sit on the front of the two eyeballs, one each side of the midline
    # (+X is the subject's left).
    assert bool(eye_a[0] > 0) != bool(eye_b[0] > 0)
    for index, eye in zip(SUBSETS["five"][:2], (eye_a, eye_b)):
        part = "left_eyeball" if eye[0] > 0 else "right_eyeball"
        assert openhead.part_mask(part)[openhead.faces[embedding.triangles[index]]].all()
        assert eye[2] > openhead.template[openhead.part_mask(part), 2].mean()
    assert nose[2] == max(p[2] for p in five)  # the nose tip is the most forward point
    assert mouth_a[1] < nose[1] and mouth_b[1] < nose[1] and mouth_a[0] * mouth_b[0] < 0
    assert len(embedding.subset("68").triangles) == 68
    with pytest.raises(ValueError, match="unknown landmark subset"):
        embedding.subset("98")


def test_landmarks_project_inside_the_face_in_every_render(openhead, embedding):
    renderer = MeshRenderer(openhead.faces, part_labels=openhead.part_labels, num_parts=len(openhead.part_names))
    faces = random_faces(openhead, 12, seed=7)
    with torch.no_grad():
        vertices = openhead(shape=faces["shape"], expression=faces["expression"])
        camera = orbit_camera(faces["yaw"], faces["pitch"], distance=0.75, target=(0.0, 0.03, 0.02), width=128, height=128)
        out = renderer(vertices, camera)
    xy = camera.project(embedding.points(vertices, openhead.faces)).floor().long()
    assert ((xy >= 0) & (xy < 128)).all()
    b = torch.arange(12)[:, None].expand(-1, 478)
    covered = out.triangle[b, xy[..., 1], xy[..., 0]] >= 0
    # A few face-oval points sit on the silhouette, where rounding to a pixel can miss.
    assert covered.float().mean(1).min() > 0.98
    seen_part = out.parts[b, :, xy[..., 1], xy[..., 0]].argmax(-1)
    inside = [openhead.part_names.index(p) for p in ("face", "eyes", "nose", "mouth", "left_eyeball", "right_eyeball", "ears")]
    # Per render, nearly every landmark lands on the face (the rest sit on its silhouette).
    assert torch.isin(seen_part, torch.tensor(inside)).float().mean(1).min() > 0.97


def test_back_projection_recovers_known_surface_points(openhead):
    """Project known surface points, pretend they were detected, and get them back."""
    _, vertices, camera, out = RandomFaces(openhead, 2, seed=3).render(slice(0, 2))
    visible = torch.unique(out.triangle[out.triangle >= 0])
    chosen = visible[torch.randperm(len(visible), generator=torch.Generator().manual_seed(0))[:40]].numpy()
    weights = np.random.default_rng(0).dirichlet(np.ones(3) * 5, size=40)
    truth = LandmarkEmbedding(chosen, weights)
    detections = camera.project(truth.points(vertices, openhead.faces)).numpy()
    triangles, found = back_project(detections, vertices, camera, out, openhead.faces)
    # Points near a triangle's edge can land in its neighbour; compare positions on the surface.
    recovered = (openhead.template[openhead.faces[torch.as_tensor(triangles)]] * torch.as_tensor(found)[..., None].float()).sum(-2)
    expected = truth.points(openhead.template[None], openhead.faces)[0]
    assert (triangles >= 0).mean() > 0.9
    hit = torch.as_tensor(triangles >= 0)
    assert (recovered[hit] - expected.expand(2, -1, -1)[hit]).norm(dim=-1).median() < 2e-4  # metres


def _synthetic_views(model, truth: LandmarkEmbedding, count: int) -> Views:
    """Views whose 'detections' are the exact projections of ``truth``."""
    faces = random_faces(model, count, seed=11)
    with torch.no_grad():
        vertices = model(shape=faces["shape"], expression=faces["expression"])
        camera = orbit_camera(faces["yaw"], faces["pitch"], distance=0.75, target=(0.0, 0.03, 0.02), width=512, height=512)
        clip = camera.to_clip(vertices.double())
        detections = camera.project(truth.points(vertices.double(), model.faces)).numpy()
    return Views(clip.numpy(), detections, lambda c: camera.to_pixels(torch.from_numpy(c)).numpy())


def test_views_project_interpolated_clip_coordinates_exactly(openhead, embedding):
    subset = embedding.subset("68")
    views = _synthetic_views(openhead, subset, count=3)
    errors = views.errors(subset.triangles[None], subset.weights[None], openhead.faces.numpy())
    assert errors.shape == (3, 1, 68) and errors.max() < 1e-6


def test_refining_moves_displaced_points_back_to_where_they_reproject(openhead, embedding):
    truth = embedding.subset("68")
    template, faces = openhead.template.double().numpy(), openhead.faces.numpy()
    views = _synthetic_views(openhead, truth, count=6)
    exact = truth.points(openhead.template[None].double(), openhead.faces)[0].numpy()
    start = _snap(template, faces, exact + np.array([0.003, -0.0015, 0.0]))  # 3.4 mm off, along the face
    before = np.nanmedian(views.errors(start.triangles[None], start.weights[None], faces))
    refined = _refine(start, template, faces, views)
    after = views.errors(refined.triangles[None], refined.weights[None], faces)
    moved = np.linalg.norm(refined.points(openhead.template[None].double(), openhead.faces)[0].numpy() - exact, axis=1)
    assert before > 5 and np.median(after) < 0.3  # pixels at 512 px
    assert np.median(moved) < 5e-4  # metres: back on the true point, to the fine grid's resolution


def test_mediapipe_finds_its_landmarks_where_the_embedding_puts_them(openhead, embedding):
    """The real MediaPipe model (bundled, offline) on held-out renders."""
    from stylemm.landmarks.detector import FaceMeshDetector
    from stylemm.landmarks.fitting import reprojection_errors

    detector = FaceMeshDetector()
    errors, _ = reprojection_errors(openhead, embedding, detector, count=4, seed=4242)
    assert np.isfinite(errors).all()  # a face was found in every render
    assert np.median(errors) < 8.0  # pixels at 512 px; benchmarks/ measures it properly
