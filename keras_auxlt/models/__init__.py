"""Backbones, the in-model preprocessing and the AuxLT model."""
