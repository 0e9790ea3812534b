"""The OpenGL preview renderer against the differentiable renderer and known scenes."""

import imageio.v3 as iio
import numpy as np
import pytest

from stylemm.viz.gl import GLRenderer, write_video
from stylemm.render import MeshRenderer, orbit_camera

SIZE = 128


@pytest.fixture(scope="module")
def gl():
    renderer = GLRenderer(SIZE, SIZE)
    yield renderer
    renderer.close()


def _camera(yaw=25.0):
    return orbit_camera([yaw], 5.0, distance=0.75, target=(0.0, 0.03, 0.02), width=SIZE, height=SIZE)


def _foreground(image):
    return (image < 250).any(-1)


def test_the_head_covers_the_same_pixels_as_the_differentiable_renderer(openhead, gl):
    """Two independent renderers (OpenGL and ours), same camera: same silhouette."""
    camera = _camera()
    image = gl.render(openhead.template.numpy(), openhead.faces.numpy(), camera)
    ours = MeshRenderer(openhead.faces)(openhead.template[None], camera).raster.mask[0].numpy()
    mask = _foreground(image)
    iou = (mask & ours).sum() / (mask | ours).sum()
    assert iou > 0.97
    shaded = image[mask].astype(float).mean(-1)
    assert shaded.std() > 10  # lit, not flat


def test_face_colours_land_where_their_faces_are(gl):
    # A quad facing the camera: left triangle red, right triangle blue.
    vertices = np.array([[-0.1, -0.1, 0.0], [0.1, -0.1, 0.0], [0.1, 0.1, 0.0], [-0.1, 0.1, 0.0]])
    faces = np.array([[0, 1, 2], [0, 2, 3]])  # lower-right and upper-left halves
    camera = orbit_camera([0.0], distance=0.75, width=SIZE, height=SIZE)
    image = gl.render(vertices, faces, camera, face_colors=[[1, 0, 0], [0, 0, 1]]).astype(int)
    lower_right, upper_left = image[SIZE // 2 + 10, SIZE // 2 + 5], image[SIZE // 2 - 10, SIZE // 2 - 5]
    assert lower_right[0] > 150 and lower_right[2] < 30
    assert upper_left[2] > 150 and upper_left[0] < 30
    assert (image[2, 2] == 255).all()  # background


def test_textures_follow_the_uvs(gl):
    vertices = np.array([[-0.1, -0.1, 0.0], [0.1, -0.1, 0.0], [0.1, 0.1, 0.0], [-0.1, 0.1, 0.0]])
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    uvs = np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [0.0, 0.0]])  # glTF: v = 0 at the top
    texture = np.zeros((64, 64, 3), np.uint8)
    texture[:32] = [0, 255, 0]  # top half green
    texture[32:] = [255, 0, 255]  # bottom half magenta
    camera = orbit_camera([0.0], distance=0.75, width=SIZE, height=SIZE)
    image = gl.render(vertices, faces, camera, texture=texture, uvs=uvs, uv_faces=faces).astype(int)
    top, bottom = image[SIZE // 2 - 15, SIZE // 2], image[SIZE // 2 + 15, SIZE // 2]
    assert top[1] > 150 and top[0] < 30
    assert bottom[0] > 150 and bottom[1] < 30


def test_videos_decode_with_the_frames_written(gl, openhead, tmp_path):
    faces = openhead.faces.numpy()
    vertices = openhead.template.numpy()
    frames = [gl.render(vertices, faces, _camera(yaw)) for yaw in range(0, 360, 30)]
    path = tmp_path / "turntable.mp4"
    write_video(path, frames)
    video = iio.imread(path)
    assert video.shape == (12, SIZE, SIZE, 3)
    assert np.abs(video[1].astype(int) - video[0]).mean() > 2  # it turns
    assert np.abs(video[0].astype(int) - frames[0]).mean() < 6  # and shows what was drawn
    assert not list(tmp_path.glob(".*tmp*"))


def test_a_camera_of_another_size_is_refused(gl, openhead):
    with pytest.raises(ValueError, match="camera is 64x64"):
        gl.render(openhead.template.numpy(), openhead.faces.numpy(), orbit_camera([0.0], width=64, height=64))
    with pytest.raises(ValueError, match="single eye position"):
        gl.render(openhead.template.numpy(), openhead.faces.numpy(), orbit_camera([0.0, 90.0], width=SIZE, height=SIZE))


def test_a_missing_opengl_gets_a_clear_error(monkeypatch):
    import moderngl

    def no_egl(**_):
        raise Exception("libEGL.so: cannot open shared object file")

    monkeypatch.setattr(moderngl, "create_standalone_context", no_egl)
    with pytest.raises(RuntimeError, match="apt-get install libegl1 libgl1-mesa-dri"):
        GLRenderer(16, 16)
