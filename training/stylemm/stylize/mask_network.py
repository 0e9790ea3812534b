"""The few-shot part-mask network f_mask (paper 3.4.4) for stylized images without 3D truth.

Frozen features from Stable Diffusion (the UNet decoder's activations on a lightly noised
latent, as in DIFT / SD-DINO) and DINOv2 (patch tokens) are normalised, projected, fused at
the finest feature resolution and decoded by a residual conv network whose residual
branches start at zero (each block is the identity at init, so training starts from a plain
linear read-out of the fused features). Trained with per-pixel cross-entropy over
background, face, eye, nose, mouth, ear from a handful of labelled images; the features
are computed once, since the extractors never change.

The extractors load local weights (``SDFeatures.from_pretrained(dir)``,
``DINOv2Features.from_pretrained(dir)``; nothing is downloaded). ``MaskNetwork.save_pretrained``
writes one folder: the decoder (a diffusers model: safetensors + config.json) and
``f_mask.json``, which extractors it was trained on with their options;
``MaskNetwork.from_pretrained(folder, sd_dir=..., dinov2_dir=...)`` rebuilds it from the same
feature weights (not copied: they are gigabytes, and the user has them).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

CLASSES = ("background", "face", "eye", "nose", "mouth", "ear")
IGNORE = 255  # label of unlabelled pixels in a hand-drawn mask
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
INDEX, FORMAT, FORMAT_VERSION = "f_mask.json", "stylemm-f-mask", 1


class DINOv2Features(nn.Module):
    """images (B, 3, H, W) in [0, 1] -> [(B, C, H/p, W/p)] DINOv2 patch tokens, at ``resolution`` px."""

    kind = "dinov2"

    def __init__(self, model, resolution: int = 448):
        super().__init__()
        self.model, self.resolution = model.eval().requires_grad_(False), resolution
        self.patch = model.config.patch_size
        self.skip = 1 + getattr(model.config, "num_register_tokens", 0)  # the CLS token (and registers)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN)[:, None, None], persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD)[:, None, None], persistent=False)

    @classmethod
    def from_pretrained(cls, folder, resolution: int = 448, **options) -> DINOv2Features:
        from transformers import AutoModel

        return cls(AutoModel.from_pretrained(str(folder), local_files_only=True, **options), resolution)

    def options(self) -> dict:
        """What ``from_pretrained`` needs besides the weights to compute the same features."""
        return {"resolution": self.resolution}

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        side = self.resolution // self.patch * self.patch
        x = F.interpolate(images, size=(side, side), mode="bilinear", align_corners=False, antialias=True)
        x = ((x - self.mean) / self.std).to(self.model.dtype)
        tokens = self.model(pixel_values=x).last_hidden_state[:, self.skip :]
        grid = side // self.patch
        return [tokens.transpose(1, 2).reshape(len(images), -1, grid, grid).float()]


class SDFeatures(nn.Module):
    """images (B, 3, H, W) in [0, 1] -> the UNet decoder blocks' outputs ``layers`` for the
    image's latent noised to ``timestep`` (fixed noise, so features are deterministic),
    with the empty prompt. Works with SD 1.x / 2.x and SDXL UNets."""

    kind = "sd"

    def __init__(self, unet, vae, prompt_embeds: torch.Tensor, pooled: torch.Tensor | None = None,
                 timestep: int = 100, layers: Sequence[int] = (0, 1, 2), resolution: int = 512, seed: int = 0):  # fmt: skip
        super().__init__()
        self.unet, self.vae = unet.eval().requires_grad_(False), vae.eval().requires_grad_(False)
        self.register_buffer("prompt_embeds", prompt_embeds, persistent=False)
        self.register_buffer("pooled", pooled, persistent=False)
        self.timestep, self.layers, self.resolution, self.seed = timestep, tuple(layers), resolution, seed
        # Only its add_noise is used: Stable Diffusion's training noise schedule (1.x, 2.x and XL share it).
        self.scheduler = DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")

    @classmethod
    def from_pretrained(cls, folder, **options) -> SDFeatures:
        """A local Stable Diffusion folder in diffusers layout (SD 1.x, 2.x or SDXL)."""
        from diffusers import DiffusionPipeline

        pipe = DiffusionPipeline.from_pretrained(str(folder), local_files_only=True, use_safetensors=True)
        encoded = pipe.encode_prompt("", device="cpu", num_images_per_prompt=1, do_classifier_free_guidance=False)
        pooled = encoded[2] if len(encoded) == 4 else None  # SDXL also returns pooled embeddings
        return cls(pipe.unet, pipe.vae, encoded[0], pooled, **options)

    def options(self) -> dict:
        """What ``from_pretrained`` needs besides the weights to compute the same features."""
        return {"timestep": self.timestep, "layers": list(self.layers), "resolution": self.resolution, "seed": self.seed}

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        from diffusers.utils.torch_utils import randn_tensor

        from stylemm.stylize.eas import sdxl_time_ids

        x = F.interpolate(images, size=(self.resolution,) * 2, mode="bilinear", align_corners=False, antialias=True)
        latents = self.vae.encode((2 * x - 1).to(self.vae.dtype)).latent_dist.mean * self.vae.config.scaling_factor
        noise = randn_tensor(latents.shape, generator=torch.Generator().manual_seed(self.seed), device=latents.device,
                             dtype=latents.dtype)  # fmt: skip
        t = torch.full((len(images),), self.timestep, device=latents.device)
        noisy = self.scheduler.add_noise(latents, noise, t).to(self.unet.dtype)
        added = None
        if self.unet.config.addition_embed_type == "text_time":
            added = {"text_embeds": self.pooled.expand(len(images), -1),
                     "time_ids": sdxl_time_ids(self.resolution, self.resolution, len(images), latents.device, noisy.dtype)}  # fmt: skip
        captured = {}
        hooks = [self.unet.up_blocks[i].register_forward_hook(lambda _m, _i, out, i=i: captured.__setitem__(i, out))
                 for i in self.layers]  # fmt: skip
        try:
            self.unet(noisy, t, self.prompt_embeds.expand(len(images), -1, -1), added_cond_kwargs=added)
        finally:
            for hook in hooks:
                hook.remove()
        return [captured[i].float() for i in self.layers]


class FeatureStack(nn.Module):
    """Several frozen extractors as one: their feature maps, concatenated as a list."""

    def __init__(self, extractors: Sequence[nn.Module]):
        super().__init__()
        if not extractors:
            raise ValueError("f_mask needs at least one feature extractor (SD and / or DINOv2 weights)")
        self.extractors = nn.ModuleList(extractors)

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        return [feature for extractor in self.extractors for feature in extractor(images)]


def load_extractors(sd_dir=None, dinov2_dir=None) -> FeatureStack:
    """The paper's SD + DINOv2 features from local folders (either may be left out)."""
    extractors = []
    if sd_dir is not None:
        extractors.append(SDFeatures.from_pretrained(sd_dir))
    if dinov2_dir is not None:
        extractors.append(DINOv2Features.from_pretrained(dinov2_dir))
    if not extractors:
        raise FileNotFoundError("f_mask needs local weights: a Stable Diffusion folder (diffusers layout) and / or a "
                                "DINOv2 folder (transformers layout, e.g. facebook/dinov2-base saved with save_pretrained)")  # fmt: skip
    return FeatureStack(extractors)


