"""The Explicit Attribute-preserving Module (EAM, paper 3.2) as a diffusers model.

A ControlNet whose image hint is replaced by three vectors: five sparse landmarks (eye
centres, nose tip, mouth corners, in normalised image coordinates), the head rotation as
the camera sees it (axis-angle) and the expression. Each goes through its own MLP; an
attribute merger joins them into one vector that is reshaped to 1x1 and upsampled in stages
to the latent resolution, each stage a conv followed by one zero-initialised adaptive layer
norm per condition; a zero conv adds the result to the encoder's first feature map (the
``conv_in`` output). The encoder is a copy of the SDXL UNet's down and mid blocks
(``ControlNetModel.from_unet``), so a fresh EAM adds exactly nothing to the UNet.

Not inherited from the public code (kwanyun/EAS): every condition has its own adaptive
layer norm (the public code feeds the expression through the pose layer), a dropped
condition is a learned null embedding (never a BatchNorm made on the fly, which is random
and untrained every call), five landmarks (not seven) and no fixed image size in the
norms, so 512 and 1024 px both work.

``EAMModel`` is a ``ModelMixin + ConfigMixin`` model holding a stock ``ControlNetModel``
(diffusers' own forward, time and text conditioning, zero convs) and the attribute
embedding; ``save_pretrained`` / ``from_pretrained`` write and read safetensors + config.json.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import ControlNetModel, UNet2DConditionModel
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

CONDITIONS = ("landmarks", "rotation", "expression")
LANDMARK_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_right", "mouth_left")  # the subject's right / left
# The five landmarks as MediaPipe face-mesh indices (the project's 478-point convention).
# Eye centres are the midpoints of the eye corners, which stay put when the eyes look around
# (MediaPipe's iris points 468 / 473 strayed up to 11 px at 256 from the mesh's on our renders,
# the corner midpoints under 8 px: tests/python/test_eam.py).
MEDIAPIPE_FIVE = ((33, 133), (362, 263), (1,), (61,), (291,))


def five_landmarks(points: torch.Tensor) -> torch.Tensor:
    """(B, 478, D) MediaPipe-ordered landmarks -> (B, 5, D) in LANDMARK_NAMES order."""
    return torch.stack([points[:, list(group)].mean(1) for group in MEDIAPIPE_FIVE], 1)


def eam_conditions(model, faces, embedding=None) -> dict[str, torch.Tensor]:
    """What the EAM is conditioned on, for a SourceFaces batch (exact, from its mesh):
    ``landmarks5`` (B, 5, 2) in [0, 1] (x / width, y / height), ``rotation`` (B, 3) the
    head's axis-angle as the camera sees it, ``expression`` (B, E) the model's own vector."""
    from stylemm.landmarks import load_embedding
    from stylemm.stylize.source import head_rotation

    embedding = embedding or load_embedding(model)
    with torch.no_grad():
        points = faces.camera.project(embedding.points(faces.vertices, model.faces))  # (B, 478, 2) px
    size = torch.tensor([faces.camera.width, faces.camera.height], dtype=points.dtype)
    return {"landmarks5": five_landmarks(points) / size, "rotation": head_rotation(model, faces),
            "expression": faces.expression.float()}  # fmt: skip


def condition_mlp(in_dim: int, hidden: int, out_dim: int) -> nn.Sequential:
    """Linear -> LayerNorm -> SiLU -> Linear -> LayerNorm -> SiLU (the paper's encoding MLP)."""
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.LayerNorm(hidden), nn.SiLU(),
                         nn.Linear(hidden, out_dim), nn.LayerNorm(out_dim), nn.SiLU())  # fmt: skip


