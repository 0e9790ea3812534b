"""Fine-tuning D_src and G_src into D_style and G_style on stylized pairs (paper 3.4; issue 15)."""
