"""An evaluator per Python thread (stylemm_runtime._native.Evaluator, MuJoCo's MjData beside
MjModel): one immutable Model shared by every thread, calls that release the GIL and take no
lock, so two threads deform at the same time and get what one thread gets."""

import threading
import time

import numpy as np
import pytest

import stylemm_runtime

BATCH = 24  # meshes per deform call: long enough that the C work dominates the Python around it


@pytest.fixture(scope="module")
def model(bundle_path):
    return stylemm_runtime.native().Model(bundle_path)


@pytest.fixture(scope="module")
def inputs(model):
    rng = np.random.default_rng(3)
    info = model.info
    shapes = rng.standard_normal((2, BATCH, info["shape_dim"])).astype(np.float32)
    expressions = rng.uniform(0, 1, (2, BATCH, info["expressions"])).astype(np.float32)
    return shapes, expressions


def _in_threads(work, count: int) -> tuple[list, float, float]:
    """Runs work(i) on `count` threads at once -> (results, wall seconds, summed CPU seconds of the threads)."""
    results, cpu = [None] * count, [0.0] * count
    start = threading.Barrier(count + 1)

    def run(i):
        start.wait()
        began = time.thread_time()
        results[i] = work(i)
        cpu[i] = time.thread_time() - began

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    start.wait()
    wall = time.perf_counter()
    for t in threads:
        t.join()
    return results, time.perf_counter() - wall, sum(cpu)


def test_two_threads_deform_at_once_and_get_what_one_thread_gets(model, inputs):
    shapes, expressions = inputs
    expected = [model.deform(shapes[i], expressions[i]) for i in range(2)]
    for explicit in (False, True):  # the model's own calls (its evaluator of each thread), then Evaluators
        def deform(i, count=1):
            target = stylemm_runtime.native().Evaluator(model) if explicit else model
            return [target.deform(shapes[i], expressions[i]) for _ in range(count)]

        results, _, _ = _in_threads(lambda i: deform(i, 6), 2)
        assert all(np.array_equal(mesh, expected[i]) for i in range(2) for mesh in results[i])
        # At once, not in turns: while one thread is inside a long call, another's short call
        # finishes. Behind one lock, the short call would wait for the long one to end.
        long_started, ended = threading.Event(), {}

        def long_call():
            long_started.set()
            deform(0, 40)
            ended["long"] = time.perf_counter()

        def short_call():
            long_started.wait()
            time.sleep(0.01)  # the long call is in C by now
            deform(1)
            ended["short"] = time.perf_counter()

        threads = [threading.Thread(target=f) for f in (long_call, short_call)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert ended["short"] < ended["long"], "the short call waited for the long one: the threads take turns"


def test_the_speed_up_of_two_threads(model, inputs):
    """Measured, for docs/native.md: the same 12 deform calls on one thread and split over two."""
    shapes, expressions = inputs
    model.deform(shapes[0], expressions[0])  # warm
    begin = time.perf_counter()
    for _ in range(12):
        model.deform(shapes[0], expressions[0])
    one = time.perf_counter() - begin
    _, two, _ = _in_threads(lambda i: [model.deform(shapes[i], expressions[i]) for _ in range(6)], 2)
    print(f"12 deforms of {BATCH} meshes: one thread {one * 1e3:.0f} ms, two threads {two * 1e3:.0f} ms, speed-up {one / two:.2f}")
    assert one / two > 0.8  # never much slower than taking turns (the numbers are the point)


def test_frames_and_characters_from_many_threads_equal_one_threads(model, inputs):
    shapes, expressions = inputs
    characters = [model.character(shape) for shape in shapes[0][:4]]
    expected = [c.evaluate(e) for c, e in zip(characters, expressions[0][:4])]
    neutral = characters[0].neutral

    def work(i):
        evaluator = stylemm_runtime.native().Evaluator(model)
        frames = [evaluator.evaluate(characters[i], expressions[0][i]) for _ in range(20)]
        frames += [characters[i].evaluate(expressions[0][i]) for _ in range(20)]  # the model's evaluator of this thread
        return frames, evaluator.character(shapes[0][0]).neutral

    results, _, _ = _in_threads(work, 4)
    assert all(np.array_equal(frame, expected[i]) for i in range(4) for frame in results[i][0])
    assert all(np.array_equal(baked, neutral) for _, baked in results)


def test_one_evaluator_in_two_threads_at_once_is_an_error_not_a_crash(model, inputs):
    shapes, expressions = inputs
    evaluator = stylemm_runtime.native().Evaluator(model)
    errors = []

    def work(i):
        for _ in range(40):
            try:
                evaluator.deform(shapes[i], expressions[i])
            except RuntimeError as e:
                errors.append(str(e))

    _in_threads(work, 2)
    assert errors and all("in use by another thread" in e for e in errors)
    # And it still works afterwards.
    assert np.array_equal(evaluator.deform(shapes[0], expressions[0]), model.deform(shapes[0], expressions[0]))


def test_evaluators_belong_to_their_model(model, bundle_path, inputs):
    native = stylemm_runtime.native()
    other = native.Model(bundle_path)
    character = other.character(inputs[0][0][0])
    evaluator = native.Evaluator(model, threads=2)
    assert evaluator.threads == 2 and evaluator.model is model and model.evaluator().model is model
    with pytest.raises(ValueError, match="another model"):
        evaluator.evaluate(character, inputs[1][0][0])
    with pytest.raises(ValueError, match="threads must be in"):
        native.Evaluator(model, threads=0)
    # The model outlives what it made, whatever Python drops first.
    del model, other
    assert character.evaluate(inputs[1][0][0]).shape[1] == 3
