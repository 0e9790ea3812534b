"""Cut the OpenHead mesh out of the MakeHuman body: head + neck, eyeballs, teeth, tongue."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stylemm.facemodel.openhead.assets import BaseMesh

# Body faces whose corners all lie above this height (decimetres) form a manifold
# head + neck with a single hole at the neck.
NECK_CUT_Y = 5.9

# MakeHuman helper groups kept as separate labelled sub-meshes.
SUBMESHES = {
    "helper-l-eye": "left_eyeball",
    "helper-r-eye": "right_eyeball",
    "helper-upper-teeth": "teeth",
    "helper-lower-teeth": "teeth",
    "helper-tongue": "tongue",
}


@dataclass(frozen=True)
class HeadCrop:
    source_vertices: np.ndarray  # (N,) index of each OpenHead vertex in the base mesh
    faces: np.ndarray  # (F, 3) triangles in OpenHead vertex indices
    source_uv_faces: np.ndarray  # (F, 3) triangles in base-mesh uv indices
    face_submesh: np.ndarray  # (F,) '' for the head, else a SUBMESHES label
    vertex_submesh: np.ndarray  # (N,) same, per vertex


def crop_head(mesh: BaseMesh) -> HeadCrop:
    body = mesh.group_names.index("body")
    keep, labels = [], []
    for i, (face, group) in enumerate(zip(mesh.faces, mesh.face_groups)):
        name = mesh.group_names[group]
        if group == body and (mesh.vertices[face, 1] >= NECK_CUT_Y).all():
            keep.append(i)
            labels.append("")
        elif name in SUBMESHES:
            keep.append(i)
            labels.append(SUBMESHES[name])
    quads = np.array([mesh.faces[i] for i in keep])
    uv_quads = np.array([mesh.uv_faces[i] for i in keep])
    source_vertices, local = np.unique(quads, return_inverse=True)
    local = local.reshape(quads.shape)
    vertex_submesh = np.full(len(source_vertices), "", dtype=object)
    for quad, label in zip(local, labels):
        vertex_submesh[quad] = label
    return HeadCrop(
        source_vertices=source_vertices,
        faces=_triangulate(local),
        source_uv_faces=_triangulate(uv_quads),
        face_submesh=np.repeat(np.asarray(labels, dtype=object), 2),
        vertex_submesh=vertex_submesh,
    )


def _triangulate(quads: np.ndarray) -> np.ndarray:
    """Split each quad (a, b, c, d) into (a, b, c) and (a, c, d), keeping the winding."""
    tris = np.stack([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]], axis=1)
    return tris.reshape(-1, 3)
