"""What samples/c/animate.c writes, computed by the Python binding of the same core: the
C sample's tests (Linux and Windows builds) compare against it."""

import numpy as np

import stylemm_runtime


def expected_vertices(bundle_path, shape_value: float, jaw: float) -> np.ndarray:
    """(N, 3): a character of shape (shape_value, ...), jawOpen at ``jaw``, the neck turned by shape_value."""
    native = stylemm_runtime.native().Model(bundle_path)
    info = native.info
    weights = np.zeros(info["expressions"], np.float32)
    weights[stylemm_runtime.load(bundle_path).expression_names.index("jawOpen")] = jaw
    pose = np.zeros((info["joints"], 3), np.float32)
    pose[1, 1] = shape_value
    return native.character(np.full(info["shape_dim"], shape_value, np.float32)).evaluate(weights, pose=pose)
