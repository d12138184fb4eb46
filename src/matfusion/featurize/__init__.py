"""Featurisation of compositions (see docs/CONTRACTS.md, "Encoding"), and the one Magpie
featurizer of both papers (:mod:`matfusion.featurize.magpie`)."""

from __future__ import annotations

from matfusion.featurize.composition import (
    ELEMENT_ORDERS,
    EncodedCompositions,
    encode_formulas,
    fraction_desc_composition,
    jitter_fractions,
    pad_batch,
)
from matfusion.featurize.magpie import MAGPIE_N_FEATURES, magpie_features, magpie_labels

__all__ = [
    "ELEMENT_ORDERS",
    "MAGPIE_N_FEATURES",
    "EncodedCompositions",
    "encode_formulas",
    "fraction_desc_composition",
    "jitter_fractions",
    "magpie_features",
    "magpie_labels",
    "pad_batch",
]
