"""A loaded bundle as an animatable model: characters, meshes and textures per frame.

``exact`` evaluation: the bundle's ``deformer.onnx`` in ONNX Runtime gives the unposed
mesh for (shape, expression); ``baked``: morph targets baked once per character
(stylemm_runtime.baking) blended in numpy; ``native``: the same morph targets blended by the
native core (stylemm_runtime._native, the C library engines use). Pose is then applied by
linear blend skinning about joints regressed from the character's neutral mesh (the
training side's rule).
A Model is immutable after loading, so threads can share it; ONNX Runtime sessions are
safe to run concurrently.

Threads: each network call uses ``threads`` threads (1 unless asked), which sleep rather
than spin when out of work. A game engine keeps its own cores busy: ONNX Runtime's default
(a spinning worker per core) takes them between calls, and when a core is taken the caller
spins until the scheduler's next tick. docs/runtime.md has the measurements.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import onnxruntime

import stylemm_runtime
from stylemm_runtime import baking, seeds, skinning
from stylemm_runtime.bundle import Bundle, BundleError


BACKENDS = ("exact", "baked", "native", "auto")
AUTO_BAKE_P99_MM = 0.5  # sub-millimetre: invisible at game-camera distances


@dataclass(frozen=True)
class Landmarks:
    """MediaPipe's face-mesh landmarks as surface points: a triangle and its barycentric
    weights per landmark, so they follow every character and expression."""

    triangles: np.ndarray  # (L,) int32 index into Model.faces
    barycentrics: np.ndarray  # (L, 3) float32

    def points(self, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
        """(L, 3) positions on a mesh (N, 3) of the model's topology."""
        return np.einsum("lk,lkc->lc", self.barycentrics, vertices[faces[self.triangles]])