class ResidualBlock(nn.Module):
    """x + conv(silu(norm(conv(silu(norm(x)))))), the second conv zero at init: the identity."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(nn.GroupNorm(8, width), nn.SiLU(), nn.Conv2d(width, width, 3, padding=1),
                                  nn.GroupNorm(8, width), nn.SiLU(), nn.Conv2d(width, width, 3, padding=1))  # fmt: skip
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class MaskDecoder(ModelMixin, ConfigMixin):
    """Fused features -> per-pixel logits over CLASSES."""

    @register_to_config
    def __init__(self, feature_channels: Sequence[int], num_classes: int = len(CLASSES), width: int = 128, blocks: int = 4):
        super().__init__()
        self.projections = nn.ModuleList(nn.Conv2d(c, width, 1) for c in feature_channels)
        self.residual = nn.Sequential(*(ResidualBlock(width) for _ in range(blocks)))
        self.head = nn.Sequential(nn.GroupNorm(8, width), nn.SiLU(), nn.Conv2d(width, num_classes, 1))

    def forward(self, features: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
        """features: the extractors' maps; size: (H, W) of the logits (the image's)."""
        if len(features) != len(self.projections):
            raise ValueError(f"this decoder was trained on {len(self.projections)} feature maps, got {len(features)}")
        fused_size = max((f.shape[-2:] for f in features), key=lambda s: s[0] * s[1])
        fused = 0
        for project, feature in zip(self.projections, features):
            # Unit length per pixel: SD's and DINOv2's features differ in scale by orders of magnitude.
            feature = F.normalize(feature.to(self.dtype), dim=1)
            fused = fused + F.interpolate(project(feature), size=fused_size, mode="bilinear", align_corners=False)
        logits = self.head(self.residual(fused))
        return F.interpolate(logits, size=size, mode="bilinear", align_corners=False)


def mask_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The paper's cross-entropy, averaged over labelled pixels (IGNORE pixels left out)."""
    return F.cross_entropy(logits, labels.long(), ignore_index=IGNORE)


