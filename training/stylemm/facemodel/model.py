"""The one face-model interface: a linear 3DMM with LBS, whatever built its arrays.

OpenHead and FLAME differ only in where their arrays come from; both become a
``FaceModel``: template + identity blendshapes + expression blendshapes (+ pose
correctives), joints regressed from the identity mesh, then linear blend skinning.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from stylemm.io.atomic import atomic_write
from stylemm.facemodel.lbs import joint_transforms, rodrigues, skin


@dataclass
class FaceModelArrays:
    """Everything that defines a face model, as plain numpy arrays (what builders produce)."""

    name: str
    template: np.ndarray  # (N, 3) metres
    faces: np.ndarray  # (F, 3) vertex indices
    uvs: np.ndarray  # (T, 2) glTF convention: origin top-left; (0, 2) if the model has none
    uv_faces: np.ndarray  # (F, 3) indices into uvs; (0, 3) if the model has none
    shapedirs: np.ndarray  # (K, N, 3), scaled so shape ~ N(0, I) is plausible
    exprdirs: np.ndarray  # (E, N, 3)
    expression_names: list[str]
    joint_regressor: np.ndarray  # (J, N): joints from the identity mesh
    parents: list[int]  # parents[0] == -1, parents[j] < j
    joint_names: list[str]
    lbs_weights: np.ndarray  # (N, J), rows sum to 1
    part_labels: np.ndarray  # (N,) index into part_names
    part_names: list[str]
    posedirs: np.ndarray | None = None  # (9 * (J - 1), N, 3) pose correctives, FLAME only
    expression_range: tuple[float, float] | None = None  # e.g. (0, 1) for ARKit weights
    metadata: dict = field(default_factory=dict)

    def save_npz(self, path) -> None:
        """Write atomically (temp file, then rename) as a plain .npz: no pickles."""
        arrays = {k: np.asarray(v) for k, v in vars(self).items() if v is not None and k != "metadata"}
        arrays["metadata_json"] = np.asarray(json.dumps(self.metadata, sort_keys=True))
        with atomic_write(path) as f:
            np.savez(f, **arrays)

    @classmethod
    def load_npz(cls, path) -> "FaceModelArrays":
        try:
            with np.load(path, allow_pickle=False) as z:
                raw = {k: z[k] for k in z.files}
        except (OSError, ValueError, zipfile.BadZipFile) as e:
            raise ValueError(f"{path} is not a readable face-model .npz ({e}); rebuild or re-convert it") from e
        fields = dataclasses.fields(cls)
        required = {f.name for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
        missing = required - set(raw)
        if missing:
            raise ValueError(f"{path} is missing {sorted(missing)}; rebuild or re-convert it")
        kwargs = {f.name: raw[f.name] for f in fields if f.name in raw}
        kwargs["name"] = str(kwargs["name"])
        for key in ("expression_names", "joint_names", "part_names"):
            kwargs[key] = [str(x) for x in kwargs[key]]
        kwargs["parents"] = [int(x) for x in kwargs["parents"]]
        if "expression_range" in kwargs:
            kwargs["expression_range"] = tuple(float(x) for x in kwargs["expression_range"])
        kwargs["metadata"] = json.loads(str(raw.get("metadata_json", "{}")))
        return cls(**kwargs)

    def digest(self) -> str:
        """sha256 over every array and name: equal digests mean identical models."""
        h = hashlib.sha256()
        for key, value in sorted(vars(self).items()):
            if value is None:
                continue
            h.update(key.encode())
            h.update(json.dumps(value, sort_keys=True).encode() if key == "metadata" else np.ascontiguousarray(np.asarray(value)).tobytes())
        return h.hexdigest()


class FaceModel(torch.nn.Module):
    """A batched, differentiable 3DMM: ``forward(shape=, expression=, pose=) -> (B, N, 3)``."""

    def __init__(self, arrays: FaceModelArrays):
        super().__init__()
        self.name = arrays.name
        self.expression_names = list(arrays.expression_names)
        self.joint_names = list(arrays.joint_names)
        self.parents = list(arrays.parents)
        self.part_names = list(arrays.part_names)
        self.expression_range = arrays.expression_range
        self.metadata = dict(arrays.metadata)
        f32 = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32))  # noqa: E731
        i64 = lambda a: torch.as_tensor(np.asarray(a, dtype=np.int64))  # noqa: E731
        self.register_buffer("template", f32(arrays.template), persistent=False)
        self.register_buffer("faces", i64(arrays.faces), persistent=False)
        self.register_buffer("uvs", f32(arrays.uvs), persistent=False)
        self.register_buffer("uv_faces", i64(arrays.uv_faces), persistent=False)
        self.register_buffer("shapedirs", f32(arrays.shapedirs), persistent=False)
        self.register_buffer("exprdirs", f32(arrays.exprdirs), persistent=False)
        self.register_buffer("joint_regressor", f32(arrays.joint_regressor), persistent=False)
        self.register_buffer("lbs_weights", f32(arrays.lbs_weights), persistent=False)
        self.register_buffer("part_labels", i64(arrays.part_labels), persistent=False)
        posedirs = arrays.posedirs
        self.register_buffer(
            "posedirs", None if posedirs is None else f32(posedirs), persistent=False
        )
        _check_consistent(self)

    # -- sizes -------------------------------------------------------------------------
    @property
    def num_vertices(self) -> int:
        return self.template.shape[0]

    @property
    def shape_dim(self) -> int:
        return self.shapedirs.shape[0]

    @property
    def expression_dim(self) -> int:
        return self.exprdirs.shape[0]

    def part_mask(self, *names: str) -> torch.Tensor:
        """Boolean (N,) mask of the vertices labelled with any of the given parts."""
        unknown = [n for n in names if n not in self.part_names]
        if unknown:
            raise ValueError(f"unknown part(s) {unknown}; this model has {self.part_names}")
        ids = torch.tensor([self.part_names.index(n) for n in names])
        return torch.isin(self.part_labels, ids)

    # -- evaluation ----------------------------------------------------------------------
    def forward(self, shape=None, expression=None, pose=None) -> torch.Tensor:
        """Posed vertices (B, N, 3).

        shape: (B, K) or (K,); expression: (B, E), (E,) or {name: value or (B,)};
        pose: {joint name: (B, 3) or (3,) axis-angle} or (B, J, 3). Missing means zero.
        """
        return self.evaluate(shape, expression, pose)[0]

    def evaluate(self, shape=None, expression=None, pose=None):
        """(vertices (B, N, 3), posed joints (B, J, 3)) for the given parameters."""
        batch = _batch_size(shape, expression, pose)
        return self.pose_neutral(self.neutral(self._coefficients("shape", shape, self.shape_dim, batch)), expression, pose)

    def neutral(self, beta: torch.Tensor) -> torch.Tensor:
        """Neutral (unposed, expressionless) meshes (B, N, 3) of identity coefficients (B, K)."""
        return self.template + torch.einsum("bk,knc->bnc", beta, self.shapedirs)

    def pose_neutral(self, v_shaped: torch.Tensor, expression=None, pose=None):
        """(vertices, joints) of given neutral meshes (B, N, 3) with this model's expressions and
        rig: joints regressed from the neutral, expression offsets, pose correctives, LBS. What
        ``evaluate`` does after its identity step; a stylized neutral animates the same way."""
        batch = len(v_shaped)
        psi = self._expression(expression, batch)
        rotations = rodrigues(self._pose(pose, batch))
        rest_joints = torch.einsum("jn,bnc->bjc", self.joint_regressor, v_shaped)
        v_rest = v_shaped + torch.einsum("be,enc->bnc", psi, self.exprdirs)
        if self.posedirs is not None:
            eye = torch.eye(3, dtype=rotations.dtype, device=rotations.device)
            pose_feature = (rotations[:, 1:] - eye).reshape(batch, -1)
            v_rest = v_rest + torch.einsum("bp,pnc->bnc", pose_feature, self.posedirs)
        joints, transforms = joint_transforms(rest_joints, self.parents, rotations)
        return skin(v_rest, self.lbs_weights, transforms), joints

    # -- parameter validation ---------------------------------------------------------
    def _coefficients(self, name: str, value, dim: int, batch: int) -> torch.Tensor:
        if value is None:
            return self.template.new_zeros(batch, dim)
        t = _as_float_tensor(name, value, self.template)
        if t.ndim == 1:
            t = t[None]
        if t.ndim != 2 or t.shape[1] != dim:
            raise ValueError(
                f"{name} must have shape (B, {dim}) or ({dim},) for model '{self.name}', "
                f"got {tuple(t.shape)}"
            )
        return t.expand(batch, dim)

    def _expression(self, value, batch: int) -> torch.Tensor:
        if not isinstance(value, Mapping):
            return self._coefficients("expression", value, self.expression_dim, batch)
        unknown = sorted(set(value) - set(self.expression_names))
        if unknown:
            raise ValueError(
                f"unknown expression name(s) {unknown} for model '{self.name}'; "
                f"valid names: {self.expression_names}"
            )
        psi = self.template.new_zeros(batch, self.expression_dim)
        for key, v in value.items():
            column = _as_float_tensor(f"expression['{key}']", v, self.template).reshape(-1)
            if column.numel() not in (1, batch):
                raise ValueError(f"expression['{key}'] must be a scalar or have {batch} values")
            psi[:, self.expression_names.index(key)] = column
        return psi

    def _pose(self, value, batch: int) -> torch.Tensor:
        n_joints = len(self.joint_names)
        if value is None:
            return self.template.new_zeros(batch, n_joints, 3)
        if not isinstance(value, Mapping):
            t = _as_float_tensor("pose", value, self.template)
            if t.ndim == 2:
                t = t[None]
            if t.shape[-2:] != (n_joints, 3) or t.ndim != 3:
                raise ValueError(
                    f"pose must be a dict {{joint: (B, 3)}} or have shape (B, {n_joints}, 3) "
                    f"with joints {self.joint_names}, got {tuple(t.shape)}"
                )
            return t.expand(batch, n_joints, 3)
        unknown = sorted(set(value) - set(self.joint_names))
        if unknown:
            raise ValueError(f"unknown joint(s) {unknown}; valid joints: {self.joint_names}")
        columns = []
        for joint in self.joint_names:
            if joint not in value:
                columns.append(self.template.new_zeros(batch, 3))
                continue
            t = _as_float_tensor(f"pose['{joint}']", value[joint], self.template)
            if t.shape[-1:] != (3,) or t.ndim > 2:
                raise ValueError(f"pose['{joint}'] must be axis-angle (B, 3) or (3,), got {tuple(t.shape)}")
            columns.append(t.reshape(-1, 3).expand(batch, 3))
        return torch.stack(columns, 1)


def _as_float_tensor(name: str, value, like: torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or Inf; pass finite numbers")
    return t


def _batch_size(shape, expression, pose) -> int:
    """The batch size the parameters imply (1 if none has a batch dimension)."""
    named = [("shape", shape, 1), ("pose", pose, 2)]
    if isinstance(expression, Mapping):
        named += [(f"expression['{k}']", v, 0) for k, v in expression.items()]
    else:
        named.append(("expression", expression, 1))
    if isinstance(pose, Mapping):
        named = [n for n in named if n[0] != "pose"]
        named += [(f"pose['{k}']", v, 1) for k, v in pose.items()]
    sizes = {}
    for name, value, vector_dims in named:
        if value is None:
            continue
        dims = np.shape(value.detach().cpu() if isinstance(value, torch.Tensor) else value)
        if len(dims) > vector_dims and dims[0] != 1:
            sizes[name] = dims[0]
    if len(set(sizes.values())) > 1:
        raise ValueError(f"parameters disagree on the batch size: {sizes}")
    return next(iter(sizes.values()), 1)


def _check_consistent(model: FaceModel) -> None:
    """Catch a malformed build early, naming the array that is off."""
    n, j = model.num_vertices, len(model.joint_names)
    checks = {
        "template": model.template.shape == (n, 3),
        "shapedirs": model.shapedirs.shape[1:] == (n, 3),
        "exprdirs": model.exprdirs.shape == (len(model.expression_names), n, 3),
        "joint_regressor": model.joint_regressor.shape == (j, n),
        "lbs_weights": model.lbs_weights.shape == (n, j),
        "parents": len(model.parents) == j
        and model.parents[0] == -1
        and all(0 <= p < i for i, p in enumerate(model.parents) if i),
        "faces": model.faces.ndim == 2 and model.faces.shape[1] == 3 and int(model.faces.max()) < n,
        "uv_faces": len(model.uvs) == 0 or model.uv_faces.shape == model.faces.shape,  # no UVs is allowed
        "part_labels": model.part_labels.shape == (n,),
        "posedirs": model.posedirs is None or model.posedirs.shape == (9 * (j - 1), n, 3),
    }
    bad = [k for k, ok in checks.items() if not ok]
    if bad:
        raise ValueError(f"face model '{model.name}' is malformed: inconsistent {bad}")
