"""The perceptual terms of fine-tuning: CLIP and DINOv2 cosine distances (eq. 3) and LPIPS (eq. 5).

Each loads real weights from a local folder (nothing is downloaded):

- ``--clip DIR``: a CLIP model in Hugging Face layout (``CLIPModel.from_pretrained``), e.g.
  openai/clip-vit-base-patch32; also gives the style score (image-text similarity).
- ``--dino DIR``: a DINOv2 model in Hugging Face layout (``Dinov2Model``), e.g. facebook/dinov2-small.
- ``--lpips DIR``: LPIPS-VGG as two safetensors files: ``backbone.safetensors`` (torchvision's
  VGG16 ``features.N.*`` keys) and ``lpips.safetensors`` (the ``lpips`` package's v0.1 linear
  heads ``linK.model.1.weight``), with an optional ``config.json`` of channel widths. The
  ``lpips`` package itself cannot run here: it builds its backbone through torchvision.

Where a folder is not given, the term is replaced by a named alternative that runs offline:
kornia's SSIM loss averaged over a 4-level image pyramid (multi-scale structural similarity,
no learned weights) for CLIP and for LPIPS, kornia's SSIM loss (11 px window) for DINOv2. ``PerceptualTerms.report()`` says which
ran; the trainer writes it to its log and to the pack's provenance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _normalise(images: torch.Tensor, size: int, mean, std) -> torch.Tensor:
    images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    mean, std = torch.tensor(mean).to(images)[:, None, None], torch.tensor(std).to(images)[:, None, None]
    return (images - mean) / std


def _local_folder(path, what: str) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"--{what} {path}: no such folder; give a local {what} model folder, or leave the "
                                "option out to use the offline replacement")  # fmt: skip
    return path


class CLIPDistance(torch.nn.Module):
    """1 - cosine similarity of CLIP image embeddings; ``text_similarity`` for the style score."""

    def __init__(self, model, processor_size: int | None = None, tokenizer=None):
        super().__init__()
        self.model, self.tokenizer = model.eval().requires_grad_(False), tokenizer
        self.size = processor_size or model.config.vision_config.image_size

    @classmethod
    def from_folder(cls, path) -> CLIPDistance:
        from transformers import AutoTokenizer, CLIPModel

        path = _local_folder(path, "clip")
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True) if (path / "tokenizer_config.json").is_file() else None
        return cls(CLIPModel.from_pretrained(path, local_files_only=True), tokenizer=tokenizer)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        features = self.model.get_image_features(pixel_values=_normalise(images, self.size, CLIP_MEAN, CLIP_STD))
        features = getattr(features, "pooler_output", features)  # transformers 5 may return an output object
        return F.normalize(features, dim=-1)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (1 - (self.embed(a) * self.embed(b)).sum(-1)).mean()

    @torch.no_grad()
    def text_similarity(self, images: torch.Tensor, text: str) -> torch.Tensor:
        """(B,) cosine similarity of each image with the text (the paper's style score)."""
        if self.tokenizer is None:
            raise ValueError("the CLIP folder has no tokenizer, so no style score; use a folder with tokenizer files")
        tokens = self.tokenizer([text], padding=True, return_tensors="pt")
        text_features = self.model.get_text_features(**tokens)
        text_features = F.normalize(getattr(text_features, "pooler_output", text_features), dim=-1)
        return (self.embed(images) * text_features).sum(-1)


class DINODistance(torch.nn.Module):
    """1 - cosine similarity of DINOv2 CLS tokens."""

    def __init__(self, model, size: int = 224):
        super().__init__()
        self.model, self.size = model.eval().requires_grad_(False), size

    @classmethod
    def from_folder(cls, path) -> DINODistance:
        from transformers import Dinov2Model

        return cls(Dinov2Model.from_pretrained(_local_folder(path, "dino"), local_files_only=True))

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        out = self.model(pixel_values=_normalise(images, self.size, IMAGENET_MEAN, IMAGENET_STD))
        return F.normalize(out.pooler_output, dim=-1)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (1 - (self.embed(a) * self.embed(b)).sum(-1)).mean()


# torchvision's VGG16 ``features``: conv widths, "M" = max-pool; LPIPS taps the ReLU after
# the last conv of each of the five blocks (relu1_2, relu2_2, relu3_3, relu4_3, relu5_3).
VGG16_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)
# The lpips package's ScalingLayer: inputs in [-1, 1] shifted and scaled to ImageNet statistics.
LPIPS_SHIFT, LPIPS_SCALE = (-0.030, -0.088, -0.188), (0.458, 0.448, 0.450)