class MaskNetwork(nn.Module):
    """f_mask: frozen extractors + a trained decoder. ``predict(images) -> (B, H, W)`` class indices."""

    def __init__(self, extractor: nn.Module, decoder: MaskDecoder):
        super().__init__()
        self.extractor, self.decoder = extractor, decoder

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.extractor(images), images.shape[-2:]).argmax(1)

    def save_pretrained(self, folder) -> Path:
        """The decoder and what it was trained on, in ``folder`` (replaced atomically)."""
        from stylemm.io.atomic import atomic_folder, write_json

        extractors = [{"kind": e.kind, **e.options()} for e in self.extractor.extractors]
        with atomic_folder(folder) as staging:
            self.decoder.save_pretrained(staging / "decoder")
            write_json(staging / INDEX, {"format": FORMAT, "format_version": FORMAT_VERSION, "classes": list(CLASSES),
                                         "extractors": extractors})  # fmt: skip
        return Path(folder)

    @classmethod
    def from_pretrained(cls, folder, sd_dir=None, dinov2_dir=None) -> MaskNetwork:
        """f_mask from ``save_pretrained``'s folder and the feature weights it was trained on."""
        folder = Path(folder)
        if not (folder / INDEX).is_file():
            raise FileNotFoundError(f"{folder} is not an f_mask folder (no {INDEX}); train one with stylemm-stylize mask-train")
        index = json.loads((folder / INDEX).read_text())
        if index.get("format") != FORMAT or index.get("format_version") != FORMAT_VERSION or index.get("classes") != list(CLASSES):
            raise ValueError(f"{folder / INDEX} is not an f_mask of version {FORMAT_VERSION} over the classes {CLASSES}")
        given = {"sd": sd_dir, "dinov2": dinov2_dir}
        missing = [e["kind"] for e in index["extractors"] if given.get(e["kind"]) is None]
        if missing:
            flags = {"sd": "--sdxl DIR (the Stable Diffusion folder it was trained with)", "dinov2": "--dinov2 DIR"}
            raise FileNotFoundError(f"{folder} was trained on {', '.join(e['kind'] for e in index['extractors'])} features; "
                                    f"give {' and '.join(flags[k] for k in missing)}")  # fmt: skip
        kinds = {"sd": SDFeatures, "dinov2": DINOv2Features}
        extractors = [kinds[e["kind"]].from_pretrained(given[e["kind"]], **{k: v for k, v in e.items() if k != "kind"})
                      for e in index["extractors"]]  # fmt: skip
        return cls(FeatureStack(extractors), MaskDecoder.from_pretrained(folder / "decoder", local_files_only=True).eval())


def load_labelled(images_dir, masks_dir) -> tuple[torch.Tensor, torch.Tensor]:
    """Hand-labelled examples: ``images_dir/NAME.png`` (RGB) with ``masks_dir/NAME.png`` (one
    channel of class indices in CLASSES' order, IGNORE where unlabelled), all the same size."""
    import numpy as np
    from PIL import Image

    images_dir, masks_dir = Path(images_dir), Path(masks_dir)
    names = sorted(p.name for p in images_dir.glob("*.png"))
    if not names:
        raise FileNotFoundError(f"no .png images in {images_dir}")
    missing = [n for n in names if not (masks_dir / n).is_file()]
    if missing:
        raise FileNotFoundError(f"no mask in {masks_dir} for {', '.join(missing[:5])}: each image needs a mask of the same name")
    images = [np.asarray(Image.open(images_dir / n).convert("RGB"), np.float32) / 255 for n in names]
    masks = [np.asarray(Image.open(masks_dir / n)) for n in names]
    for name, image, mask in zip(names, images, masks):
        if mask.ndim != 2 or mask.shape != image.shape[:2] or image.shape != images[0].shape:
            raise ValueError(f"{name}: every image must be {images[0].shape[1]}x{images[0].shape[0]} and its mask one channel "
                             f"of that size (got image {image.shape[1]}x{image.shape[0]}, mask {mask.shape})")  # fmt: skip
        bad = sorted(set(np.unique(mask).tolist()) - set(range(len(CLASSES))) - {IGNORE})
        if bad:
            raise ValueError(f"{masks_dir / name} holds {bad}: class indices are 0-{len(CLASSES) - 1} {CLASSES}, {IGNORE} unlabelled")
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2), torch.from_numpy(np.stack(masks).astype(np.int64))


def train_mask_network(extractor: nn.Module, images: torch.Tensor, masks: torch.Tensor, steps: int = 300,
                       lr: float = 1e-3, width: int = 128, blocks: int = 4, seed: int = 0, flip: bool = True,
                       progress: bool = False) -> MaskNetwork:  # fmt: skip
    """Few-shot training: images (N, 3, H, W) in [0, 1], masks (N, H, W) class indices
    (IGNORE where unlabelled). ``flip`` adds the mirror images (the classes are left/right
    symmetric). Full-batch Adam on features computed once."""
    from tqdm import tqdm

    if masks.shape != (len(images), *images.shape[-2:]):
        raise ValueError(f"masks must be (N, H, W) matching images {tuple(images.shape)}, got {tuple(masks.shape)}")
    if flip:
        images, masks = torch.cat([images, images.flip(-1)]), torch.cat([masks, masks.flip(-1)])
    features = extractor(images)
    torch.manual_seed(seed)
    decoder = MaskDecoder([f.shape[1] for f in features], width=width, blocks=blocks)
    optimizer = torch.optim.Adam(decoder.parameters(), lr=lr)
    for _ in tqdm(range(steps), desc="training f_mask", disable=not progress):
        loss = mask_loss(decoder(features, images.shape[-2:]), masks)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return MaskNetwork(extractor, decoder.eval())
