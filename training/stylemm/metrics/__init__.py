"""Measures of the networks against known ground truth (texture quality; stylization recovery)."""
