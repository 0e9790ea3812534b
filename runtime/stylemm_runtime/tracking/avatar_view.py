"""Drawing for the side-by-side video, with OpenCV only (the runtime has no GL or torch):
the input with its landmarks, and the avatar as flat-shaded textured triangles drawn far
to near (back faces culled), lit from the camera."""

from __future__ import annotations

import numpy as np


class AvatarView:
    """``draw(vertices) -> (size, size, 3) uint8 RGB`` for one character's topology."""

    def __init__(self, character, size: int = 480, fov_y_deg: float = 20.0, distance: float = 0.75,
                 centre=(0.0, 0.03, 0.02), background=(40, 44, 52)):  # fmt: skip
        import cv2

        self._cv2 = cv2
        model = character.model
        self.faces = np.asarray(model.faces)
        self.size, self.distance, self.centre = size, distance, np.asarray(centre, np.float64)
        self.focal = (size / 2) / np.tan(np.radians(fov_y_deg) / 2)
        self.background = np.array(background, np.uint8)
        # One colour per triangle: the texture at the centroid of its UV triangle.
        texture = character.texture()
        uv = np.asarray(model.uvs)[np.asarray(model.uv_faces)].mean(1)
        h, w = texture.shape[:2]
        px = np.clip((uv[:, 0] * w).astype(int), 0, w - 1)
        py = np.clip((uv[:, 1] * h).astype(int), 0, h - 1)  # glTF UVs: origin at the top left
        self.albedo = texture[py, px].astype(np.float64)

    def draw(self, vertices: np.ndarray) -> np.ndarray:
        image = np.empty((self.size, self.size, 3), np.uint8)
        image[:] = self.background
        v = np.asarray(vertices, np.float64) - self.centre
        depth = self.distance - v[:, 2]
        pixels = np.stack([self.size / 2 + self.focal * v[:, 0] / depth, self.size / 2 - self.focal * v[:, 1] / depth], 1)
        corners = v[self.faces]
        normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
        to_camera = np.array([0.0, 0.0, self.distance]) - corners.mean(1)
        to_camera /= np.linalg.norm(to_camera, axis=1, keepdims=True)
        facing = (normals * to_camera).sum(1)
        visible = np.flatnonzero(facing > 0)
        order = visible[np.argsort(corners[visible, :, 2].mean(1))]  # far (low z) first
        shade = 0.3 + 0.7 * facing[order, None]
        colours = np.clip(self.albedo[order] * shade, 0, 255).astype(np.uint8)
        points = np.round(pixels[self.faces[order]] * 16).astype(np.int32)  # 4 bits of sub-pixel precision
        fill = self._cv2.fillConvexPoly
        for triangle, colour in zip(points, colours):
            fill(image, triangle, colour.tolist(), lineType=self._cv2.LINE_AA, shift=4)
        return image


def draw_landmarks(image_rgb: np.ndarray, landmarks: np.ndarray | None, status: str) -> np.ndarray:
    """The frame with its landmarks as dots and a status line."""
    import cv2

    out = np.ascontiguousarray(image_rgb).copy()
    if landmarks is not None:
        for x, y in np.round(landmarks[:, :2]).astype(int):
            cv2.circle(out, (int(x), int(y)), 1, (80, 255, 120), -1)
    colour = (80, 255, 120) if landmarks is not None else (255, 90, 90)
    cv2.putText(out, status, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, colour, 2, cv2.LINE_AA)
    return out
