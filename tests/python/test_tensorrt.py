"""TensorRT engines: without an NVIDIA GPU the build stops and says so; with one, each
network of the bundle is built once with the batch profile and cached per GPU and version.
TensorRT cannot be installed here, so the GPU path runs against a recording stand-in."""

import types

import pytest
import torch

from stylemm_export import tensorrt_engines
from stylemm_export.tensorrt_engines import BATCH_PROFILE, build_engines, engine_folder


def test_without_a_gpu_the_build_says_why(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="NVIDIA GPU.*ONNX Runtime"):
        build_engines(tmp_path / "missing.smm")


def test_engines_are_cached_beside_the_bundle_per_gpu_and_version(tmp_path):
    folder = engine_folder(tmp_path / "orc.smm", "NVIDIA GeForce RTX 4090", "10.3.0")
    assert folder == tmp_path / "orc.smm.trt" / "NVIDIA_GeForce_RTX_4090-trt10.3.0"


def _recording_tensorrt(built: list):
    class Profile:
        def __init__(self):
            self.shapes = {}

        def set_shape(self, name, *dims):
            self.shapes[name] = dims

    class Config:
        def __init__(self):
            self.flags, self.profiles = [], []

        def set_flag(self, flag):
            self.flags.append(flag)

        def add_optimization_profile(self, profile):
            self.profiles.append(profile)

    class Builder:
        platform_has_fast_fp16 = True

        def __init__(self, logger):
            pass

        def create_network(self, flags):
            return object()

        def create_builder_config(self):
            return Config()

        def create_optimization_profile(self):
            return Profile()

        def build_serialized_network(self, network, config):
            built.append(config)
            return b"plan-%d" % len(built)

    class OnnxParser:
        def __init__(self, network, logger):
            self.num_errors = 0

        def parse(self, data):
            return data.startswith(b"\x08")  # an ONNX ModelProto starts with field 1 (ir_version)

    logger = types.SimpleNamespace(WARNING="warning")
    return types.SimpleNamespace(__version__="10.0.0", Logger=lambda level: logger, Builder=Builder, OnnxParser=OnnxParser,
                                 BuilderFlag=types.SimpleNamespace(FP16="fp16"))  # fmt: skip


def test_with_a_gpu_each_network_is_built_once_with_the_batch_profile(bundle_path, monkeypatch):
    built = []
    trt = _recording_tensorrt(built)
    trt.Logger.WARNING = "warning"
    monkeypatch.setattr(tensorrt_engines, "_tensorrt_and_gpu", lambda: (trt, "Test GPU"))
    engines = build_engines(bundle_path)
    assert sorted(engines) == ["deformer", "texture_generator"]
    assert all(path.read_bytes().startswith(b"plan-") for path in engines.values())
    shapes = built[0].profiles[0].shapes
    assert shapes["shape"][0][0] == BATCH_PROFILE[0] and shapes["shape"][2][0] == BATCH_PROFILE[2]
    assert built[0].flags == ["fp16"]
    assert build_engines(bundle_path) == engines and len(built) == 2  # cached: nothing rebuilt
