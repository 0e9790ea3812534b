"""Stylized image pairs (paper 3.2-3.3): source faces, stylizers, landmarks and masks, the pair dataset."""
