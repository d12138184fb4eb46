"""Featurisation of compositions (see docs/CONTRACTS.md, "Encoding")."""

from __future__ import annotations

from matfusion.featurize.composition import (
    ELEMENT_ORDERS,
    EncodedCompositions,
    encode_formulas,
    fraction_desc_composition,
    jitter_fractions,
    pad_batch,
)

__all__ = [
    "ELEMENT_ORDERS",
    "EncodedCompositions",
    "encode_formulas",
    "fraction_desc_composition",
    "jitter_fractions",
    "pad_batch",
]
