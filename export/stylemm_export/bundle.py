"""Writing a StyleMM bundle (format 1.1, docs/bundle-format.md).

Everything is written into a staging directory beside the target, checked against the
JSON schema and read back through the runtime's reader, and only then renamed into
place (or zipped into a temp file that is renamed), so a bundle is either complete or
absent. An existing bundle is replaced only with ``overwrite=True``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import torch

from stylemm.landmarks import load_embedding
from stylemm.nets.deformer import Deformer
from stylemm_export import __version__
from stylemm_export.onnx_export import OPSET, export_deformer, export_texture_generator
from stylemm_runtime.bundle import FORMAT, FORMAT_MINOR, FORMAT_VERSION, MANIFEST, Bundle

SCHEMA = Path(__file__).with_name("manifest.schema.json")


def write_bundle(out, model, deformer, texture_generator, style: str, prompt: str | None = None,
                 overwrite: bool = False) -> Path:  # fmt: skip
    """Write ``model`` (a source FaceModel: topology, rig) with the networks of ``style``
    to ``out``: a directory, or a single file when ``out`` ends in .smm."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass overwrite=True (--force) to replace it")
    staging = out.with_name(f".{out.name}.{os.getpid()}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        arrays = _write_arrays(staging, {**_model_arrays(model), **_deformer_arrays(deformer)})
        export_deformer(deformer, staging / "deformer.onnx")
        export_texture_generator(texture_generator, staging / "texture_generator.onnx")
        manifest = _manifest(staging, model, deformer, texture_generator, style, prompt, arrays)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
        validate_manifest(manifest)
        Bundle(staging)  # the runtime's own checks, before anything is in place
        _move_into_place(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def validate_manifest(manifest: dict) -> None:
    """Check a manifest against manifest.schema.json (raises jsonschema.ValidationError)."""
    import jsonschema

    jsonschema.validate(manifest, json.loads(SCHEMA.read_text()))


def _model_arrays(model) -> dict:
    """The source model's template mesh and rig, and its landmark embedding where one ships:
    name -> (tensor, dtype)."""
    arrays = {
        "template": (model.template, "float32"),
        "faces": (model.faces, "int32"),
        "uvs": (model.uvs, "float32"),
        "uv_faces": (model.uv_faces, "int32"),
        "part_labels": (model.part_labels, "int32"),
        "skin_weights": (model.lbs_weights, "float32"),
        "joint_regressor": (model.joint_regressor, "float32"),
    }
    try:
        embedding = load_embedding(model)
    except FileNotFoundError:  # a model without MediaPipe's landmarks: the tracker will say so
        return arrays
    arrays["landmark_triangles"] = (torch.as_tensor(embedding.triangles), "int32")
    arrays["landmark_barycentrics"] = (torch.as_tensor(embedding.weights), "float32")
    return arrays


def _deformer_arrays(deformer) -> dict:
    """The deformer's weights as float32 arrays, name -> (tensor, dtype), named as
    docs/bundle-format.md ("Deformer weights") says; none for a deformer that is not a stylemm
    Deformer (its computation would not be the documented one). Each name is spelled out
    from the layer it holds, so that renaming a module fails here instead of changing the format."""
    if not isinstance(deformer, Deformer):
        return {}
    arrays = {}
    for module_name, mlp in (("shape_encoder", deformer.shape_encoder), ("expression_encoder", deformer.expression_encoder),
                             ("hyper", deformer.hyper)):  # fmt: skip
        for layer_name, layer in (("hidden", mlp.hidden), ("out", mlp.out)):
            arrays[f"deformer.{module_name}.{layer_name}.weight"] = (layer.weight, "float32")
            arrays[f"deformer.{module_name}.{layer_name}.bias"] = (layer.bias, "float32")
    for name in ("template", "centre", "scale"):
        arrays[f"deformer.{name}"] = (getattr(deformer, name), "float32")
    return arrays


def _deformer_native(deformer) -> dict:
    """``networks.deformer.native``: the sizes the deformer's arrays are evaluated with."""
    config = deformer.config
    return {"hidden": config.hidden, "layers": config.layers, "w0": float(config.w0), "shape_code": config.shape_code,
            "expression_code": config.expression_code, "hyper_hidden": config.hyper_hidden, "activation": "silu"}  # fmt: skip


def _write_arrays(folder: Path, tensors: dict) -> dict:
    """``tensors`` (name -> (tensor, dtype)) as raw little-endian C-order binaries ``<name>.bin``;
    returns their manifest entries."""
    entries = {}
    for name, (tensor, dtype) in tensors.items():
        array = np.ascontiguousarray(tensor.detach().cpu().numpy(), dtype=np.dtype(dtype).newbyteorder("<"))
        (folder / f"{name}.bin").write_bytes(array.tobytes())
        entries[name] = {"file": f"{name}.bin", "dtype": dtype, "shape": list(array.shape)}
    return entries


def _manifest(folder: Path, model, deformer, texture_generator, style: str, prompt: str | None, arrays: dict) -> dict:
    height = texture_generator.config.height
    networks = {
        "deformer": {"file": "deformer.onnx", "opset": OPSET, "inputs": {"shape": ["B", model.shape_dim],
                     "expression": ["B", model.expression_dim]}, "outputs": {"vertices": ["B", model.num_vertices, 3]}},
        "texture_generator": {"file": "texture_generator.onnx", "opset": OPSET, "inputs": {"z": ["B", texture_generator.config.z_dim],
                    "truncation": [1]}, "outputs": {"texture": ["B", 3, height, 2 * height]}},
    }  # fmt: skip
    if isinstance(deformer, Deformer):  # the deformer.* arrays were written (_deformer_arrays)
        networks["deformer"]["native"] = _deformer_native(deformer)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "format_minor": FORMAT_MINOR,
        "style": style,
        "prompt": prompt,
        "source_model": model.name,
        "created_by": f"stylemm-export {__version__}",
        "units": "metres, +Y up, +Z towards the viewer (glTF)",
        "mesh": {"vertices": model.num_vertices, "triangles": len(model.faces), "uv_vertices": len(model.uvs)},
        "parameters": {
            "shape": {"dim": model.shape_dim, "distribution": "standard normal"},
            "expression": {"names": list(model.expression_names),
                           "range": None if model.expression_range is None else list(model.expression_range)},  # fmt: skip
            "pose": {"joints": list(model.joint_names), "form": "axis-angle, radians, local to the parent"},
            "texture_z": {"dim": texture_generator.config.z_dim, "distribution": "standard normal"},
        },
        "joints": {"names": list(model.joint_names), "parents": list(model.parents)},
        "parts": list(model.part_names),
        "arrays": arrays,
        "networks": networks,
        "files": {p.name: {"bytes": p.stat().st_size, "sha256": _sha256(p)} for p in sorted(folder.iterdir())},
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _move_into_place(staging: Path, out: Path) -> None:
    if out.suffix == ".smm":
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        try:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
                for path in sorted(staging.iterdir()):
                    archive.write(path, path.name)
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
        return
    old = out.with_name(f".{out.name}.{os.getpid()}.old")
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)
