"""G: the UV texture generator (StyleGAN2, Karras et al. 2020) and its discriminator.

Written in plain torch ops so that it trains on a CPU and exports to ONNX: modulation and
demodulation scale the activations around one shared convolution (StyleGAN2's unfused
form, which keeps the batch dimension free), upsampling is bilinear, and per-layer noise
can be frozen into buffers for a deterministic export. The output has the 2:1 aspect of
the UV layout: a 4 x 8 constant doubled ``log2(height / 4)`` times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from stylemm.nets.base import Network

GAIN = math.sqrt(2)  # keeps the activations' scale through leaky ReLUs (StyleGAN's habit)


@dataclass
class TextureGeneratorConfig:
    height: int = 128  # output texture height; the width is twice this
    z_dim: int = 256
    w_dim: int = 256
    mapping_layers: int = 8
    channel_base: int = 1024  # channels at height r: min(channel_base // r, channel_max)
    channel_max: int = 128

    def __post_init__(self):
        if self.height < 4 or self.height & (self.height - 1):
            raise ValueError(f"height must be a power of two >= 4, got {self.height}")

    @property
    def width(self) -> int:
        return 2 * self.height

    def heights(self) -> list[int]:
        return [2**k for k in range(2, int(math.log2(self.height)) + 1)]

    def channels(self, height: int) -> int:
        return max(1, min(self.channel_base // height, self.channel_max))


class EqualLinear(nn.Module):
    """A linear layer with the weight scaled at run time (equalized learning rate)."""

    def __init__(self, fan_in: int, fan_out: int, bias_init: float = 0.0, lr_mul: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(fan_out, fan_in) / lr_mul)
        self.bias = nn.Parameter(torch.full((fan_out,), bias_init / lr_mul))
        self.scale, self.lr_mul = lr_mul / math.sqrt(fan_in), lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class EqualConv(nn.Module):
    """A convolution with equalized learning rate (the discriminator's layers)."""

    def __init__(self, cin: int, cout: int, kernel: int, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.scale = 1 / math.sqrt(cin * kernel * kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.weight.shape[-1] // 2)


class MappingNetwork(nn.Module):
    """z -> w through an MLP at 1/100 learning rate; tracks the mean w for truncation."""

    def __init__(self, config: TextureGeneratorConfig):
        super().__init__()
        dims = [config.z_dim] + [config.w_dim] * config.mapping_layers
        self.layers = nn.ModuleList(EqualLinear(a, b, lr_mul=0.01) for a, b in zip(dims[:-1], dims[1:]))
        self.register_buffer("w_avg", torch.zeros(config.w_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = z * torch.rsqrt(z.square().mean(1, keepdim=True) + 1e-8)
        for layer in self.layers:
            x = F.leaky_relu(layer(x), 0.2) * GAIN
        if self.training:  # the centre that truncation pulls towards
            with torch.no_grad():
                self.w_avg.lerp_(x.mean(0), 0.005)
        return x


class ModulatedConv(nn.Module):
    """A convolution whose input channels are scaled by a style from w, then demodulated."""

    def __init__(self, cin: int, cout: int, kernel: int, w_dim: int, demodulate: bool = True):
        super().__init__()
        self.affine = EqualLinear(w_dim, cin, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.scale, self.demodulate = 1 / math.sqrt(cin * kernel * kernel), demodulate

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        style = self.affine(w)  # (B, cin)
        weight = self.weight * self.scale
        x = F.conv2d(x * style[:, :, None, None], weight, padding=weight.shape[-1] // 2)
        if self.demodulate:  # the output's expected scale, as if the style were in the weight
            norm = torch.rsqrt(style.square() @ weight.square().sum([2, 3]).T + 1e-8)  # (B, cout)
            x = x * norm[:, :, None, None]
        return x


class StyledLayer(nn.Module):
    """Modulated 3x3 conv + per-pixel noise + bias + leaky ReLU, optionally upsampling first."""

    def __init__(self, cin: int, cout: int, w_dim: int, height: int, up: bool):
        super().__init__()
        self.conv, self.up = ModulatedConv(cin, cout, 3, w_dim), up
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.register_buffer("noise_const", torch.randn(1, 1, height, 2 * height))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: str) -> torch.Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = self.conv(x, w)
        if noise == "random":
            x = x + torch.randn(x.shape[0], 1, *x.shape[2:], device=x.device) * self.noise_strength
        elif noise == "const":
            x = x + self.noise_const * self.noise_strength
        return F.leaky_relu(x + self.bias[:, None, None], 0.2) * GAIN


class ToRGB(nn.Module):
    def __init__(self, cin: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv(cin, 3, 1, w_dim, demodulate=False)
        with torch.no_grad():  # start near the mean texture instead of under coloured blobs
            self.conv.weight.mul_(0.1)
        self.bias = nn.Parameter(torch.zeros(3))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias[:, None, None]


class TextureGenerator(Network):
    """``forward(z (B, z_dim)) -> (B, 3, H, 2H)`` in about [-1, 1]; ``texture(z)`` in [0, 1]."""

    NOISE_MODES = ("random", "const", "none")
    config_class = TextureGeneratorConfig
    train_command = "stylemm-pretrain texture-generator"

    def __init__(self, config: TextureGeneratorConfig):
        super().__init__()
        self.config = config
        self.mapping = MappingNetwork(config)
        heights = config.heights()
        self.const = nn.Parameter(torch.randn(config.channels(4), 4, 8))
        layers, to_rgb = [StyledLayer(config.channels(4), config.channels(4), config.w_dim, 4, up=False)], []
        to_rgb.append(ToRGB(config.channels(4), config.w_dim))
        for h in heights[1:]:
            cin, cout = config.channels(h // 2), config.channels(h)
            layers += [StyledLayer(cin, cout, config.w_dim, h, up=True), StyledLayer(cout, cout, config.w_dim, h, up=False)]
            to_rgb.append(ToRGB(cout, config.w_dim))
        self.layers, self.to_rgb = nn.ModuleList(layers), nn.ModuleList(to_rgb)
        # The training family's mean texture: the layout is fixed, so G models the deviations
        # from it and its capacity goes to tone and detail, not to finding where the lips are.
        self.register_buffer("mean_texture", torch.zeros(3, config.height, config.width))

    def synthesis(self, w: torch.Tensor, noise: str = "random") -> torch.Tensor:
        """w (B, w_dim) -> image; every layer gets the same w (no style mixing at inference)."""
        if noise not in self.NOISE_MODES:
            raise ValueError(f"noise must be one of {self.NOISE_MODES}, got {noise!r}")
        x = self.const.expand(w.shape[0], -1, -1, -1)  # shape[0], not len(): stays dynamic in ONNX
        x = self.layers[0](x, w, noise)
        image = self.to_rgb[0](x, w)
        for k, to_rgb in enumerate(self.to_rgb[1:]):
            x = self.layers[1 + 2 * k](x, w, noise)
            x = self.layers[2 + 2 * k](x, w, noise)
            image = F.interpolate(image, scale_factor=2, mode="bilinear", align_corners=False) + to_rgb(x, w)
        return image + self.mean_texture

    def forward(self, z: torch.Tensor, truncation: float = 1.0, noise: str = "random") -> torch.Tensor:
        _check_latent(z, self.config.z_dim)
        w = self.mapping(z)
        if truncation != 1.0:
            w = self.mapping.w_avg.lerp(w, truncation)
        return self.synthesis(w, noise)

    def texture(self, z: torch.Tensor, truncation: float = 1.0, noise: str = "const") -> torch.Tensor:
        """Textures (B, 3, H, 2H) in [0, 1], the form the renderer samples."""
        return (self(z, truncation, noise) * 0.5 + 0.5).clamp(0, 1)


def _check_latent(z: torch.Tensor, z_dim: int) -> None:
    if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[1] != z_dim:
        raise ValueError(f"z must be a tensor of shape (batch, {z_dim}), got {getattr(z, 'shape', type(z).__name__)}")
    if not torch.isfinite(z).all():
        raise ValueError("z contains NaN or Inf; pass finite latents, e.g. torch.randn(batch, z_dim)")


class DiscriminatorBlock(nn.Module):
    """Two 3x3 convs and a 2x downsample, with a 1x1 residual path (StyleGAN2's resnet D)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1, self.conv2 = EqualConv(cin, cin, 3), EqualConv(cin, cout, 3)
        self.skip = EqualConv(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.skip(F.avg_pool2d(x, 2))
        x = F.leaky_relu(self.conv1(x), 0.2) * GAIN
        x = F.leaky_relu(self.conv2(F.avg_pool2d(x, 2)), 0.2) * GAIN
        return (x + skip) / math.sqrt(2)


class Discriminator(nn.Module):
    """Image (B, 3, H, 2H) -> realness logit (B,), with minibatch standard deviation."""

    def __init__(self, config: TextureGeneratorConfig, group: int = 4):
        super().__init__()
        heights = config.heights()[::-1]  # H, H/2, ..., 4
        self.from_rgb = EqualConv(3, config.channels(heights[0]), 1)
        self.blocks = nn.Sequential(*(DiscriminatorBlock(config.channels(h), config.channels(h // 2)) for h in heights[:-1]))
        c = config.channels(4)
        self.group = group
        self.conv = EqualConv(c + 1, c, 3)
        self.fc = EqualLinear(c * 4 * 8, c)
        self.out = EqualLinear(c, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.from_rgb(image), 0.2) * GAIN
        x = self.blocks(x)
        x = torch.cat([x, self._batch_std(x)], 1)
        x = F.leaky_relu(self.conv(x), 0.2) * GAIN
        x = F.leaky_relu(self.fc(x.flatten(1)), 0.2) * GAIN
        return self.out(x)[:, 0]

    def _batch_std(self, x: torch.Tensor) -> torch.Tensor:
        """One extra channel: how much the samples of a group differ (fights mode collapse)."""
        b, c, h, w = x.shape
        g = math.gcd(self.group, b)
        std = x.view(g, b // g, c, h, w).var(0, unbiased=False).add(1e-8).sqrt().mean([1, 2, 3])  # (b // g,)
        return std.repeat(g)[:, None, None, None].expand(b, 1, h, w)

