"""smm_split_uv_seams, the one render-mesh split (vertex remap + render triangles) that the
glTF writer, the Unity sample and the Unreal sample use: equal to the split glTF export made
with numpy before (computed here independently), through pybind and through the C ABI."""

import ctypes

import numpy as np
import pygltflib
import pytest

import stylemm_runtime

P = ctypes.c_void_p


def reference_split(faces, uv_faces):
    """The old glTF writer's split: one render vertex per distinct (vertex, UV vertex) corner
    pair, in numpy's sorted order -> (vertex_map, uv_map, triangles)."""
    corners = np.stack([faces, uv_faces], -1).reshape(-1, 2)
    unique, inverse = np.unique(corners, axis=0, return_inverse=True)
    return unique[:, 0], unique[:, 1], inverse.reshape(-1, 3)


@pytest.fixture(scope="module")
def library():
    lib = ctypes.CDLL(str(stylemm_runtime.native_library()))
    lib.smm_split_uv_seams.argtypes = [P, P, P, P, P, P, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.smm_split_uv_seams.restype = ctypes.c_int
    return lib


def _assert_split(split, faces, uv_faces):
    vertex_map, uv_map, triangles = split
    for got, want in zip(split, reference_split(faces, uv_faces)):
        np.testing.assert_array_equal(got, want)
    # What the split promises, stated directly: each corner keeps its vertex and its UV vertex.
    np.testing.assert_array_equal(vertex_map[triangles], faces)
    np.testing.assert_array_equal(uv_map[triangles], uv_faces)
    assert vertex_map.dtype == uv_map.dtype == triangles.dtype == np.int32


def test_the_bundles_split_is_the_old_one(native, bundle_path):
    model = stylemm_runtime.load(bundle_path)
    split = native.split_uv_seams(model.faces, model.uv_faces, model.num_vertices, len(model.uvs))
    _assert_split(split, model.faces, model.uv_faces)
    assert model.num_vertices < len(split[0]) <= len(model.uvs)  # OpenHead has seams, and no shared UV vertex


def test_random_meshes_with_shared_and_unused_uv_vertices(native):
    """UV vertices used by two vertices (mirrored UV islands), unused ones, repeated corners."""
    rng = np.random.default_rng(0)
    for _ in range(50):
        n, u, f = rng.integers(1, 12), rng.integers(1, 15), rng.integers(1, 30)
        faces, uv_faces = rng.integers(0, n, (f, 3)), rng.integers(0, u, (f, 3))
        _assert_split(native.split_uv_seams(faces, uv_faces, n, u), faces, uv_faces)


def test_the_glb_is_drawn_on_the_split(native, bundle_path, tmp_path):
    from stylemm_export.gltf import write_character_glb
    from stylemm_runtime import baking

    model = stylemm_runtime.load(bundle_path)
    character = model.character(seed=2)
    path = tmp_path / "character.glb"
    write_character_glb(path, model, character, baking.bake(model, character.shape, method="unit"))
    gltf = pygltflib.GLTF2().load(str(path))
    primitive, blob = gltf.meshes[0].primitives[0], gltf.binary_blob()

    def read(index, dtype, width):
        accessor = gltf.accessors[index]
        components = {"SCALAR": 1, "VEC2": 2}[accessor.type]
        offset = gltf.bufferViews[accessor.bufferView].byteOffset + (accessor.byteOffset or 0)
        return np.frombuffer(blob, dtype, accessor.count * components, offset).reshape(-1, width)

    vertex_map, uv_map, triangles = reference_split(model.faces, model.uv_faces)
    np.testing.assert_array_equal(read(primitive.indices, np.uint32, 3), triangles)
    np.testing.assert_array_equal(read(primitive.attributes.TEXCOORD_0, np.float32, 2), model.uvs[uv_map])


def test_the_c_abi_counts_then_fills_and_refuses_what_does_not_fit(library):
    faces = np.array([[0, 1, 2], [2, 1, 3]], np.int32)
    uv_faces = np.array([[0, 1, 2], [4, 1, 3]], np.int32)  # vertex 2 sits on a seam: UV vertices 2 and 4
    count = ctypes.c_int(-1)
    ptr = ctypes.addressof

    def call(vertex_map, uv_map, triangles, n_triangles=2, n_vertices=4, n_uv=5, capacity=0, f=faces, t=uv_faces):
        return library.smm_split_uv_seams(ptr(count), vertex_map, uv_map, triangles, f.ctypes.data, t.ctypes.data,
                                          n_triangles, n_vertices, n_uv, capacity)  # fmt: skip

    assert call(None, None, None) == 0 and count.value == 5
    vertex_map, uv_map, triangles = np.full(5, -7, np.int32), np.full(5, -7, np.int32), np.full((2, 3), -7, np.int32)
    out = (vertex_map.ctypes.data, uv_map.ctypes.data, triangles.ctypes.data)
    assert call(*out, capacity=5) == 0
    np.testing.assert_array_equal(vertex_map, [0, 1, 2, 2, 3])
    np.testing.assert_array_equal(uv_map, [0, 1, 2, 4, 3])
    np.testing.assert_array_equal(triangles, [[0, 1, 2], [3, 1, 4]])

    count.value = -1
    vertex_map[:] = -7
    assert call(*out, capacity=4) == 8  # SMM_ERR_SIZE
    assert call(None, None, None, capacity=5) == 8
    assert call(None, None, None, n_vertices=2) == 1  # SMM_ERR_INVALID_ARGUMENT: faces index vertex 3
    assert call(None, None, None, n_uv=4) == 1
    assert call(None, None, None, n_triangles=0) == 1
    assert call(None, None, None, n_triangles=-1) == 1
    assert call(out[0], None, None, capacity=5) == 3  # SMM_ERR_NULL_POINTER: all three buffers or none
    assert library.smm_split_uv_seams(None, None, None, None, faces.ctypes.data, uv_faces.ctypes.data, 2, 4, 5, 0) == 3
    assert library.smm_split_uv_seams(ptr(count), None, None, None, None, uv_faces.ctypes.data, 2, 4, 5, 0) == 3
    assert count.value == -1 and (vertex_map == -7).all()  # nothing written on an error


def test_python_errors_name_the_problem(native):
    faces = np.array([[0, 1, 2]])
    with pytest.raises(ValueError, match=r"faces must index \[0, vertices\) = \[0, 2\)"):
        native.split_uv_seams(faces, faces, 2, 3)
    with pytest.raises(ValueError, match=r"uv_faces must have shape \(1, 3\)"):
        native.split_uv_seams(faces, np.zeros((2, 3), int), 3, 3)
    with pytest.raises(ValueError, match="faces must be an integer array"):
        native.split_uv_seams(faces.astype(float), faces, 3, 3)
    with pytest.raises(ValueError, match="not an index"):
        native.split_uv_seams(faces + 2**40, faces, 3, 3)
