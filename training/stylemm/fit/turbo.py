"""The paper's optional texture refinement (5.2) with SDXL-Turbo: the stylized head is
rendered from a few views, each render goes through SDXL-Turbo image-to-image at low noise
(4 steps at 25 % strength: one denoising step from a quarter of the way, as SDXL-Turbo is
meant to run; no classifier-free guidance), and the UV texture is then optimised through
the differentiable renderer so that its renders match those images (400 iterations), with
a total-variation term that keeps texels no view settles from turning to noise.

Weights come from a local folder in diffusers layout (``--sdxl-turbo DIR``; SDXL-Turbo is
an SDXL model, so the same folder check and loader as EAS: stylemm.stylize.eas), never
downloaded. It wants a GPU; on a CPU it is minutes per photo.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from stylemm.render import MeshRenderer
from stylemm.stylize.eas import MissingWeightsError, load_sdxl
from stylemm.stylize.source import view_camera

TURBO_HINT = ("--sdxl-turbo must be SDXL-Turbo in diffusers layout: on a machine with internet run "
              "`hf download stabilityai/sdxl-turbo --local-dir sdxl-turbo` and copy the folder here")  # fmt: skip


@dataclass
class TurboSettings:
    steps: int = 4
    strength: float = 0.25  # the share of the noise schedule the renders are pushed back by
    iterations: int = 400
    tv_weight: float = 0.05
    lr: float = 0.01
    size: int = 512  # SDXL-Turbo's own resolution
    yaws: tuple = (-30.0, 0.0, 30.0)  # degrees: the views the texture is refined from
    seed: int = 0
    device: str = "auto"


def load_turbo(folder, device: torch.device):
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    try:
        return load_sdxl(folder, device, dtype)
    except MissingWeightsError as e:
        raise MissingWeightsError(f"{e}\n{TURBO_HINT}") from None


def total_variation(texture: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between neighbouring texels (B, C, H, W)."""
    return (texture[..., 1:, :] - texture[..., :-1, :]).abs().mean() + (texture[..., :, 1:] - texture[..., :, :-1]).abs().mean()


def refine_texture(folder, model, vertices: torch.Tensor, texture: torch.Tensor, prompt: str, pipe=None, progress=None,
                   **options) -> tuple[torch.Tensor, dict]:  # fmt: skip
    """vertices: (N, 3) the stylized head, unposed (facing +Z); texture (1, 3, H, W) in [0, 1].
    Returns the refined texture and a record of what ran. ``pipe``: an already loaded
    StableDiffusionXLImg2ImgPipeline (tests pass a tiny one), else loaded from ``folder``."""
    s = TurboSettings(**options)
    device = torch.device("cuda" if s.device == "auto" and torch.cuda.is_available() else ("cpu" if s.device == "auto" else s.device))
    pipe = pipe or load_turbo(folder, device)
    yaws = torch.tensor(s.yaws, dtype=torch.float32)
    cameras = view_camera(yaws, torch.zeros_like(yaws), s.size)
    renderer = MeshRenderer(model.faces, model.uvs, model.uv_faces)
    heads = vertices[None].expand(len(yaws), -1, -1)
    with torch.no_grad():
        renders = renderer(heads, cameras, texture=texture)
        generator = torch.Generator(pipe.device).manual_seed(s.seed)
        targets = pipe(prompt=[prompt] * len(yaws), image=renders.rgb.to(pipe.device, pipe.dtype), strength=s.strength,
                       num_inference_steps=s.steps, guidance_scale=0.0, output_type="pt", generator=generator).images  # fmt: skip
        targets = targets.float().cpu().clamp(0, 1)
        mask = renders.alpha
    refined = texture.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([refined], lr=s.lr)
    losses = []
    for _ in range(s.iterations):
        optimizer.zero_grad()
        out = renderer(heads, cameras, texture=refined)
        image_loss = ((out.rgb - targets).abs() * mask).sum() / (3 * mask.sum().clamp(min=1))
        loss = image_loss + s.tv_weight * total_variation(refined)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            refined.clamp_(0, 1)
        losses.append(image_loss.item())
        if progress is not None:
            progress.update(1)
    record = {**asdict(s), "yaws": list(s.yaws), "device": str(pipe.device), "prompt": prompt,
              "image_loss_first": losses[0] if losses else None, "image_loss_last": losses[-1] if losses else None}  # fmt: skip
    return refined.detach(), record