class LPIPSDistance(torch.nn.Module):
    """LPIPS with the VGG16 backbone (Zhang et al. 2018), the lpips package's forward pass:
    unit-normalised features of five layers, squared differences weighted per channel by the
    linear heads, averaged over space and summed over layers."""

    def __init__(self, widths=VGG16_LAYOUT):
        super().__init__()
        layers, taps, cin = [], [], 3
        for item in widths:
            if item == "M":
                taps.append(len(layers) - 1)  # the ReLU before each pool
                layers.append(torch.nn.MaxPool2d(2, 2))
            else:
                layers += [torch.nn.Conv2d(cin, item, 3, padding=1), torch.nn.ReLU()]
                cin = item
        taps.append(len(layers) - 1)
        self.features, self.taps = torch.nn.Sequential(*layers), taps
        tapped = [layers[t - 1].out_channels for t in taps]
        self.lins = torch.nn.ModuleList(torch.nn.Conv2d(c, 1, 1, bias=False) for c in tapped)
        self.register_buffer("shift", torch.tensor(LPIPS_SHIFT)[None, :, None, None])
        self.register_buffer("scale", torch.tensor(LPIPS_SCALE)[None, :, None, None])
        self.requires_grad_(False)

    @classmethod
    def from_folder(cls, path) -> LPIPSDistance:
        from safetensors.torch import load_file

        path = _local_folder(path, "lpips")
        widths = VGG16_LAYOUT
        if (path / "config.json").is_file():
            widths = tuple(json.loads((path / "config.json").read_text())["widths"])
        net = cls(widths)
        backbone, heads = load_file(path / "backbone.safetensors"), load_file(path / "lpips.safetensors")
        net.features.load_state_dict({k.removeprefix("features."): v for k, v in backbone.items()})
        net.lins.load_state_dict({k.replace("lin", "", 1).replace(".model.1.", "."): v for k, v in heads.items()})
        return net.eval()

    def _tapped(self, images: torch.Tensor) -> list[torch.Tensor]:
        x, out = (images * 2 - 1 - self.shift) / self.scale, []
        for k, layer in enumerate(self.features):
            x = layer(x)
            if k in self.taps:
                out.append(x / (x.square().sum(1, keepdim=True).sqrt() + 1e-10))
        return out

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        terms = [lin((fa - fb).square()).mean([2, 3]) for lin, fa, fb in zip(self.lins, self._tapped(a), self._tapped(b))]
        return torch.stack(terms).sum(0).mean()


class PyramidSSIMDistance(torch.nn.Module):
    """kornia's SSIM loss, (1 - SSIM) / 2 with an 11 px window, averaged over a dyadic image
    pyramid (full, 1/2, 1/4, 1/8 size): structure at coarse scales too, as MS-SSIM weighs it.
    (kornia's MS_SSIMLoss filters every scale at full resolution: 15x slower here.)"""

    def __init__(self, levels: int = 4):
        super().__init__()
        self.levels = levels

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        from kornia.losses import ssim_loss

        terms = []
        for level in range(self.levels):
            if level:
                a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
            terms.append(ssim_loss(a, b, window_size=min(11, a.shape[-1] // 2 * 2 - 1)))
        return torch.stack(terms).mean()


class SSIMDistance(torch.nn.Module):
    """kornia's SSIM loss, (1 - SSIM) / 2 with an 11 px window."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        from kornia.losses import ssim_loss

        return ssim_loss(a, b, window_size=11)


REPLACEMENTS = {
    "clip": ("kornia SSIM loss over a 4-level image pyramid", PyramidSSIMDistance),
    "dino": ("kornia SSIM loss (11 px window)", SSIMDistance),
    "lpips": ("kornia SSIM loss over a 4-level image pyramid", PyramidSSIMDistance),
}
LOADERS = {"clip": CLIPDistance.from_folder, "dino": DINODistance.from_folder, "lpips": LPIPSDistance.from_folder}


@dataclass
class PerceptualTerms:
    """The three terms, each the real network or its offline replacement, and what ran."""

    clip: torch.nn.Module
    dino: torch.nn.Module
    lpips: torch.nn.Module
    ran: dict[str, str]

    @classmethod
    def build(cls, clip=None, dino=None, lpips=None) -> PerceptualTerms:
        folders, terms, ran = {"clip": clip, "dino": dino, "lpips": lpips}, {}, {}
        for name, folder in folders.items():
            if folder is None:
                label, make = REPLACEMENTS[name]
                terms[name], ran[name] = make(), f"replaced offline by {label} (no --{name} folder)"
            else:
                terms[name], ran[name] = LOADERS[name](folder), f"{name} from {Path(folder).resolve()}"
        return cls(ran=ran, **terms)

    def report(self) -> dict[str, str]:
        return dict(self.ran)