class AdaLNZero(nn.Module):
    """x + gate(c) * conv(silu(norm(x) * (1 + scale(c)) + shift(c))), scale/shift/gate zero at
    init (DiT's adaLN-Zero), so a fresh layer is the identity. The norm is over channels and
    space without learned affine (GroupNorm with one group), so it fits any resolution."""

    def __init__(self, channels: int, cond_dim: int):
        super().__init__()
        self.norm = nn.GroupNorm(1, channels, affine=False)
        self.modulation = nn.Linear(cond_dim, 3 * channels)  # scale, shift, gate
        nn.init.zeros_(self.modulation.weight)
        nn.init.zeros_(self.modulation.bias)
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        scale, shift, gate = self.modulation(cond)[:, :, None, None].chunk(3, dim=1)
        h = self.norm(x) * (1 + scale) + shift
        return x + gate * self.conv(F.silu(h))


class AttributeStage(nn.Module):
    """Upsample x2, conv to the stage's channels, then one AdaLNZero per condition."""

    def __init__(self, in_channels: int, out_channels: int, cond_dim: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norms = nn.ModuleList(AdaLNZero(out_channels, cond_dim) for _ in CONDITIONS)

    def forward(self, x: torch.Tensor, features: list[torch.Tensor]) -> torch.Tensor:
        x = F.silu(self.conv(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)))
        for norm, feature in zip(self.norms, features):
            x = norm(x, feature)
        return x


