"""A character as glTF 2.0 binary (.glb) that Blender, Unity and Unreal import as it is:
the baked neutral mesh split at UV seams, its texture (PNG), one morph target per
expression named in ``mesh.extras.targetNames``, and a skin over the model's joints."""

from __future__ import annotations

import io

import numpy as np
import pygltflib as gl
from PIL import Image

import stylemm_runtime

from stylemm.io.atomic import atomic_write

INFLUENCES = 4  # joints per vertex, as JOINTS_0 / WEIGHTS_0 hold


class _Buffer:
    """One binary buffer of 4-byte-aligned views, and accessors over them."""

    def __init__(self, gltf: gl.GLTF2):
        self.gltf, self.data = gltf, bytearray()

    def view(self, payload: bytes, target: int | None = None) -> int:
        self.data += b"\0" * (-len(self.data) % 4)
        self.gltf.bufferViews.append(gl.BufferView(buffer=0, byteOffset=len(self.data), byteLength=len(payload), target=target))
        self.data += payload
        return len(self.gltf.bufferViews) - 1

    def accessor(self, array: np.ndarray, kind: str, target: int | None = None, bounds: bool = False) -> int:
        component = {np.float32: gl.FLOAT, np.uint32: gl.UNSIGNED_INT, np.uint16: gl.UNSIGNED_SHORT}[array.dtype.type]
        accessor = gl.Accessor(bufferView=self.view(np.ascontiguousarray(array).tobytes(), target), componentType=component,
                               count=len(array), type=kind)  # fmt: skip
        if bounds:
            accessor.min, accessor.max = array.min(0).tolist(), array.max(0).tolist()
        self.gltf.accessors.append(accessor)
        return len(self.gltf.accessors) - 1


def write_character_glb(path, model, character, morphs) -> None:
    """``model``/``character`` from stylemm_runtime; ``morphs`` from stylemm_runtime.baking.bake."""
    # One glTF vertex per (vertex, UV vertex) pair: the native core's split, the engines' too.
    vertex, uv, triangles = stylemm_runtime.native().split_uv_seams(model.faces, model.uv_faces, model.num_vertices,
                                                                    len(model.uvs))  # fmt: skip
    gltf = gl.GLTF2(asset=gl.Asset(generator="stylemm-export", version="2.0"), scene=0)
    buffer = _Buffer(gltf)
    neutral = morphs.neutral[vertex].astype(np.float32)
    attributes = gl.Attributes(
        POSITION=buffer.accessor(neutral, gl.VEC3, gl.ARRAY_BUFFER, bounds=True),
        NORMAL=buffer.accessor(character.normals(morphs.neutral)[vertex].astype(np.float32), gl.VEC3, gl.ARRAY_BUFFER),
        TEXCOORD_0=buffer.accessor(model.uvs[uv].astype(np.float32), gl.VEC2, gl.ARRAY_BUFFER),
        **_skin_attributes(buffer, model.skin_weights[vertex]),
    )
    targets = [{"POSITION": buffer.accessor(d[vertex].astype(np.float32), gl.VEC3, gl.ARRAY_BUFFER, bounds=True)} for d in morphs.deltas]
    primitive = gl.Primitive(attributes=attributes, indices=buffer.accessor(triangles.reshape(-1).astype(np.uint32), gl.SCALAR,
                             gl.ELEMENT_ARRAY_BUFFER), material=0, targets=targets)  # fmt: skip
    gltf.meshes.append(gl.Mesh(name=f"{model.style}_head", primitives=[primitive], weights=[0.0] * len(targets),
                               extras={"targetNames": list(model.expression_names)}))  # fmt: skip
    _add_texture(gltf, buffer, character.texture())
    joint_nodes = _add_joints(gltf, buffer, model, character.rest_joints)
    gltf.nodes.append(gl.Node(name=f"{model.style}_head", mesh=0, skin=0))
    gltf.scenes.append(gl.Scene(nodes=[joint_nodes[0], len(gltf.nodes) - 1]))
    gltf.buffers.append(gl.Buffer(byteLength=len(buffer.data)))
    gltf.set_binary_blob(bytes(buffer.data))
    with atomic_write(path) as f:
        f.write(b"".join(gltf.save_to_bytes()))


def _skin_attributes(buffer: _Buffer, weights: np.ndarray) -> dict:
    """The INFLUENCES largest weights per vertex, renormalised (glTF wants them to sum to 1)."""
    order = np.argsort(-weights, axis=1)[:, :INFLUENCES]
    top = np.take_along_axis(weights, order, axis=1).clip(min=0)
    top = top / np.maximum(top.sum(1, keepdims=True), 1e-12)
    order = np.where(top > 0, order, 0)  # unused slots point at joint 0 with weight 0
    return {"JOINTS_0": buffer.accessor(order.astype(np.uint16), gl.VEC4, gl.ARRAY_BUFFER),
            "WEIGHTS_0": buffer.accessor(top.astype(np.float32), gl.VEC4, gl.ARRAY_BUFFER)}  # fmt: skip


def _add_joints(gltf: gl.GLTF2, buffer: _Buffer, model, rest_joints: np.ndarray) -> list[int]:
    """One node per joint at its rest position (relative to its parent), and the skin."""
    first = len(gltf.nodes)
    for j, name in enumerate(model.joint_names):
        parent = model.parents[j]
        offset = rest_joints[j] - (rest_joints[parent] if parent >= 0 else 0)
        gltf.nodes.append(gl.Node(name=name, translation=offset.tolist(), children=[]))
        if parent >= 0:
            gltf.nodes[first + parent].children.append(first + j)
    inverse_bind = np.tile(np.eye(4, dtype=np.float32), (len(rest_joints), 1, 1))
    inverse_bind[:, :3, 3] = -rest_joints  # rest rotations are the identity
    matrices = buffer.accessor(inverse_bind.transpose(0, 2, 1).reshape(len(rest_joints), 16).copy(), gl.MAT4)  # column-major
    nodes = list(range(first, first + len(rest_joints)))
    gltf.skins.append(gl.Skin(joints=nodes, skeleton=first, inverseBindMatrices=matrices))
    return nodes


def _add_texture(gltf: gl.GLTF2, buffer: _Buffer, texture: np.ndarray) -> None:
    png = io.BytesIO()
    Image.fromarray(texture).save(png, format="PNG")
    gltf.images.append(gl.Image(bufferView=buffer.view(png.getvalue()), mimeType="image/png"))
    gltf.samplers.append(gl.Sampler(magFilter=gl.LINEAR, minFilter=gl.LINEAR_MIPMAP_LINEAR, wrapS=gl.CLAMP_TO_EDGE, wrapT=gl.CLAMP_TO_EDGE))
    gltf.textures.append(gl.Texture(sampler=0, source=0))
    material = gl.PbrMetallicRoughness(baseColorTexture=gl.TextureInfo(index=0), metallicFactor=0.0, roughnessFactor=0.6)
    gltf.materials.append(gl.Material(name="skin", pbrMetallicRoughness=material))
