"""Spectral problems: the weighted Laplacian −Δ_μ and the lGAN closed forms (paper 004)."""

from __future__ import annotations
