"""Fine-tuning D_src and G_src into D_style and G_style on stylized pairs (paper 3.4): the losses,
the perceptual networks and their offline stand-ins, the three stages, the run."""
