"""TensorRT engines for a bundle's networks, built on the NVIDIA GPU that will run them.

Engines are not portable between GPUs or TensorRT versions, so they are not part of the
bundle: they are cached beside it, in ``<bundle>.trt/<gpu>-trt<version>/<network>.plan``.
Where there is no NVIDIA GPU or no TensorRT, building stops with a message saying which.
"""

from __future__ import annotations

import re
from pathlib import Path

from stylemm.io.atomic import atomic_write
from stylemm_runtime.bundle import Bundle

# Batch sizes each engine is optimised for: (min, opt, max).
BATCH_PROFILE = (1, 1, 64)


def engine_folder(bundle_path, gpu_name: str, trt_version: str) -> Path:
    bundle_path = Path(bundle_path)
    key = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{gpu_name}-trt{trt_version}")
    return bundle_path.with_name(bundle_path.name + ".trt") / key


def build_engines(bundle_path, fp16: bool = True) -> dict[str, Path]:
    """Build (or reuse) one engine per network of the bundle; returns their paths."""
    trt, gpu_name = _tensorrt_and_gpu()
    bundle = Bundle(bundle_path)
    folder = engine_folder(bundle_path, gpu_name, trt.__version__)
    engines = {}
    for name, entry in bundle.manifest["networks"].items():
        path = folder / f"{name}.plan"
        if not path.is_file():
            plan = _build(trt, bundle.file_bytes(entry["file"]), entry["inputs"], fp16)
            with atomic_write(path) as f:
                f.write(plan)
        engines[name] = path
    return engines


def _tensorrt_and_gpu():
    import torch

    if not torch.cuda.is_available():
        raise RuntimeError(
            "TensorRT engines are built on the NVIDIA GPU that will run them, and this machine has none "
            "(CUDA is not available); the bundle's ONNX files run everywhere with ONNX Runtime"
        )
    try:
        import tensorrt as trt
    except ImportError:
        raise RuntimeError("TensorRT is not installed: pip install tensorrt (on a machine with an NVIDIA GPU)") from None
    return trt, torch.cuda.get_device_name()


def _build(trt, onnx_bytes: bytes, inputs: dict, fp16: bool) -> bytes:
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_bytes):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT could not parse the network: {errors}")
    config = builder.create_builder_config()
    if fp16 and builder.platform_has_fast_fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    for name, shape in inputs.items():
        dims = [[b if d == "B" else d for d in shape] for b in BATCH_PROFILE]
        profile.set_shape(name, *dims)
    config.add_optimization_profile(profile)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise RuntimeError("TensorRT failed to build an engine (see its log above)")
    return bytes(plan)
