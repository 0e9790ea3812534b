"""Pre-training the source networks on the source model: D_src by distillation (deformer), G_src as a GAN (texture_generator)."""