class AttributeEmbedding(nn.Module):
    """(landmarks, rotation, expression) -> a feature map for the encoder's first block."""

    def __init__(self, input_dims: tuple[int, int, int], out_channels: int, cond_dim: int, cond_hidden: int,
                 merger_hidden: int, channels: tuple[int, ...]):  # fmt: skip
        super().__init__()
        self.encoders = nn.ModuleList(condition_mlp(dim, cond_hidden, cond_dim) for dim in input_dims)
        # What a dropped condition reads as. Zero at init (a dropped condition starts as zeros);
        # learned, so "unknown" can come to mean something other than "this value".
        self.null = nn.Parameter(torch.zeros(len(CONDITIONS), cond_dim))
        self.merger = condition_mlp(len(CONDITIONS) * cond_dim, merger_hidden, channels[0])
        self.conv_in = nn.Conv2d(channels[0], channels[0], 1)
        self.stages = nn.ModuleList(AttributeStage(a, b, cond_dim) for a, b in zip(channels[:-1], channels[1:]))
        self.conv_out = nn.Conv2d(channels[-1], out_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, inputs: list[torch.Tensor], keep: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """inputs: three (B, D_i) tensors; keep: (B, 3) bool, False where a condition is dropped."""
        features = [torch.where(keep[:, i, None], encoder(x), self.null[i].to(x.dtype))
                    for i, (encoder, x) in enumerate(zip(self.encoders, inputs))]  # fmt: skip
        merged = self.merger(torch.cat(features, 1))[:, :, None, None]
        x = F.silu(self.conv_in(F.interpolate(merged, scale_factor=2, mode="nearest")))
        for stage in self.stages:
            x = stage(x, features)
        if tuple(x.shape[-2:]) != tuple(size):  # latents of another image size than the stages make
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        return self.conv_out(x)


class EAMModel(ModelMixin, ConfigMixin):
    """The EAM: an SDXL encoder copy (a stock ControlNetModel) driven by attribute vectors.

    Build one with ``EAMModel.from_unet(unet, expression_dim=52)``; call it like a
    ControlNet and hand its residuals to the UNet::

        down, mid = eam(latents, t, text, landmarks=l5, rotation=r, expression=e,
                        added_cond_kwargs=..., conditioning_scale=0.7, return_dict=False)
        unet(latents, t, text, added_cond_kwargs=...,
             down_block_additional_residuals=down, mid_block_additional_residual=mid)

    The stages double the resolution from 2x2: ``len(embedding_channels)`` entries reach
    2**len px (64 for the default six, SDXL's latents at 512 px); other latent sizes are
    resized to.
    """

    @register_to_config
    def __init__(self, controlnet: dict, expression_dim: int, num_landmarks: int = 5, rotation_dim: int = 3,
                 condition_dim: int = 256, condition_hidden: int = 128, merger_hidden: int = 1024,
                 embedding_channels: tuple[int, ...] = (2048, 1024, 512, 512, 256, 256)):  # fmt: skip
        super().__init__()
        self.encoder = ControlNetModel.from_config(controlnet)
        # The stock image-hint embedding is replaced: the encoder gets our embedding as its
        # "hint" and adds it to its conv_in output, exactly where the stock one goes.
        self.encoder.controlnet_cond_embedding = nn.Identity()
        self.attributes = AttributeEmbedding((2 * num_landmarks, rotation_dim, expression_dim),
                                             self.encoder.config.block_out_channels[0], condition_dim, condition_hidden,
                                             merger_hidden, tuple(embedding_channels))  # fmt: skip

    @classmethod
    def from_unet(cls, unet: UNet2DConditionModel, expression_dim: int, **config) -> EAMModel:
        """An EAM whose encoder is initialised from ``unet`` (ControlNet's recipe)."""
        stock = ControlNetModel.from_unet(unet)
        controlnet_config = {k: v for k, v in stock.config.items() if not k.startswith("_")}
        eam = cls(controlnet=controlnet_config, expression_dim=expression_dim, **config)
        state = {k: v for k, v in stock.state_dict().items() if not k.startswith("controlnet_cond_embedding.")}
        eam.encoder.load_state_dict(state)
        return eam if unet.dtype == eam.dtype else eam.to(unet.dtype)

    def condition_inputs(self, batch: int, landmarks, rotation, expression, keep, device, dtype):
        """The three inputs flattened to (B, D) and the (B, 3) keep mask; a None input is
        dropped for the whole batch."""
        c = self.config
        shapes = ((batch, c.num_landmarks, 2), (batch, c.rotation_dim), (batch, c.expression_dim))
        keep = torch.ones(batch, len(CONDITIONS), dtype=torch.bool, device=device) if keep is None else keep.to(device)
        inputs = []
        for i, (name, value, shape) in enumerate(zip(CONDITIONS, (landmarks, rotation, expression), shapes)):
            if value is None:
                value, keep = torch.zeros(shape), keep.clone()
                keep[:, i] = False
            if tuple(value.shape) != shape:
                raise ValueError(f"EAM {name}: expected shape {shape}, got {tuple(value.shape)}")
            inputs.append(value.to(device=device, dtype=dtype).reshape(batch, -1))
        if tuple(keep.shape) != (batch, len(CONDITIONS)):
            raise ValueError(f"EAM keep mask: expected shape {(batch, len(CONDITIONS))}, got {tuple(keep.shape)}")
        return inputs, keep

    def forward(self, sample: torch.Tensor, timestep, encoder_hidden_states: torch.Tensor,
                landmarks: torch.Tensor | None = None, rotation: torch.Tensor | None = None,
                expression: torch.Tensor | None = None, added_cond_kwargs: dict | None = None,
                conditioning_scale: float = 1.0, keep: torch.Tensor | None = None, return_dict: bool = True):  # fmt: skip
        """sample: (B, C, h, w) noisy latents; landmarks (B, 5, 2) in [0, 1], rotation (B, 3)
        axis-angle, expression (B, E); keep: (B, 3) bool (landmarks, rotation, expression),
        False drops that condition for that sample (training's condition dropout)."""
        inputs, keep = self.condition_inputs(len(sample), landmarks, rotation, expression, keep, sample.device, self.dtype)
        hint = self.attributes(inputs, keep, sample.shape[-2:]).to(sample.dtype)
        return self.encoder(sample, timestep, encoder_hidden_states, controlnet_cond=hint,
                            conditioning_scale=conditioning_scale, added_cond_kwargs=added_cond_kwargs,
                            return_dict=return_dict)  # fmt: skip


__all__ = ["EAMModel", "CONDITIONS", "LANDMARK_NAMES", "MEDIAPIPE_FIVE", "eam_conditions", "five_landmarks"]
