"""Preview rendering for people (not gradients): OpenGL through moderngl on a headless
EGL context (Mesa's llvmpipe on machines without a GPU), plus H.264 videos.

Uses the same cameras as the differentiable renderer (``stylemm.render.Camera``), so a
preview and a training render of the same scene line up.
"""

from __future__ import annotations

import numpy as np
import torch

from stylemm.io.atomic import atomic_path
from stylemm.render.camera import Camera

EGL_HINT = "apt-get install libegl1 libgl1-mesa-dri (headless OpenGL through Mesa)"
SAMPLES = 4  # multisample antialiasing

_VERTEX_SHADER = """
#version 330
uniform mat4 mvp;
in vec3 position;
in vec3 normal;
in vec3 color;
in vec2 uv;
out vec3 v_normal;
out vec3 v_color;
out vec2 v_uv;
void main() {
    gl_Position = mvp * vec4(position, 1.0);
    v_normal = normal;
    v_color = color;
    v_uv = uv;
}
"""

_FRAGMENT_SHADER = """
#version 330
uniform vec3 to_light;
uniform float ambient;
uniform bool textured;
uniform sampler2D albedo;
in vec3 v_normal;
in vec3 v_color;
in vec2 v_uv;
out vec4 frag;
void main() {
    vec3 base = textured ? texture(albedo, v_uv).rgb : v_color;
    float light = ambient + (1.0 - ambient) * max(dot(normalize(v_normal), to_light), 0.0);
    frag = vec4(base * light, 1.0);
}
"""


class GLRenderer:
    """Renders triangle meshes to (H, W, 3) uint8 images; one GL context per instance."""

    def __init__(self, width: int = 512, height: int = 512, ambient: float = 0.3):
        import moderngl

        try:
            self.ctx = moderngl.create_standalone_context(backend="egl")
        except Exception as e:  # moderngl raises plain Exceptions for a missing EGL
            raise RuntimeError(f"no headless OpenGL context could be created ({e}); install it with: {EGL_HINT}") from e
        self.width, self.height, self.ambient = width, height, ambient
        self.program = self.ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)
        self.msaa = self.ctx.framebuffer(
            color_attachments=[self.ctx.renderbuffer((width, height), samples=SAMPLES)],
            depth_attachment=self.ctx.depth_renderbuffer((width, height), samples=SAMPLES),
        )
        self.resolved = self.ctx.simple_framebuffer((width, height))

    def render(self, vertices: np.ndarray, faces: np.ndarray, camera: Camera, *, vertex_colors=None, face_colors=None,
               texture: np.ndarray | None = None, uvs=None, uv_faces=None, background=(1.0, 1.0, 1.0)) -> np.ndarray:  # fmt: skip
        """One mesh, one camera (batch size 1). Colours in [0, 1]; texture (Ht, Wt, 3) uint8
        with glTF's top-left UV origin. Smooth shading from area-weighted vertex normals."""
        if (camera.width, camera.height) != (self.width, self.height):
            raise ValueError(f"camera is {camera.width}x{camera.height} but this renderer draws {self.width}x{self.height}")
        if torch.atleast_2d(camera.eye).shape[0] != 1:
            raise ValueError("GLRenderer.render draws one view: pass a camera with a single eye position")
        vertices = np.asarray(vertices, dtype=np.float32)
        faces = np.asarray(faces, dtype=np.int64)
        corners = faces.reshape(-1)
        # A triangle soup: per-corner attributes carry UV seams and per-face colours.
        soup = {
            "position": vertices[corners],
            "normal": _vertex_normals(vertices, faces)[corners],
            "color": self._corner_colors(len(vertices), faces, vertex_colors, face_colors),
            "uv": np.zeros((len(corners), 2), np.float32) if texture is None else np.asarray(uvs, np.float32)[np.asarray(uv_faces).reshape(-1)],
        }
        buffers = [(self.ctx.buffer(np.ascontiguousarray(v, dtype=np.float32).tobytes()), f"{v.shape[1]}f", name) for name, v in soup.items()]
        vao = self.ctx.vertex_array(self.program, buffers)
        self.program["mvp"].write(_mvp(camera).T.astype(np.float32).tobytes())  # GL wants column-major
        direction = np.asarray(camera.eye, np.float32).reshape(-1, 3)[0] - np.asarray(camera.target, np.float32).reshape(-1, 3)[0]
        self.program["to_light"].value = tuple(direction / np.linalg.norm(direction))
        self.program["ambient"].value = self.ambient
        self.program["textured"].value = texture is not None
        gl_texture = None
        if texture is not None:
            image = np.ascontiguousarray(np.asarray(texture, dtype=np.uint8)[..., :3])
            # glTF's v = 0 is the top row; GL's t = 0 is the first row uploaded: upload as is.
            gl_texture = self.ctx.texture((image.shape[1], image.shape[0]), 3, image.tobytes())
            gl_texture.build_mipmaps()
            gl_texture.use(0)
            self.program["albedo"].value = 0
        self.msaa.use()
        self.ctx.enable(self.ctx.DEPTH_TEST)
        self.ctx.clear(*background, 1.0)
        vao.render()
        self.ctx.copy_framebuffer(self.resolved, self.msaa)
        pixels = np.frombuffer(self.resolved.read(components=3), dtype=np.uint8).reshape(self.height, self.width, 3)
        for resource in [vao, *(b for b, _, _ in buffers), gl_texture]:
            if resource is not None:
                resource.release()
        return pixels[::-1].copy()  # GL's first row is the bottom one

    @staticmethod
    def _corner_colors(n_vertices, faces, vertex_colors, face_colors) -> np.ndarray:
        if face_colors is not None:
            return np.repeat(np.asarray(face_colors, np.float32), 3, axis=0)
        if vertex_colors is not None:
            return np.asarray(vertex_colors, np.float32)[faces.reshape(-1)]
        return np.tile(np.array([0.80, 0.66, 0.58], np.float32), (faces.size, 1))

    def close(self) -> None:
        self.ctx.release()


def _mvp(camera: Camera) -> np.ndarray:
    view = camera.view_matrix()[0].double().numpy()
    return camera.projection_matrix().double().numpy() @ view


def _vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    tri = vertices[faces]
    face_normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(normals, faces[:, k], face_normals)
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)


def write_video(path, frames, fps: int = 30) -> None:
    """H.264 .mp4 (imageio-ffmpeg ships its own ffmpeg), written atomically."""
    import imageio.v2 as imageio

    with atomic_path(path) as tmp:
        with imageio.get_writer(tmp, fps=fps, codec="libx264", quality=8, macro_block_size=16) as writer:
            for frame in frames:
                writer.append_data(frame)
