"""Write face-model meshes as .obj (exact: shared vertices, separate UV indices) or .glb."""

from __future__ import annotations

import io

import numpy as np

from stylemm.io.atomic import atomic_write


def write_obj(path, vertices: np.ndarray, faces: np.ndarray, uvs: np.ndarray, uv_faces: np.ndarray) -> None:
    """OBJ keeps the model's vertex order (one 'v' per model vertex); UV v flipped to OBJ's origin."""
    out = io.StringIO()
    np.savetxt(out, vertices, fmt="v %.6f %.6f %.6f")
    has_uv = len(uvs) > 0
    if has_uv:
        np.savetxt(out, np.c_[uvs[:, 0], 1 - uvs[:, 1]], fmt="vt %.6f %.6f")
        corners = np.stack([faces + 1, uv_faces + 1], -1).reshape(len(faces), -1)
        np.savetxt(out, corners, fmt="f %d/%d %d/%d %d/%d")
    else:
        np.savetxt(out, faces + 1, fmt="f %d %d %d")
    with atomic_write(path, "w") as f:
        f.write(out.getvalue())


def write_glb(path, vertices: np.ndarray, faces: np.ndarray, uvs: np.ndarray, uv_faces: np.ndarray) -> None:
    """glTF binary via trimesh; vertices are split at UV seams as glTF requires."""
    import trimesh
    from trimesh.visual import TextureVisuals

    if len(uvs):
        pairs, corner_ids = np.unique(np.stack([faces, uv_faces], -1).reshape(-1, 2), axis=0, return_inverse=True)
        mesh = trimesh.Trimesh(
            vertices[pairs[:, 0]],
            corner_ids.reshape(-1, 3),
            visual=TextureVisuals(uv=np.c_[uvs[pairs[:, 1], 0], 1 - uvs[pairs[:, 1], 1]]),
            process=False,
        )
    else:
        mesh = trimesh.Trimesh(vertices, faces, process=False)
    with atomic_write(path) as f:
        f.write(mesh.export(file_type="glb"))
