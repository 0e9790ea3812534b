"""Making the landmark embedding: render many random textured faces, detect landmarks with
MediaPipe, back-project each detection through the rasterizer onto the surface, take a
robust per-landmark median in the template's coordinates (outliers dropped), snap it back
onto the surface, then move each point over the nearby surface to where it reprojects best.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from stylemm.facemodel.sampling import BATCH, RENDER_SIZE, RandomFaces
from stylemm.landmarks.embedding import LandmarkEmbedding
from stylemm.render.rasterize import screen_barycentrics

OUTLIER_MADS = 3.0  # observations further than this many median deviations are dropped
REFINE_RADIUS = 0.005  # metres: far enough to settle, near enough to stay on the same feature
REFINE_GRID = 8  # barycentric steps per triangle edge
ERROR_CAP_PX = 10.0


def back_project(detections: np.ndarray, vertices, camera, out, faces: torch.Tensor):
    """Triangle + perspective-correct barycentrics under each detected point, or -1."""
    batch, count = detections.shape[:2]
    triangles = np.full((batch, count), -1)
    weights = np.zeros((batch, count, 3))
    clip = camera.to_clip(vertices)
    pixels = camera.to_pixels(clip)
    for b in range(batch):
        found = np.isfinite(detections[b]).all(1)
        xy = np.clip(np.floor(detections[b, found]).astype(int), 0, RENDER_SIZE - 1)
        tri = out.triangle[b, xy[:, 1], xy[:, 0]]
        hit = tri >= 0
        tri = tri[hit]
        corners = pixels[b, faces[tri]]
        point = torch.as_tensor(detections[b, found][hit.numpy()], dtype=pixels.dtype)
        screen = screen_barycentrics(corners, point).clamp(min=0)
        corrected = screen / clip[b, faces[tri], 3]
        rows = np.flatnonzero(found)[hit.numpy()]
        triangles[b, rows] = tri.numpy()
        weights[b, rows] = (corrected / corrected.sum(-1, keepdim=True)).numpy()
    return triangles, weights


def embed(model, detector, count: int = 480, seed: int = 0) -> tuple[LandmarkEmbedding, dict]:
    """Embed the detector's landmarks on the model's surface from ``count`` random renders:
    a robust 3D centre of the back-projected detections, then refined in 2D."""
    template = model.template.double().numpy()
    tri_faces = model.faces.numpy()
    observations = []  # (renders, L, 3) template-space positions, NaN where not seen
    clips, detections = [], []
    for images, vertices, camera, out in tqdm(RandomFaces(model, count, seed).batches(), desc="detecting landmarks",
                                              unit="batch", total=-(-count // BATCH)):  # fmt: skip
        found = detector.detect(images)
        triangles, weights = back_project(found, vertices, camera, out, model.faces)
        on_template = (template[tri_faces[triangles.clip(min=0)]] * weights[..., None]).sum(-2)
        observations.append(np.where((triangles >= 0)[..., None], on_template, np.nan))
        clips.append(camera.to_clip(vertices).double().numpy())
        detections.append(found)
    observations = np.concatenate(observations)
    start = _snap(template, tri_faces, _robust_centre(observations))
    # Every camera has the same image size, which is all that to_pixels reads.
    views = Views(np.concatenate(clips), np.concatenate(detections), lambda clip: camera.to_pixels(torch.from_numpy(clip)).numpy())
    embedding = _refine(start, template, tri_faces, views)
    return embedding, {
        "renders": count,
        "faces_found": int(np.isfinite(observations).all(-1).any(-1).sum()),
        "observations_per_landmark_min": int(np.isfinite(observations).all(-1).sum(0).min()),
        "training_median_px_before_refining": float(np.nanmedian(views.errors(start.triangles[None], start.weights[None], tri_faces))),
        "training_median_px": float(np.nanmedian(views.errors(embedding.triangles[None], embedding.weights[None], tri_faces))),
    }


@dataclass
class Views:
    """What the training renders saw: every vertex in clip space and the detections."""

    clip: np.ndarray  # (R, N, 4)
    detections: np.ndarray  # (R, L, 2) pixels, NaN where no face was found
    to_pixels: Callable[[np.ndarray], np.ndarray]  # (..., 4) clip -> (..., 2) pixels

    def errors(self, triangles: np.ndarray, weights: np.ndarray, faces: np.ndarray, landmark=slice(None)) -> np.ndarray:
        """(R, C, L) pixel distances from surface points (C, L) (triangle + barycentrics) to
        the detections of ``landmark``. Clip coordinates are linear in the vertices, so
        interpolating them and projecting afterwards is exact."""
        clip = np.einsum("rclkx,clk->rclx", self.clip[:, faces[triangles]], weights)
        return np.linalg.norm(self.to_pixels(clip) - self.detections[:, None, landmark], axis=-1)


def _refine(embedding: LandmarkEmbedding, template: np.ndarray, faces: np.ndarray, views: Views) -> LandmarkEmbedding:
    """Moves each landmark over the nearby surface to where it reprojects best onto the
    training detections. The robust 3D centre is a good start but not the optimum of what
    the keypoint loss compares: 2D positions, under views where MediaPipe slides along the
    surface. The mean error is capped so that MediaPipe's occasional misses do not steer
    a point."""
    centroids = template[faces].mean(1)
    triangles, weights = embedding.triangles.copy(), embedding.weights.copy()
    grid = _barycentric_grid(REFINE_GRID)
    points = (template[faces[triangles]] * weights[..., None]).sum(1)
    for landmark in tqdm(range(len(triangles)), desc="refining landmarks", unit="landmark"):
        distance = np.linalg.norm(centroids - points[landmark], axis=1)
        near = np.union1d(np.flatnonzero(distance < REFINE_RADIUS), np.argsort(distance)[:4])  # a large triangle has a far centroid
        candidates = np.repeat(near, len(grid)), np.tile(grid, (len(near), 1))
        error = views.errors(candidates[0][:, None], candidates[1][:, None], faces, [landmark])[..., 0]
        best = np.nanmean(np.minimum(error, ERROR_CAP_PX), axis=0).argmin()
        triangles[landmark], weights[landmark] = candidates[0][best], candidates[1][best]
    return LandmarkEmbedding(triangles, weights)


def _barycentric_grid(steps: int) -> np.ndarray:
    """All barycentric weights (i, j, k) / steps with i + j + k = steps."""
    return np.array([(i, j, steps - i - j) for i in range(steps + 1) for j in range(steps + 1 - i)], float) / steps


def _robust_centre(observations: np.ndarray) -> np.ndarray:
    """Per landmark, the median position after dropping observations far from it."""
    median = np.nanmedian(observations, axis=0)
    distance = np.linalg.norm(observations - median, axis=-1)
    spread = np.nanmedian(distance, axis=0) * 1.4826 + 1e-6  # MAD scaled to a std
    kept = np.where((distance <= OUTLIER_MADS * spread)[..., None], observations, np.nan)
    return np.nanmedian(kept, axis=0)


def _snap(template: np.ndarray, faces: np.ndarray, points: np.ndarray, candidates: int = 16) -> LandmarkEmbedding:
    """The nearest surface point (triangle + barycentrics) to each 3D point, searched
    among the triangles whose centroids are nearest."""
    from scipy.spatial import cKDTree
    from trimesh.triangles import closest_point, points_to_barycentric

    corners = template[faces]
    _, near = cKDTree(corners.mean(1)).query(points, k=candidates)  # (L, k)
    flat = near.reshape(-1)
    on_surface = closest_point(corners[flat], np.repeat(points, candidates, axis=0)).reshape(len(points), candidates, 3)
    best = np.linalg.norm(on_surface - points[:, None], axis=-1).argmin(1)
    triangles = near[np.arange(len(points)), best]
    weights = points_to_barycentric(corners[triangles], on_surface[np.arange(len(points)), best])
    weights = np.clip(weights, 0, None)
    return LandmarkEmbedding(triangles.astype(np.int64), weights / weights.sum(1, keepdims=True))


def reprojection_errors(model, embedding: LandmarkEmbedding, detector, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(renders, L) pixel distances at 512 px between projected embedded points and
    fresh detections on faces not used for the embedding (NaN where nothing was found),
    and those detections (renders, L, 2)."""
    errors, detections = [], []
    for images, vertices, camera, _ in RandomFaces(model, count, seed).batches():
        projected = camera.project(embedding.points(vertices, model.faces)).numpy()
        detections.append(detector.detect(images))
        errors.append(np.linalg.norm(projected - detections[-1], axis=-1))
    return np.concatenate(errors), np.concatenate(detections)
