"""Explicit Attribute-preserving Stylization (EAS, paper 3.3): SDXL img2img with the EAM.

The source render is encoded, noised to the 7th of 25 DDIM timesteps (t = 721 with SDXL's
``steps_offset`` 1, i.e. strength 0.76) and denoised over the remaining 19 with
classifier-free guidance 5 and a negative prompt, while the EAM, at a control scale that
falls linearly from 0.7 towards 0, keeps the landmarks, head rotation and expression of
the source. The loop is our own because diffusers' ControlNet pipelines expect an image
hint; everything in it is diffusers' (prompt encoding, scheduler, VAE, UNet).

Weights are local folders in diffusers layout (``--sdxl DIR``: any SDXL base model, the
paper uses RealVisXL V3.0; ``--eam DIR``: an ``EAMModel.save_pretrained`` folder, which
``stylemm-stylize eam-train`` writes), read with ``local_files_only`` and safetensors only.
"""

from __future__ import annotations

from pathlib import Path

import torch

STEPS = 25
START_INDEX = 6  # of STEPS: start at timesteps[6], 19 steps left (the paper's "19 of 25")
CONTROL_SCALE = 0.7
GUIDANCE_SCALE = 5.0
DEFAULT_NEGATIVE_PROMPT = ("blurry, low quality, deformed, disfigured, distorted face, asymmetric eyes, "
                           "extra limbs, cropped, text, watermark")  # fmt: skip
