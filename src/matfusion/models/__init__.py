"""Composition models of the L-G-DCNN family (paper A) built from shared blocks.

Public entry points: :func:`build_model`, :data:`MODELS`, :func:`list_models` and
:class:`CompositionModel`; see ``docs/CONTRACTS.md``.
"""

from __future__ import annotations

from .blocks import (
    FRACTION_RESOLUTION,
    CompositionEmbedding,
    ConvStack,
    ElementConv,
    ElementMaxPool,
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
from .registry import LOCAL_KINDS, MODELS, ModelSpec, build_model, compose, get_spec, list_models

__all__ = [
    "FRACTION_RESOLUTION",
    "LOCAL_KINDS",
    "MODELS",
    "CompositionEmbedding",
    "CompositionModel",
    "ConvStack",
    "ElementConv",
    "ElementMaxPool",
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
    "build_model",
    "compose",
    "fraction_indices",
    "get_spec",
    "list_models",
    "log_fraction",
    "sinusoid_table",
]
