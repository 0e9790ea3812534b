"""Where the exact path's time goes, for docs/runtime.md, in one run on the shipped D_src:
ONNX Runtime session settings side by side (threads, spinning), the exported graph against
the graph traced straight from Deformer.forward, ONNX Runtime's own per-op profile of a
frame, and the sine kernels of ONNX Runtime, numpy and torch on one SIREN
layer's worth of values.

    python benchmarks/runtime_profile.py [--runs 15]

--threads is ignored: the settings compared are listed in the output.
"""

from __future__ import annotations

import collections
import json
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import torch
from onnx import helper

from stylemm import load_pack
from stylemm_export.onnx_export import export_deformer
from timing import benchmark_arguments, side_by_side_ms  # benchmarks/timing.py


def session(model: bytes, threads: int, spinning: bool, profile_prefix: str | None = None) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    if profile_prefix:
        options.enable_profiling, options.profile_file_prefix = True, profile_prefix
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def per_op_ms(model: bytes, feed: dict, runs: int, folder: str) -> dict[str, float]:
    profiled = session(model, threads=1, spinning=False, profile_prefix=str(Path(folder) / "profile"))
    for _ in range(runs):
        profiled.run(None, feed)
    totals = collections.Counter()
    for event in json.loads(Path(profiled.end_profiling()).read_text()):
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            totals[event["args"]["op_name"]] += event["dur"] / 1000 / runs
    return dict(totals.most_common())


def sine_model(size: int) -> bytes:
    graph = helper.make_graph([helper.make_node("Sin", ["x"], ["y"])], "sine",
                              [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [size])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [size])])  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)]).SerializeToString()


def main() -> None:
    args = benchmark_arguments(__doc__)
    torch.set_num_threads(1)
    deformer = load_pack("realistic").deformer
    rng = np.random.default_rng(0)
    feed = {"shape": rng.standard_normal((1, deformer.config.shape_dim)).astype(np.float32),
            "expression": rng.random((1, deformer.config.expression_dim)).astype(np.float32) * 0.3}  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "deformer.onnx"
        export_deformer(deformer, path)
        model = path.read_bytes()
        settings = {f"{t} thread{'s' * (t > 1)}, {'spinning' if s else 'no spinning'}": session(model, t, s)
                    for t in (1, 2) for s in (False, True)}  # fmt: skip
        times = side_by_side_ms({name: (lambda s=s: s.run(None, feed)) for name, s in settings.items()}, args.runs)
        print(f"ONNX Runtime, 1 character, median of {args.runs} runs timed in turns (ms per frame):")
        for name, ms in times.items():
            print(f"  {name:<28} {ms:6.2f}")
        traced = Path(folder) / "traced.onnx"
        export_deformer(deformer, traced, rearranged=False)
        graphs = {"as exported": model, "as traced from Deformer.forward": traced.read_bytes()}
        times = side_by_side_ms({name: (lambda s=session(g, 1, False): s.run(None, feed)) for name, g in graphs.items()},
                                args.runs)  # fmt: skip
        print("The deformer's graph, 1 thread, no spinning (ms per frame): "
              + ", ".join(f"{name} {ms:.2f}" for name, ms in times.items())
              + f"; {times['as traced from Deformer.forward'] / times['as exported']:.2f}x")  # fmt: skip
        exported, straight = (per_op_ms(g, feed, args.runs, folder) for g in graphs.values())
        print("ONNX Runtime's profile of one frame, 1 thread (ms): as exported, as traced")
        for op in sorted(exported.keys() | straight.keys(), key=lambda op: -max(exported.get(op, 0), straight.get(op, 0))):
            print(f"  {op:<16} {exported.get(op, 0):6.2f} {straight.get(op, 0):6.2f}")
    values = np.random.default_rng(1).standard_normal(deformer.template.shape[0] * deformer.config.hidden).astype(np.float32) * 30
    sine = session(sine_model(values.size), threads=1, spinning=False)
    as_tensor = torch.from_numpy(values)
    kernels = side_by_side_ms({"ONNX Runtime": lambda: sine.run(None, {"x": values}), "numpy": lambda: np.sin(values),
                               "torch": lambda: torch.sin(as_tensor)}, args.runs)  # fmt: skip
    print(f"sine of {values.size} values, 1 thread (ms): " + ", ".join(f"{k} {v:.2f}" for k, v in kernels.items()))


if __name__ == "__main__":
    main()