SDXL_PARTS = ("unet", "vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "scheduler")
WEIGHTED_PARTS = ("unet", "vae", "text_encoder", "text_encoder_2")


class MissingWeightsError(FileNotFoundError):
    """Weights that EAS needs are not where they were said to be."""


def denoising_timesteps(scheduler, steps: int = STEPS, start_index: int = START_INDEX) -> torch.Tensor:
    """The timesteps EAS runs: ``scheduler``'s ``steps`` from index ``start_index`` on; the
    source latent is noised to the first of them."""
    if not 0 <= start_index < steps:
        raise ValueError(f"start_index must be in [0, {steps}), got {start_index}")
    scheduler.set_timesteps(steps)
    return scheduler.timesteps[start_index:]


def control_scales(count: int, start: float = CONTROL_SCALE) -> list[float]:
    """The EAM's scale at each of ``count`` steps: ``start`` at the first, falling linearly
    by start / count a step, so it would reach 0 one step after the last (the structure is
    set early; late steps add style and detail, which the EAM should not hold back)."""
    return [start * (count - i) / count for i in range(count)]


def sdxl_time_ids(height: int, width: int, batch: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """(B, 6) SDXL micro-conditioning: original size, crop top-left (0, 0), target size, all
    the image's own size (an uncropped image of exactly this size)."""
    return torch.tensor([[height, width, 0, 0, height, width]], device=device, dtype=dtype).expand(batch, 6)


def check_sdxl_folder(path) -> str | None:
    """Raise MissingWeightsError naming what is missing; return the weights' variant: None,
    or "fp16" where a part has only ``*.fp16.safetensors`` files (diffusers then takes the
    fp16 files where there are some and the plain ones elsewhere)."""
    path = Path(path)
    hint = (f"--sdxl must be a Stable Diffusion XL base model in diffusers layout (model_index.json and the folders "
            f"{', '.join(SDXL_PARTS)}), for example RealVisXL V3.0: on a machine with internet run "
            f"`hf download SG161222/RealVisXL_V3.0 --local-dir sdxl` and copy the folder to {path}")  # fmt: skip
    if not (path / "model_index.json").is_file():
        raise MissingWeightsError(f"no SDXL model at {path}: model_index.json is missing. {hint}")
    missing = [part for part in SDXL_PARTS if not (path / part).is_dir()]
    if missing:
        raise MissingWeightsError(f"the SDXL model at {path} lacks {', '.join(missing)}/. {hint}")
    variants = set()
    for part in WEIGHTED_PARTS:
        files = [f.name for f in (path / part).glob("*.safetensors")]
        if not files:
            raise MissingWeightsError(f"no weights in {path / part} (*.safetensors; pickled .bin files are not read). {hint}")
        variants.add(None if any(".fp16." not in f for f in files) else "fp16")
    return "fp16" if "fp16" in variants else None


def check_eam_folder(path) -> None:
    path = Path(path)
    hint = "--eam must be a folder that `stylemm-stylize eam-train` wrote (RUN/eam) or EAMModel.save_pretrained wrote"
    for name in ("config.json", "diffusion_pytorch_model.safetensors"):
        if not (path / name).is_file():
            raise MissingWeightsError(f"no EAM at {path}: {name} is missing; {hint}")


def pick_device(device=None) -> torch.device:
    """The GPU, or an error that says how to force the CPU."""
    if device is not None:
        return torch.device(device)
    if not torch.cuda.is_available():
        raise RuntimeError("EAS needs a GPU (SDXL takes minutes per image on a CPU) and none was found; "
                           "pass device='cpu' (--device cpu) to force a slow run")  # fmt: skip
    return torch.device("cuda")


def load_sdxl(sdxl_dir, device, dtype):
    """The SDXL pipeline in ``sdxl_dir`` (checked first), on ``device`` in ``dtype``; its VAE
    stays in fp32 where the model says fp16 overflows it (SDXL's does)."""
    from diffusers import StableDiffusionXLImg2ImgPipeline

    variant = check_sdxl_folder(sdxl_dir)
    pipe = StableDiffusionXLImg2ImgPipeline.from_pretrained(str(sdxl_dir), dtype=dtype, variant=variant,
                                                            use_safetensors=True, local_files_only=True,
                                                            add_watermarker=False).to(device)  # fmt: skip
    if pipe.vae.config.force_upcast and dtype == torch.float16:
        pipe.vae.to(torch.float32)
    pipe.set_progress_bar_config(disable=True)
    return pipe


class EASStylizer:
    """SDXL + EAM. ``stylize(...)`` turns source renders into aligned stylized images."""

    def __init__(self, pipe, eam, steps: int = STEPS, start_index: int = START_INDEX,
                 control_scale: float = CONTROL_SCALE, guidance_scale: float = GUIDANCE_SCALE):  # fmt: skip
        """pipe: a StableDiffusionXL(Img2Img)Pipeline (its components are used, not its
        __call__); eam: an EAMModel on the same device. The scheduler becomes DDIM."""
        from diffusers import DDIMScheduler

        if pipe.unet.config.addition_embed_type != "text_time" or pipe.text_encoder_2 is None:
            raise ValueError("EAS needs an SDXL base model (a UNet with text_time conditioning and two text encoders)")
        pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
        self.pipe, self.eam = pipe, eam.eval()
        self.steps, self.start_index = steps, start_index
        self.control_scale, self.guidance_scale = control_scale, guidance_scale

    @classmethod
    def from_pretrained(cls, sdxl_dir, eam_dir, device=None, dtype=None, **options) -> EASStylizer:
        """Load SDXL from ``sdxl_dir`` and the EAM from ``eam_dir`` (local diffusers folders).
        device: None picks the GPU (an error if there is none); dtype: None is fp16 on a GPU,
        fp32 on the CPU."""
        from stylemm.stylize.eam import EAMModel

        check_eam_folder(eam_dir)
        device = pick_device(device)
        dtype = dtype or (torch.float16 if device.type == "cuda" else torch.float32)
        pipe = load_sdxl(sdxl_dir, device, dtype)
        eam = EAMModel.from_pretrained(str(eam_dir), dtype=dtype, local_files_only=True).to(device)
        return cls(pipe, eam, **options)

    @property
    def device(self) -> torch.device:
        return self.pipe.unet.device

    def check_inputs(self, images, landmarks5, rotation, expression) -> None:
        batch, channels, height, width = images.shape
        multiple = self.pipe.vae_scale_factor * 2 ** (len(self.pipe.unet.config.block_out_channels) - 1)
        if channels != 3 or height % multiple or width % multiple:
            raise ValueError(f"images must be (B, 3, H, W) with H and W multiples of {multiple}, got {tuple(images.shape)}")
        expected = {"landmarks5": (batch, 5, 2), "rotation": (batch, 3), "expression": (batch, self.eam.config.expression_dim)}
        for name, value in zip(expected, (landmarks5, rotation, expression)):
            if value is not None and tuple(value.shape) != expected[name]:
                raise ValueError(f"{name} must have shape {expected[name]} (this EAM's), got {tuple(value.shape)}")

    def encode(self, images: torch.Tensor, generator=None) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> scaled latents, in the UNet's dtype."""
        vae = self.pipe.vae
        posterior = vae.encode((2 * images - 1).to(self.device, vae.dtype)).latent_dist
        latents = posterior.sample(generator)
        mean, std = latent_statistics(vae, latents)
        return ((latents - mean) * vae.config.scaling_factor / std).to(self.pipe.unet.dtype)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        vae = self.pipe.vae
        latents = latents.to(vae.dtype)
        mean, std = latent_statistics(vae, latents)
        return ((vae.decode(latents * std / vae.config.scaling_factor + mean).sample + 1) / 2).clamp(0, 1).float()

    @torch.no_grad()
    def stylize(self, images: torch.Tensor, landmarks5: torch.Tensor | None, rotation: torch.Tensor | None,
                expression: torch.Tensor | None, prompt: str, negative_prompt: str | None = DEFAULT_NEGATIVE_PROMPT,
                generator: torch.Generator | None = None, progress: bool = False) -> torch.Tensor:  # fmt: skip
        """images (B, 3, H, W) in [0, 1]; landmarks5 (B, 5, 2) normalised (x right, y down,
        in [0, 1]); rotation (B, 3) axis-angle of the head as the camera sees it; expression
        (B, E). A None condition is dropped (the EAM was trained with each dropped 25 % of
        the time). Returns (B, 3, H, W) in [0, 1] on the CPU."""
        from diffusers.utils.torch_utils import randn_tensor
        from tqdm import tqdm

        self.check_inputs(images, landmarks5, rotation, expression)
        pipe, batch, device = self.pipe, len(images), self.device
        embeds, negative, pooled, negative_pooled = pipe.encode_prompt(
            prompt, device=device, num_images_per_prompt=batch, do_classifier_free_guidance=True,
            negative_prompt=negative_prompt)  # fmt: skip
        text = torch.cat([negative, embeds])
        added = {"text_embeds": torch.cat([negative_pooled, pooled]),
                 "time_ids": sdxl_time_ids(*images.shape[-2:], 2 * batch, device, text.dtype)}  # fmt: skip
        conditions = {name: None if value is None else torch.cat([value, value]).to(device)
                      for name, value in (("landmarks", landmarks5), ("rotation", rotation), ("expression", expression))}  # fmt: skip

        timesteps = denoising_timesteps(pipe.scheduler, self.steps, self.start_index)
        source = self.encode(images, generator)
        noise = randn_tensor(source.shape, generator=generator, device=device, dtype=source.dtype)
        latents = pipe.scheduler.add_noise(source, noise, timesteps[:1])
        for t, scale in tqdm(list(zip(timesteps, control_scales(len(timesteps), self.control_scale))),
                             desc="EAS", disable=not progress):  # fmt: skip
            model_input = pipe.scheduler.scale_model_input(torch.cat([latents, latents]), t)
            down, mid = self.eam(model_input, t, text, added_cond_kwargs=added, conditioning_scale=scale,
                                 return_dict=False, **conditions)  # fmt: skip
            unconditional, conditional = pipe.unet(model_input, t, text, added_cond_kwargs=added,
                                                   down_block_additional_residuals=down,
                                                   mid_block_additional_residual=mid).sample.chunk(2)  # fmt: skip
            guided = unconditional + self.guidance_scale * (conditional - unconditional)
            latents = pipe.scheduler.step(guided, t, latents).prev_sample
        return self.decode(latents).cpu()


def latent_statistics(vae, like: torch.Tensor):
    """The VAE's per-channel latent mean and std where its config has them (not SDXL's), else 0 and 1."""
    mean, std = getattr(vae.config, "latents_mean", None), getattr(vae.config, "latents_std", None)
    if mean is None or std is None:
        return 0.0, 1.0
    shape = (1, -1, 1, 1)
    return (torch.tensor(mean).view(shape).to(like.device, like.dtype), torch.tensor(std).view(shape).to(like.device, like.dtype))
