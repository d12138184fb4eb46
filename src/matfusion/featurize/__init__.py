"""Featurisation of compositions (see docs/CONTRACTS.md, "Encoding")."""

from __future__ import annotations

from matfusion.featurize.composition import (
    EncodedCompositions,
    encode_formulas,
    jitter_fractions,
    pad_batch,
)

__all__ = ["EncodedCompositions", "encode_formulas", "jitter_fractions", "pad_batch"]