class Model:
    def __init__(self, path, providers: list[str] | None = None, threads: int = 1):
        options = _session_options(threads)
        self.bundle = Bundle(path)
        try:
            self._read(self.bundle.manifest)
        except BundleError:
            raise
        except (KeyError, TypeError, ValueError, OverflowError) as e:
            raise BundleError(f"{self.bundle.path}: malformed manifest ({type(e).__name__}: {e})") from None
        providers = providers or ["CPUExecutionProvider"]
        # Bundles before format 1.1 named the texture generator's network "texture".
        texture_network = "texture_generator" if self.bundle.minor >= 1 else "texture"
        self._deformer, self._texture = (self._session(name, providers, options) for name in ("deformer", texture_network))
        self._native, self._native_lock = None, threading.Lock()

    def native(self):
        """This bundle in the native core (stylemm_runtime._native.Model), loaded on first use."""
        with self._native_lock:
            if self._native is None:
                self._native = stylemm_runtime.native().Model(self.bundle.path)
            return self._native

    def _read(self, manifest: dict) -> None:
        parameters = manifest["parameters"]
        self.style = manifest.get("style")
        self.shape_dim = int(parameters["shape"]["dim"])
        self.expression_names = list(parameters["expression"]["names"])
        self.expression_range = parameters["expression"].get("range")
        self.texture_dim = int(parameters["texture_z"]["dim"])
        self.joint_names = list(manifest["joints"]["names"])
        self.parents = np.asarray(manifest["joints"]["parents"], dtype=np.int64)
        self.faces = self.bundle.array("faces")
        self.uvs, self.uv_faces = self.bundle.array("uvs"), self.bundle.array("uv_faces")
        self.template = self.bundle.array("template")
        self.skin_weights = self.bundle.array("skin_weights")
        self.joint_regressor = self.bundle.array("joint_regressor")
        self.part_labels, self.part_names = self.bundle.array("part_labels"), list(manifest["parts"])
        # Sizes, index ranges and parent order were checked by the bundle's rules (bundle_rules.json).
        self.landmarks = None
        if "landmark_triangles" in manifest["arrays"]:
            self.landmarks = Landmarks(self.bundle.array("landmark_triangles"), self.bundle.array("landmark_barycentrics"))

    @property
    def num_vertices(self) -> int:
        return len(self.template)

    @property
    def providers(self) -> list[str]:
        """The execution providers really in use (not merely requested)."""
        return self._deformer.get_providers()

    def character(self, shape=None, texture_z=None, seed: int | None = None, truncation: float = 1.0,
                  backend: str = "exact") -> Character:  # fmt: skip
        """A character: identity ``shape`` (K,) and texture latent ``texture_z`` (Z,), either
        given or drawn from ``seed`` (both zero / the mean face when neither is given).

        backend: ``exact`` runs the deformer every frame; ``baked`` bakes morph targets once
        (stylemm_runtime.baking, about a second) and then blends them in numpy; ``native``
        blends the same bake in the native core; ``auto`` bakes and keeps the bake if its
        held-out p99 error is within ``AUTO_BAKE_P99_MM``, blending natively where the native
        core is built.
        """
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        # A seed is a character everywhere: the first K values of its stream (smm_sample_normal,
        # as the engine samples draw it) are the shape, the next Z the texture latent.
        drawn = (None, None) if seed is None else seeds.character_values(seed, self.shape_dim, self.texture_dim)
        shape = self._vector("shape", shape, self.shape_dim, drawn[0])
        texture_z = self._vector("texture_z", texture_z, self.texture_dim, drawn[1])
        return Character(self, shape, texture_z, float(truncation), backend)

    def deform(self, shapes, expressions) -> np.ndarray:
        """Unposed meshes (B, N, 3) for a crowd: shapes (B, K), expressions (B, E) (the
        deformer alone; ``Character.mesh`` poses them)."""
        shapes = _finite("shapes", shapes, (None, self.shape_dim))
        expressions = _finite("expressions", expressions, (len(shapes), len(self.expression_names)))
        return self._deformer.run(None, {"shape": shapes, "expression": expressions})[0]

    def texture(self, texture_z, truncation: float = 1.0) -> np.ndarray:
        """The texture (H, W, 3) uint8 of latent ``texture_z`` (Z,)."""
        feed = {"z": _finite("texture_z", texture_z, (self.texture_dim,))[None], "truncation": np.array([truncation], np.float32)}
        image = self._texture.run(None, feed)[0][0]
        return (image.transpose(1, 2, 0) * 255).round().astype(np.uint8)

    def expression_vector(self, expression) -> np.ndarray:
        """(E,) weights from None, a mapping {name: weight} or an array."""
        if expression is None:
            return np.zeros(len(self.expression_names), np.float32)
        if isinstance(expression, Mapping):
            unknown = sorted(set(expression) - set(self.expression_names))
            if unknown:
                raise ValueError(f"unknown expression name(s) {unknown}; this bundle has {self.expression_names}")
            vector = np.zeros(len(self.expression_names), np.float32)
            for name, value in expression.items():
                vector[self.expression_names.index(name)] = _finite(f"expression['{name}']", value, ())
            return vector
        return _finite("expression", expression, (len(self.expression_names),))

    def pose_rotations(self, pose) -> np.ndarray:
        """(J, 3, 3) local rotations from None or {joint name: axis-angle (3,)}."""
        return skinning.rodrigues(self.pose_axis_angle(pose))

    def pose_axis_angle(self, pose) -> np.ndarray:
        """(J, 3) local axis-angle rotations from None or {joint name: axis-angle (3,)}."""
        axis_angle = np.zeros((len(self.joint_names), 3))
        if pose is not None:
            if not isinstance(pose, Mapping):
                raise ValueError(f"pose must be a mapping {{joint name: axis-angle (3,)}} over {self.joint_names}")
            unknown = sorted(set(pose) - set(self.joint_names))
            if unknown:
                raise ValueError(f"unknown joint(s) {unknown}; this bundle has {self.joint_names}")
            for name, value in pose.items():
                axis_angle[self.joint_names.index(name)] = _finite(f"pose['{name}']", value, (3,))
        return axis_angle

    def _session(self, name: str, providers: list[str], options: onnxruntime.SessionOptions) -> onnxruntime.InferenceSession:
        entry = self.bundle.manifest["networks"].get(name)
        if entry is None:
            raise BundleError(f"{self.bundle.path}: the manifest has no '{name}' network")
        try:
            return onnxruntime.InferenceSession(self.bundle.file_bytes(entry["file"]), options, providers=providers)
        except Exception as e:  # onnxruntime raises its own exception types for unreadable models
            raise BundleError(f"{self.bundle.path}: {entry['file']} is not a loadable ONNX model ({e})") from None

    @staticmethod
    def _vector(name: str, value, dim: int, drawn: np.ndarray | None) -> np.ndarray:
        if value is not None:
            return _finite(name, value, (dim,))
        return drawn if drawn is not None else np.zeros(dim, np.float32)


