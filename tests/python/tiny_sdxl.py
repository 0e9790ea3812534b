"""Tiny, randomly initialised SDXL-shaped models for the EAS / EAM / f_mask tests.

The same component types and wiring as SDXL (a UNet with ``text_time`` added conditioning,
two CLIP text encoders whose hidden states are concatenated, a pooled projection, a VAE
with 8x downsampling) at a few thousand to a million parameters, built in memory in well
under a second, with a byte-level CLIP tokenizer made offline (no merges, one token per byte).
"""

import torch
from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionXLImg2ImgPipeline, UNet2DConditionModel
from tokenizers.pre_tokenizers import ByteLevel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

TEXT_DIM = 32  # each encoder's hidden size; SDXL's cross-attention sees both: 2 * TEXT_DIM
TIME_DIM = 8  # addition_time_embed_dim; the pooled text (TEXT_DIM) + 6 time ids * TIME_DIM feed add_embedding
IMAGE_SIZE = 64  # px: 8x8 latents


def tiny_unet() -> UNet2DConditionModel:
    return UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=IMAGE_SIZE // 8, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4), use_linear_projection=True, addition_embed_type="text_time",
        addition_time_embed_dim=TIME_DIM, transformer_layers_per_block=(1, 1),
        projection_class_embeddings_input_dim=TEXT_DIM + 6 * TIME_DIM, cross_attention_dim=2 * TEXT_DIM, norm_num_groups=8,
    )  # fmt: skip


def tiny_vae() -> AutoencoderKL:
    return AutoencoderKL(block_out_channels=[8, 8, 8, 8], in_channels=3, out_channels=3, latent_channels=4,
                         down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
                         norm_num_groups=4, layers_per_block=1, sample_size=IMAGE_SIZE)  # fmt: skip


def tiny_tokenizer() -> CLIPTokenizer:
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for char in sorted(ByteLevel.alphabet()):
        vocab[char] = len(vocab)
        vocab[char + "</w>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def tiny_text_config() -> CLIPTextConfig:
    return CLIPTextConfig(bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=TEXT_DIM, intermediate_size=37,
                          num_attention_heads=4, num_hidden_layers=3, vocab_size=514, projection_dim=TEXT_DIM)  # fmt: skip


def sdxl_scheduler() -> DDIMScheduler:
    """DDIM with SDXL's own noise schedule settings (scheduler_config.json of SDXL base)."""
    return DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                         set_alpha_to_one=False, steps_offset=1, timestep_spacing="leading")  # fmt: skip


def tiny_sdxl(seed: int = 0) -> StableDiffusionXLImg2ImgPipeline:
    """All SDXL components, tiny and random, as a pipeline (``save_pretrained`` writes the
    diffusers layout a real SDXL folder has)."""
    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer()
    return StableDiffusionXLImg2ImgPipeline(
        vae=tiny_vae(), text_encoder=CLIPTextModel(tiny_text_config()),
        text_encoder_2=CLIPTextModelWithProjection(tiny_text_config()), tokenizer=tokenizer, tokenizer_2=tokenizer,
        unet=tiny_unet(), scheduler=sdxl_scheduler(),
    )  # fmt: skip


# A tiny attribute embedding: 2x2 -> 4x4 -> 8x8, the tiny UNet's latent size.
TINY_EAM = dict(condition_dim=16, condition_hidden=16, merger_hidden=32, embedding_channels=(32, 16, 16))
