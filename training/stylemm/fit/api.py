"""``fit_photo(photo, style=...)``: one photo -> the person's identity, expression, pose and
texture on the source model, and the same person in a style. Writing it as game assets
(``face.glb``, ``params.json``, ``preview.png``) is an export step, so it is the export
package's ``fit_output.save_fit(result, DIR)``, which ``stylemm-fit`` calls.

Stages (each timed in ``result.times``): MediaPipe's landmarks (photo.py), the landmark
fit (landmark_fit.py), the photometric refinement (photometric.py), the photo's texels in
UV space (texels.py), the style (transfer.py), the optional SDXL-Turbo texture refinement
(turbo.py), the preview (preview.py).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

import stylemm.fit.preview as preview
import stylemm.fit.texels as texels
import stylemm.fit.transfer as transfer
from stylemm.fit.errors import FitError, ProfileViewError
from stylemm.fit.landmark_fit import LandmarkFitter
from stylemm.fit.photo import load_photo
from stylemm.fit.photometric import PhotometricFitter, PhotometricSettings
from stylemm.fit.view import posed, to_tensor
from stylemm_runtime.tracking import rotations
from stylemm_runtime.tracking.solver import PinholeCamera

DEFAULT_FOV = 30.0  # degrees, vertical: a portrait lens; --fov when the camera is known
MAX_YAW_DEG = 50.0  # beyond this the far half of the face is hidden and its landmarks are guesses
MAX_LANDMARK_ERROR = 0.10  # median, in inter-ocular distances: a fit this far off explains nothing
FORMAT, FORMAT_VERSION = "stylemm-fit", 1


@dataclass
class FitResult:
    style: str
    source_model: str
    shape: np.ndarray  # (K,) identity: model.character(shape=...)
    expression: dict  # ARKit name -> weight (zeros with neutral=True)
    photo_expression: dict  # what the photo showed, whatever ``neutral`` says
    pose: dict  # {"neck": axis-angle}, the runtime's convention
    translation: np.ndarray  # (3,) metres, the photo camera's frame
    texture_z: np.ndarray  # (Z,): model.character(texture_z=...)
    camera: dict  # width, height, fov_y, focal (px): camera at the origin looking down -Z
    neutral: bool
    landmark_error: float  # median reprojection error, in inter-ocular distances
    faces_found: int
    texture: np.ndarray  # (H, W, 3) uint8, the stylized texture (the glb's)
    realistic_texture: np.ndarray  # (H, W, 3) uint8, G_src + the photo's texels
    preview: np.ndarray  # (h, w, 3) uint8
    times: dict = field(default_factory=dict)  # stage -> seconds
    turbo: dict | None = None
    model: object = field(default=None, repr=False)  # the source FaceModel the fit ran on
    pack: object = field(default=None, repr=False)  # the style's StylePack

    def params(self) -> dict:
        """params.json: everything needed to remake the character and its pose."""
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION, "style": self.style, "source_model": self.source_model,
            "shape": self.shape.tolist(), "texture_z": self.texture_z.tolist(), "expression": self.expression,
            "photo_expression": self.photo_expression, "pose": self.pose, "translation": self.translation.tolist(),
            "camera": self.camera, "neutral": self.neutral, "landmark_error_iod": self.landmark_error,
            "faces_found": self.faces_found, "times_s": self.times, "turbo": self.turbo,
            "usage": "stylemm_runtime.load(BUNDLE).character(shape=shape, texture_z=texture_z).mesh(expression=expression, "
                     "pose=pose) + translation: the head in the photo camera's frame (BUNDLE: stylemm-export --style STYLE)",
        }  # fmt: skip


def fit_photo(photo, style: str = "realistic", neutral: bool = False, fov: float = DEFAULT_FOV, detail: float | None = None,
              sdxl_turbo=None, turbo_options: dict | None = None, photometric: PhotometricSettings | None = None,
              model=None, progress: bool = True) -> FitResult:  # fmt: skip
    """Fit ``photo`` (a path or an (H, W, 3) uint8 array) and give the person ``style`` (a
    shipped style's name or a pack folder). neutral: the result's expression is neutral
    (the identity a game character needs; the photo's is kept as ``photo_expression``).
    fov: the photo camera's vertical field of view in degrees. detail: how much of the
    photo's texture detail the style keeps (default: all for realistic, half otherwise).
    sdxl_turbo: a local SDXL-Turbo folder (diffusers layout) to refine the stylized texture."""
    from stylemm import load_pack
    from stylemm.facemodel import load

    times, clock = {}, [time.perf_counter()]

    def lap(name):
        now = time.perf_counter()
        times[name] = round(now - clock[0], 3)
        clock[0] = now

    pack, source = load_pack(style), load_pack("realistic")
    model = model or load(pack.source_model)
    if source.source_model != pack.source_model:
        raise ValueError(f"the style '{pack.style}' was made for {pack.source_model}, the realistic pack for {source.source_model}")
    settings = photometric or PhotometricSettings()
    bar = tqdm(total=settings.iterations + 5, desc="stylemm-fit", unit="step", disable=not progress)
    lap("load")
    bar.set_postfix_str("landmarks")
    found = load_photo(photo)
    lap("landmarks")
    bar.update(1)
    camera = PinholeCamera.from_fov(found.width, found.height, fov)
    bar.set_postfix_str("landmark fit")
    start = LandmarkFitter(model).fit(found.landmarks, camera)
    _check_fit(start, found.landmarks)
    lap("landmark_fit")
    bar.update(1)
    bar.set_postfix_str("photometric fit")
    fitted = PhotometricFitter(model, source.texture_generator, settings).fit(found.image, found.landmarks, start, progress=bar)
    lap("photometric")
    bar.set_postfix_str("texels")
    height = 2 * source.texture_generator.config.height  # the capture keeps twice G's resolution: the photo has it
    surface = texels.UVSurface.build(model, height, 2 * height)
    mirror = texels.mirror_texels(surface, model)
    shape, z = to_tensor(fitted.shape), to_tensor(fitted.texture_z)
    neck, translation = to_tensor(rotations.log(fitted.rotation)), to_tensor(fitted.translation)
    photo_weights = to_tensor(fitted.expression)
    with torch.no_grad():
        neutral_mesh = model.neutral(shape)
        realistic = posed(model, neutral_mesh + torch.einsum("be,enc->bnc", photo_weights, model.exprdirs), neutral_mesh, neck, translation)
    lighting = torch.as_tensor(fitted.lighting)
    albedo, weight = texels.capture(found.image, camera.focal, realistic[0], lighting, found.landmarks, model, surface, mirror)
    lap("texels")
    bar.update(1)
    bar.set_postfix_str(f"style {pack.style}")
    detail = transfer.default_detail(pack.style) if detail is None else float(detail)
    realistic_texture = transfer.texture(source.texture_generator, source.texture_generator, z, albedo, weight, 1.0)
    stylized_texture = transfer.texture(pack.texture_generator, source.texture_generator, z, albedo, weight, detail)
    weights = torch.zeros_like(photo_weights) if neutral else photo_weights
    stylized = transfer.vertices(model, pack.deformer, shape, weights, neck, translation)
    lap("style")
    bar.update(1)
    turbo_record = None
    if sdxl_turbo is not None:
        from stylemm.fit.turbo import refine_texture

        bar.set_postfix_str("SDXL-Turbo")
        # Refined from views around the unposed head: what the texture looks like, not the photo's pose.
        facing = transfer.vertices(model, pack.deformer, shape, torch.zeros_like(weights), torch.zeros_like(neck),
                                   torch.zeros_like(translation))  # fmt: skip
        stylized_texture, turbo_record = refine_texture(sdxl_turbo, model, facing[0], stylized_texture, pack.prompt or pack.style,
                                                        **(turbo_options or {}))  # fmt: skip
        lap("turbo")
    bar.set_postfix_str("preview")
    view = preview.head_view(LandmarkFitter.landmark_points(model, realistic[0]))
    photo_panel = preview.photo_panel(found.image, camera.focal, view)
    panels = [preview.to_uint8(photo_panel)] + [preview.overlay(model, photo_panel, view, mesh, texture, lighting)
                                                for mesh, texture in ((realistic, realistic_texture), (stylized, stylized_texture))]  # fmt: skip
    lap("preview")
    bar.update(1)
    bar.close()
    names = model.expression_names
    photo_expression = {n: round(float(w), 4) for n, w in zip(names, fitted.expression)}
    return FitResult(
        style=pack.style, source_model=pack.source_model, shape=fitted.shape, photo_expression=photo_expression,
        expression={n: 0.0 for n in names} if neutral else photo_expression,
        pose={"neck": [float(x) for x in rotations.log(fitted.rotation)]}, translation=fitted.translation,
        texture_z=fitted.texture_z, camera={"width": found.width, "height": found.height, "fov_y": fov, "focal": camera.focal},
        neutral=neutral, landmark_error=fitted.landmark_error, faces_found=found.faces_found,
        texture=preview.to_uint8(stylized_texture), realistic_texture=preview.to_uint8(realistic_texture),
        preview=preview.sheet(*panels), times=times, turbo=turbo_record, model=model, pack=pack,
    )  # fmt: skip


def _check_fit(fit, landmarks) -> None:
    yaw = fit.yaw_deg()
    if abs(yaw) > MAX_YAW_DEG:
        raise ProfileViewError(f"the head is turned {abs(yaw):.0f} degrees from the camera; the fit handles up to "
                               f"{MAX_YAW_DEG:.0f}: use a photo that shows both eyes")  # fmt: skip
    error = float(np.median(fit.errors(landmarks)))
    if error > MAX_LANDMARK_ERROR:
        raise FitError(f"the fitted face misses the landmarks by {100 * error:.0f} % of the eye distance (median); "
                       "the photo's face may be occluded or distorted")  # fmt: skip


def load_params(path) -> dict:
    """params.json of a fit, checked for its format."""
    params = json.loads(Path(path).read_text())
    if params.get("format") != FORMAT:
        raise ValueError(f"{path} is not a stylemm-fit params.json")
    return params
