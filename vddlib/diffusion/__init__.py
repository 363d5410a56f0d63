"""Diffusion: autoencoder and class-conditional Latte training on the train split, and pool generation."""
