"""Seed corpora for the native bundle fuzzers (tests/fuzz/run.sh): small real bundles written
by stylemm_export.bundle.write_bundle, and their manifests.

    .venv/bin/python tests/fuzz/make_seeds.py [out_dir]   # default build/fuzz

writes out_dir/corpus_bundle/*.smm (inputs of fuzz_bundle) and out_dir/corpus_manifest/*.json
(inputs of fuzz_manifest: the manifest.json of each bundle). The model is
tests/python/small_models.py's smooth_model() (300 vertices, K=3, E=2, J=1), so a seed is
tens of KB instead of OpenHead's megabytes:
  - smooth.smm: smooth_model() as it is. It has no UV layout (uvs (0, 2), uv_faces (0, 3)
    although F = 1), which the native reader refuses (uv_faces must be (F, 3)): a seed for
    the refusal path.
  - smooth_uv.smm: the same with a UV per vertex (uv_faces = faces): loads natively, so the
    fuzzer starts from the success path (model, evaluator, baked character, one frame).
  - tiny.smm: smooth_uv with the smallest networks (hidden 4, 1 layer): fewer bytes per run.
  - tiny_stub.smm: tiny.smm with its two ONNX files replaced by a few bytes (and "files"
    updated to match): the native core never opens them, and a smaller input runs faster.
corpus_manifest also gets two variants of tiny's manifest, compact and without "files"
(fuzz_manifest recomputes it): tiny_compact.json, and tiny_joints.json with a chain of
three joints (the seeds have one), so parents and skinning are explored from the start.
"""

import hashlib
import json
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "python"))

from small_models import smooth_model  # noqa: E402
from stylemm.nets.deformer import Deformer, DeformerConfig  # noqa: E402
from stylemm.nets.texture_generator import TextureGeneratorConfig, TextureGenerator  # noqa: E402
from stylemm_export.bundle import write_bundle  # noqa: E402


def with_uvs(model):
    """smooth_model() with one UV per vertex (a spherical projection), uv_faces = faces."""
    points = model.template.numpy()
    points = points / np.linalg.norm(points, axis=1, keepdims=True)
    u = 0.5 + np.arctan2(points[:, 0], points[:, 2]) / (2 * np.pi)
    v = 0.5 - np.arcsin(np.clip(points[:, 1], -1, 1)) / np.pi
    model.uvs = torch.as_tensor(np.stack([u, v], 1), dtype=torch.float32)
    model.uv_faces = model.faces.clone()
    return model


def networks(model, **sizes):
    torch.manual_seed(0)
    config = DeformerConfig(shape_dim=model.shape_dim, expression_dim=model.expression_dim, **sizes["deformer"])
    deformer = Deformer(config, model.template)
    generator = TextureGenerator(TextureGeneratorConfig(**sizes["texture_generator"]))
    with torch.no_grad():
        for p in list(deformer.parameters()) + list(generator.parameters()):
            p.add_(0.02 * torch.randn_like(p))  # away from the initialisation, as tests/python/test_bundle.py
    return deformer.eval(), generator.eval()


SMALL = {"deformer": dict(shape_code=16, expression_code=8, hidden=16, layers=2, hyper_hidden=16),
         "texture_generator": dict(height=16, z_dim=8, w_dim=8, mapping_layers=2, channel_base=64, channel_max=8)}  # fmt: skip
TINY = {"deformer": dict(shape_code=4, expression_code=4, hidden=4, layers=1, hyper_hidden=4),
        "texture_generator": dict(height=4, z_dim=4, w_dim=4, mapping_layers=1, channel_base=8, channel_max=2)}  # fmt: skip


def stub_bundle(source: Path, out: Path) -> None:
    with zipfile.ZipFile(source) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(files["manifest.json"])
    for network in manifest["networks"].values():
        files[network["file"]] = b"stub"
        manifest["files"][network["file"]] = {"bytes": 4, "sha256": hashlib.sha256(b"stub").hexdigest()}
    files["manifest.json"] = json.dumps(manifest, indent=2).encode()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(files):
            archive.writestr(name, files[name])
    print(f"{out.name}: {out.stat().st_size} bytes")


def main(out: Path) -> None:
    bundles, manifests = out / "corpus_bundle", out / "corpus_manifest"
    bundles.mkdir(parents=True, exist_ok=True)
    manifests.mkdir(parents=True, exist_ok=True)
    seeds = {"smooth": (smooth_model(), SMALL), "smooth_uv": (with_uvs(smooth_model()), SMALL),
             "tiny": (with_uvs(smooth_model()), TINY)}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for name, (model, sizes) in seeds.items():
            path = write_bundle(Path(tmp) / f"{name}.smm", model, *networks(model, **sizes), style="fuzz", prompt="a seed")
            data = path.read_bytes()
            (bundles / f"{name}.smm").write_bytes(data)
            with zipfile.ZipFile(path) as archive:
                (manifests / f"{name}.json").write_bytes(archive.read("manifest.json"))
            print(f"{name}.smm: {len(data)} bytes")
    stub_bundle(bundles / "tiny.smm", bundles / "tiny_stub.smm")
    manifest = json.loads((manifests / "tiny.json").read_text())
    del manifest["files"]
    (manifests / "tiny_compact.json").write_text(json.dumps(manifest, separators=(",", ":")))
    n = manifest["mesh"]["vertices"]
    manifest["joints"] = {"names": ["root", "neck", "head"], "parents": [-1, 0, 1]}
    manifest["parameters"]["pose"]["joints"] = manifest["joints"]["names"]
    manifest["arrays"]["skin_weights"]["shape"] = [n, 3]
    manifest["arrays"]["joint_regressor"]["shape"] = [3, n]
    (manifests / "tiny_joints.json").write_text(json.dumps(manifest, separators=(",", ":")))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "fuzz")