class Character:
    """One identity and texture of a Model; ``mesh(expression, pose)`` per frame."""

    def __init__(self, model: Model, shape: np.ndarray, texture_z: np.ndarray, truncation: float, backend: str):
        self.model, self.shape, self.texture_z, self.truncation = model, shape, texture_z, truncation
        neutral = model.deform(shape[None], np.zeros((1, len(model.expression_names)), np.float32))[0]
        self.rest_joints = model.joint_regressor @ neutral.astype(np.float64)  # joints follow identity, not expression
        self.morphs, self.bake_error, self._native = None, None, None
        if backend != "exact":
            self.morphs = baking.bake(model, shape)
            self.bake_error = baking.measure(model, shape, self.morphs)
            if backend == "auto" and self.bake_error["p99_mm"] > AUTO_BAKE_P99_MM:
                self.morphs = None
        if self.morphs is None:
            self.backend = "exact"
        elif backend == "native" or (backend == "auto" and stylemm_runtime.has_native()):
            self.backend = "native"
            self._native = model.native().character_from_morphs(self.morphs.neutral, self.morphs.deltas)
        else:
            self.backend = "baked"
        self._texture = None

    @property
    def faces(self) -> np.ndarray:
        return self.model.faces

    @property
    def uvs(self) -> np.ndarray:
        return self.model.uvs

    def mesh(self, expression=None, pose=None) -> np.ndarray:
        """Posed vertices (N, 3) float32; expression by name or as an (E,) array, pose by joint."""
        weights = self.model.expression_vector(expression)
        if self._native is not None:
            return self._native.evaluate(weights, pose=None if pose is None else self.model.pose_axis_angle(pose))
        if self.morphs is not None:
            vertices = self.morphs.mesh(weights)
        else:
            vertices = self.model.deform(self.shape[None], weights[None])[0]
        if pose is None:
            return vertices
        transforms = skinning.joint_transforms(self.rest_joints, self.model.parents, self.model.pose_rotations(pose))
        return skinning.skin(vertices, self.model.skin_weights, transforms).astype(np.float32)

    def normals(self, vertices: np.ndarray) -> np.ndarray:
        """Area-weighted unit vertex normals (N, 3) of a mesh from ``mesh()``."""
        corners = vertices[self.model.faces]
        face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        normals = np.zeros_like(vertices)
        for k in range(3):
            np.add.at(normals, self.model.faces[:, k], face_normals)
        return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)

    def texture(self) -> np.ndarray:
        """The character's texture (H, W, 3) uint8, made once and kept."""
        if self._texture is None:
            self._texture = self.model.texture(self.texture_z, self.truncation)
        return self._texture


def _session_options(threads: int) -> onnxruntime.SessionOptions:
    """``threads`` intra-op threads that sleep, rather than spin, when they run out of work."""
    if isinstance(threads, bool) or not isinstance(threads, Integral) or threads < 1:
        raise ValueError(f"threads must be a whole number >= 1, got {threads!r}")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _finite(name: str, value, shape: tuple) -> np.ndarray:
    """value as float32 of ``shape`` (None = any size), all finite; else a ValueError naming it."""
    array = np.asarray(value)
    if array.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be numbers, got dtype {array.dtype}")
    if array.ndim != len(shape) or any(s is not None and a != s for a, s in zip(array.shape, shape)):
        wanted = ", ".join("B" if s is None else str(s) for s in shape)
        raise ValueError(f"{name} must have shape ({wanted}), got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or Inf; pass finite numbers")
    return array.astype(np.float32)
