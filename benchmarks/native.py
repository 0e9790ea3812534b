"""The native core against the other ways to animate the realistic bundle, in one run:
a frame (mesh + normals, posed, ~15 of 52 expression weights active) for 1 and 64
characters in the native core vs numpy's baked path vs ONNX Runtime's exact network;
baking a character natively vs stylemm_runtime.baking (ONNX Runtime); the deformer itself
natively vs ONNX Runtime, and from one Python thread vs two (an Evaluator each); and the
same frame and bake timed in C, without Python (benchmarks/native_frame.cpp, built here
with CMake), with the time it takes just to read the morph targets those frames blend.

    python benchmarks/native.py [--runs 9] [--threads 2]
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

import stylemm_runtime
from stylemm import load_pack
from stylemm.facemodel import load
from stylemm_export.bundle import write_bundle
from stylemm_runtime import baking
from timing import benchmark_arguments, median_ms, side_by_side_ms  # benchmarks/timing.py

ROOT = Path(__file__).resolve().parents[1]
ACTIVE = 15  # expression weights a face tracker drives at once, of 52
OPENBLAS_SETTLE_S = 0.5  # see runtime.py: numpy's OpenBLAS workers spin for a while after each call


def tracked_expressions(count: int, e: int, rng) -> np.ndarray:
    weights = np.zeros((count, e), np.float32)
    for row in weights:
        row[rng.choice(e, ACTIVE, replace=False)] = rng.uniform(0.05, 1.0, ACTIVE)
    return weights


def c_benchmark(bundle: Path, runs: int, threads: int, arch: str = "") -> dict:
    """Build benchmarks/native_frame.cpp (Release, for CPU `arch`, empty: any) and run it on the bundle."""
    build = ROOT / "build" / f"bench-{arch or 'any'}"
    subprocess.run(["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release", "-DSTYLEMM_BUILD_BENCHMARKS=ON",
                    "-DSTYLEMM_BUILD_TESTS=OFF", "-DSTYLEMM_BUILD_PYTHON=OFF", f"-DSTYLEMM_ARCH={arch}"],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run(["cmake", "--build", build, "-j2", "--target", "stylemm_native_frame"], check=True, capture_output=True)
    result = subprocess.run([build / "stylemm_native_frame", bundle, str(runs), str(threads)], check=True,
                            capture_output=True, text=True)  # fmt: skip
    return json.loads(result.stdout)


def two_threads_speedup(native, shapes: np.ndarray, expressions: np.ndarray, calls: int = 24) -> str:
    """The same `calls` deform calls on one Python thread and split over two, each thread on
    its own evaluator (stylemm_runtime._native.Evaluator): the GIL is released and no lock
    taken, so on two free cores two threads take about half the time."""
    evaluators = [stylemm_runtime.native().Evaluator(native) for _ in range(2)]

    def work(evaluator, count):
        for _ in range(count):
            evaluator.deform(shapes, expressions)

    work(evaluators[0], 2)  # warm
    begin = time.perf_counter()
    work(evaluators[0], calls)
    one = time.perf_counter() - begin
    threads = [threading.Thread(target=work, args=(e, calls // 2)) for e in evaluators]
    begin = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    two = time.perf_counter() - begin
    return f"one thread {one * 1e3 / calls:.2f} ms per call, two threads {two * 1e3 / calls:.2f}, speed-up {one / two:.2f}"


def has_avx2_fma() -> bool:
    cpuinfo = Path("/proc/cpuinfo")
    flags = cpuinfo.read_text().split() if cpuinfo.exists() else []
    return "avx2" in flags and "fma" in flags


def main() -> None:
    args = benchmark_arguments(__doc__)
    networks, source = load_pack("realistic"), load("openhead")
    folder = tempfile.TemporaryDirectory()
    path = write_bundle(Path(folder.name) / "realistic.smm", source, networks.deformer, networks.texture_generator,
                        style="realistic")  # fmt: skip
    model = stylemm_runtime.load(path, threads=args.threads)
    native = stylemm_runtime.native().Model(path, threads=args.threads)
    rng = np.random.default_rng(0)
    e, j = len(model.expression_names), len(model.joint_names)
    pose = {"neck": [0.1, 0.3, 0.0], "jaw": [0.2, 0.0, 0.0]}
    axis_angle = model.pose_axis_angle(pose).astype(np.float32)
    print(f"median of {args.runs} runs, {args.threads} threads; frame = posed mesh + normals, {ACTIVE} of {e} weights active")

    # Bakes: the native core vs stylemm_runtime.baking on ONNX Runtime, unit and fitted.
    shape = rng.standard_normal(model.shape_dim).astype(np.float32)
    fit = baking.sample_expressions(model.expression_names, 256, np.random.default_rng(0))
    bake_runs = max(3, args.runs // 3)
    for method, samples in (("unit", None), ("fitted", fit)):
        python_ms = median_ms(lambda: baking.bake(model, shape, method=method), bake_runs)
        time.sleep(OPENBLAS_SETTLE_S)
        native_ms = median_ms(lambda: native.character(shape, fit_expressions=samples), bake_runs)
        print(f"bake '{method}': native {native_ms:.0f} ms, ONNX Runtime + numpy {python_ms:.0f} ms, ratio {python_ms / native_ms:.1f}")

    # The deformer itself, one mesh: native vs ONNX Runtime (the runtime's exact path).
    weights = tracked_expressions(1, e, rng)
    times = side_by_side_ms({"native": lambda: native.deform(shape[None], weights),
                             "ort": lambda: model.deform(shape[None], weights)}, args.runs)  # fmt: skip
    print(f"deformer, one mesh: native {times['native']:.2f} ms, ONNX Runtime {times['ort']:.2f} ms, "
          f"ratio {times['ort'] / times['native']:.2f}")
    shapes = rng.standard_normal((8, model.shape_dim)).astype(np.float32)
    expressions = baking.sample_expressions(model.expression_names, 8, rng)
    error_mm = 1000 * np.abs(native.deform(shapes, expressions) - model.deform(shapes, expressions)).max()
    print(f"deformer, native vs ONNX Runtime on 8 random (shape, expression): max {error_mm:.1e} mm")

    print(f"deformer from Python threads, 8 meshes per call: {two_threads_speedup(native, shapes, expressions)}")

    print(f"{'characters':>10} {'native':>9} {'baked numpy':>12} {'exact ORT':>10} {'numpy/native':>13} {'ORT/native':>11}   (ms per frame)")
    for count in (1, 64):
        shapes = rng.standard_normal((count, model.shape_dim)).astype(np.float32)
        frames = tracked_expressions(count, e, rng)
        # Every native character is its own bake, so a crowd reads 64 sets of morph targets
        # from memory as a real one would. The Python paths share four bakes (baking 64 there
        # costs minutes): their time is arithmetic, which does not care whose targets it reads.
        natives = [native.character(s) for s in shapes]
        distinct = [model.character(shape=s, backend="baked") for s in shapes[:4]]
        baked = [distinct[i % len(distinct)] for i in range(count)]
        exact = [model.character(shape=s, backend="exact") for s in shapes[:4]]
        exact = [exact[i % len(exact)] for i in range(count)]

        def numpy_frames(characters):
            for c, w in zip(characters, frames):
                c.normals(c.mesh(expression=w, pose=pose))

        poses = np.broadcast_to(axis_angle, (count, j, 3))
        if count == 1:
            native_step = lambda: natives[0].evaluate(frames[0], pose=axis_angle, normals=True)  # noqa: E731
        else:
            native_step = lambda: native.evaluate_many(natives, frames, poses=poses, normals=True)  # noqa: E731
        native_ms = median_ms(native_step, args.runs * 10)
        numpy_ms = median_ms(lambda: numpy_frames(baked), args.runs)
        time.sleep(OPENBLAS_SETTLE_S)
        exact_ms = median_ms(lambda: numpy_frames(exact), args.runs)
        print(f"{count:>10} {native_ms:>9.3f} {numpy_ms:>12.2f} {exact_ms:>10.1f} {numpy_ms / native_ms:>13.0f} "
              f"{exact_ms / native_ms:>11.0f}   ({native_ms / count:.3f} ms per character-frame natively)")

    print("C, no Python (benchmarks/native_frame.cpp):")
    default = c_benchmark(path, args.runs * 30, args.threads)
    print("  default build:        ", json.dumps(default))
    if has_avx2_fma():  # the opt-in build, STYLEMM_ARCH=x86-64-v3
        print("  STYLEMM_ARCH=x86-64-v3:", json.dumps(c_benchmark(path, args.runs * 30, args.threads, "x86-64-v3")))
    print(f"  against reading the morph targets alone: blend {default['blend_ms'] / default['read_targets_ms']:.2f}x, "
          f"64-character crowd {default['crowd64_ms'] / default['read_crowd64_targets_ms']:.2f}x "
          f"({default['crowd64_target_mb']:.0f} MB per frame, read in {default['read_crowd64_targets_ms']:.2f} ms)")
    folder.cleanup()


if __name__ == "__main__":
    main()
