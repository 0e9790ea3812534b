"""The procedural skin texture family in a model's UV layout (what G_src is trained on)."""

from stylemm.textures.procedural import SkinTextures, TexelMap

__all__ = ["SkinTextures", "TexelMap"]
