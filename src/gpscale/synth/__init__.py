"""Synthetic England: published-layout files, a group registry and the ground truth behind them."""

from gpscale.synth.generate import SynthResult, generate

__all__ = ["SynthResult", "generate"]
