"""TensorRT engines need an NVIDIA GPU: elsewhere the build stops and says so."""

import pytest
import torch

from stylemm_export.tensorrt_engines import build_engines, engine_folder


@pytest.mark.skipif(torch.cuda.is_available(), reason="this checks the message on machines without an NVIDIA GPU")
def test_without_a_gpu_the_build_says_why(tmp_path):
    with pytest.raises(RuntimeError, match="NVIDIA GPU.*ONNX Runtime"):
        build_engines(tmp_path / "missing.smm")


def test_engines_are_cached_beside_the_bundle_per_gpu_and_version(tmp_path):
    folder = engine_folder(tmp_path / "orc.smm", "NVIDIA GeForce RTX 4090", "10.3.0")
    assert folder == tmp_path / "orc.smm.trt" / "NVIDIA_GeForce_RTX_4090-trt10.3.0"
