"""Composition models of the L-G-DCNN family (paper A) built from shared blocks.

Public entry points: :func:`build_model`, :data:`MODELS`, :func:`list_models`,
:class:`CompositionModel` and the convention sets (:data:`CONVENTIONS`,
:func:`get_conventions`, :func:`encoding_order`); see ``docs/CONTRACTS.md``.
"""

from __future__ import annotations

from .blocks import (
    FRACTION_RESOLUTION,
    CompositionEmbedding,
    ConvStack,
    ElementConv,
    ElementMaxPool,
    FeatureMaxPool,
    OutputHead,
    PackedRows,
    PostProcessNet,
    Recurrent,
    SelfAttention,
    SeqInfo,
    SoftAttention,
    SumStages,
    fraction_indices,
    log_fraction,
    sinusoid_table,
)
from .composition_model import CompositionModel, Stage
from .conventions import (
    CONVENTIONS,
    DEFAULT_CONVENTIONS,
    LEGACY_CONVENTIONS,
    Conventions,
    encoding_order,
    get_conventions,
)
from .registry import (
    LOCAL_KINDS,
    MODELS,
    ModelSpec,
    build_from_config,
    build_model,
    compose,
    get_spec,
    list_models,
)

__all__ = [
    "CONVENTIONS",
    "DEFAULT_CONVENTIONS",
    "FRACTION_RESOLUTION",
    "LEGACY_CONVENTIONS",
    "LOCAL_KINDS",
    "MODELS",
    "CompositionEmbedding",
    "CompositionModel",
    "ConvStack",
    "Conventions",
    "ElementConv",
    "ElementMaxPool",
    "FeatureMaxPool",
    "ModelSpec",
    "OutputHead",
    "PackedRows",
    "PostProcessNet",
    "Recurrent",
    "SelfAttention",
    "SeqInfo",
    "SoftAttention",
    "Stage",
    "SumStages",
    "build_from_config",
    "build_model",
    "compose",
    "encoding_order",
    "fraction_indices",
    "get_conventions",
    "get_spec",
    "list_models",
    "log_fraction",
    "sinusoid_table",
]
