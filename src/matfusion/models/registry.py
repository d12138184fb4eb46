"""Registry of the named architectures of paper A (global, local, fusions, ablations).

Every model is assembled by one parametrised builder, :func:`compose`; a registry entry is a
name, a description, a group and the builder arguments. Overrides passed to
:func:`build_model` replace those arguments (e.g. ``n_blocks=4``), so the ablation grid needs
no new classes.

Details the paper leaves open come from a :class:`~.conventions.Conventions` set
(``conventions=``, default ``"authors"``); the set is recorded in the model's config, so
``build_model(config["name"], table, d_model=config["d_model"], **config["params"])`` rebuilds
the same architecture, and a stored ``params`` dict from before conventions existed rebuilds
with ``"matfusion-v1"``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from torch import nn

from matfusion.registry import Registry

from .blocks import (
    CompositionEmbedding,
    ConvStack,
    ElementMaxPool,
    FeatureMaxPool,
    OutputHead,
    PostProcessNet,
    Recurrent,
    SelfAttention,
    SoftAttention,
    SumStages,
    attention_scorer,
)
from .composition_model import CompositionModel, Stage
from .conventions import (
    DEFAULT_CONVENTIONS,
    LEGACY_CONVENTIONS,
    UNMASKED_PADDING_REASON,
    Conventions,
    get_conventions,
)

__all__ = [
    "LOCAL_KINDS",
    "MODELS",
    "ModelSpec",
    "build_from_config",
    "build_model",
    "compose",
    "list_models",
]

ConventionsLike = Conventions | str | Mapping[str, Any]

#: The builder arguments a stored ``params`` dict held before conventions existed; a stored
#: dict with all of them and no ``conventions`` entry is rebuilt with the legacy set.
_PARAMS_BEFORE_CONVENTIONS = frozenset(
    {
        "recurrent",
        "attention",
        "share_attention",
        "heads",
        "local",
        "kernel_size",
        "n_blocks",
        "residual",
        "region_residual",
        "postprocess",
        "v1",
    }
)

Group = Literal["global", "local", "heuristic fusion", "rational design", "ablation"]

#: Local extractors: kernel size, pooling (kernel, stride) between blocks, with depth or not.
LOCAL_KINDS: dict[str, dict[str, Any]] = {
    "dcnn": {"kernel_size": 3, "pool_kernel": 1, "pool_stride": 1, "depth": True},
    "dcnn_k1": {"kernel_size": 1, "pool_kernel": 1, "pool_stride": 1, "depth": True},
    "dpcnn": {"kernel_size": 3, "pool_kernel": 3, "pool_stride": 2, "depth": True},
    "cnn": {"kernel_size": 3, "pool_kernel": 1, "pool_stride": 1, "depth": False},
}


def compose(
    element_vectors: np.ndarray,
    d_model: int = 512,
    *,
    recurrent: tuple[str, ...] | list[str] = (),
    attention: Literal["none", "soft", "self"] = "none",
    share_attention: bool = True,
    heads: int = 4,
    local: str = "none",
    kernel_size: int | None = None,
    n_blocks: int = 2,
    residual: bool = True,
    region_residual: bool = True,
    postprocess: bool = False,
    v1: bool = False,
    conventions: ConventionsLike = DEFAULT_CONVENTIONS,
    name: str = "custom",
    extra_config: dict[str, Any] | None = None,
) -> CompositionModel:
    """Assemble embedding -> recurrent stages (each + attention) -> local extractor -> head.

    ``recurrent``: bidirectional layers in order ("rnn", "lstm", "gru"); ``attention`` after
    each of them (one scorer shared by all when ``share_attention``); ``local``: one of
    :data:`LOCAL_KINDS` or "none"; ``residual`` switches the attention and block residuals,
    ``region_residual`` the region-embedding one (which one that is: see
    :class:`~.blocks.ConvStack`); ``v1`` adds the sum of the recurrent stage outputs and the
    local output, then a max-pool (axis from the conventions); ``postprocess`` adds Model
    2's post-processing net before the head. ``conventions`` settles what the paper leaves
    open; ``name`` picks its per-model fraction resolution.
    """
    conv = get_conventions(conventions)
    if not conv.mask_padding:
        raise ValueError(f"conventions {conv.name!r}: {UNMASKED_PADDING_REASON}")
    if attention not in ("none", "soft", "self"):
        raise ValueError(f"attention must be 'none', 'soft' or 'self', got {attention!r}")
    if attention == "self" and d_model % heads:
        raise ValueError(f"d_model={d_model} is not divisible by heads={heads}")
    if local != "none" and local not in LOCAL_KINDS:
        raise ValueError(f"local must be 'none' or one of {sorted(LOCAL_KINDS)}, got {local!r}")
    embedding = CompositionEmbedding(
        element_vectors,
        d_model,
        resolution=conv.resolution_for(name),
        sinusoid=conv.fraction_sinusoid,
    )
    width = d_model  # of the last stage, which the head reads
    stages: list[Stage] = []
    shared: nn.Module | None = None
    fused: list[str] = []  # outputs that V1 adds up
    for kind in recurrent:
        if any(s.name == kind for s in stages):
            raise ValueError(f"recurrent kind {kind!r} used twice; names must be unique")
        stages.append(Stage(kind, Recurrent(kind, d_model)))
        if attention != "none":
            if shared is None or not share_attention:
                shared = (
                    attention_scorer(d_model)
                    if attention == "soft"
                    else nn.MultiheadAttention(d_model, heads, batch_first=True)
                )
            block: nn.Module = (
                SoftAttention(d_model, residual=residual, scorer=shared)
                if attention == "soft"
                else SelfAttention(d_model, heads, residual=residual, attention=shared)
            )
            stages.append(Stage(f"{kind}_attention", block))
        fused.append(stages[-1].name)
    if local != "none":
        settings = dict(LOCAL_KINDS[local])
        if kernel_size is not None:
            settings["kernel_size"] = kernel_size
        stack = ConvStack(
            d_model,
            n_blocks=n_blocks,
            residual=residual,
            region_residual=region_residual,
            kind=local,
            width=conv.dcnn_k1_width if local == "dcnn_k1" else None,
            region_skip=conv.region_skip,
            **settings,
        )
        width = stack.width
        stages.append(Stage(local, stack))
        fused.append(local)
    if v1:
        if len(fused) < 2:
            raise ValueError("v1 needs at least two stages to add up")
        stages.append(Stage("sum", SumStages(), tuple(fused)))
        pool = ElementMaxPool(3) if conv.v1_pool_axis == "elements" else FeatureMaxPool(3)
        stages.append(Stage("maxpool", pool))
    if postprocess:
        stages.append(Stage("postprocess", PostProcessNet(width)))
    if not stages:
        raise ValueError("a model needs at least one stage (recurrent or local)")
    config = {**(extra_config or {}), "conventions": conv.to_dict()}
    model = CompositionModel(
        embedding, stages, OutputHead(width, gate=conv.gate), name=name, config=config
    )
    model.conventions = conv
    return model


_COMPOSE_PARAMS = [
    p
    for p in inspect.signature(compose).parameters
    if p not in ("element_vectors", "d_model", "name", "extra_config")
]


def _resolve_conventions(conventions: ConventionsLike | None, overrides: Mapping[str, Any]):
    """Explicit conventions win; else a full stored pre-conventions ``params`` dict means the
    legacy set (old checkpoints keep their architecture); else the default set."""
    if conventions is not None:
        return get_conventions(conventions)
    if _PARAMS_BEFORE_CONVENTIONS.issubset(overrides):
        return get_conventions(LEGACY_CONVENTIONS)
    return get_conventions(DEFAULT_CONVENTIONS)


@dataclass(frozen=True)
class ModelSpec:
    """A registered architecture: builder arguments plus what the book and trainer show/need.

    ``embedding`` names the element table the trainer must load ("mat2vec" or "onehot").
    ``same_as`` names another registered model with the identical architecture (the paper
    gives some ablation variants their own names): runs of this name reuse that model's runs
    instead of training the same network twice.
    """

    name: str
    description: str
    group: Group
    params: dict[str, Any] = field(default_factory=dict)
    embedding: Literal["mat2vec", "onehot"] = "mat2vec"
    same_as: str | None = None

    def build(
        self,
        element_vectors: np.ndarray,
        d_model: int = 512,
        *,
        conventions: ConventionsLike | None = None,
        **overrides: Any,
    ) -> CompositionModel:
        """The model with ``overrides`` replacing registered builder arguments.

        ``conventions`` None means :data:`~.conventions.DEFAULT_CONVENTIONS`, except for a
        stored pre-conventions ``params`` dict (see :func:`_resolve_conventions`).
        """
        conventions = overrides.pop("conventions", None) if conventions is None else conventions
        unknown = sorted(set(overrides) - set(_COMPOSE_PARAMS))
        if unknown:
            raise TypeError(
                f"unknown override(s) {unknown} for {self.name}; allowed: {_COMPOSE_PARAMS}"
            )
        conv = _resolve_conventions(conventions, overrides)
        params = {**self.params, **overrides, "conventions": conv}
        resolved = {
            p: params.get(p, inspect.signature(compose).parameters[p].default)
            for p in _COMPOSE_PARAMS
        }
        resolved["recurrent"] = list(resolved["recurrent"])
        resolved["conventions"] = conv.to_dict()
        extra = {
            "description": self.description,
            "group": self.group,
            "embedding": self.embedding,
            "params": resolved,
            "overrides": dict(overrides),
        }
        return compose(element_vectors, d_model, name=self.name, extra_config=extra, **params)


_LG = {"recurrent": ("lstm", "gru"), "attention": "soft", "local": "dcnn"}

_SPECS = [
    ModelSpec("RNN", "Bidirectional plain RNN (global extractor).", "global",
              {"recurrent": ("rnn",)}),
    ModelSpec("LSTM", "Bidirectional LSTM: the global reference model.", "global",
              {"recurrent": ("lstm",)}),
    ModelSpec("GRU", "Bidirectional GRU (global extractor).", "global",
              {"recurrent": ("gru",)}),
    ModelSpec("DCNN", "Deep CNN, kernel 3, 1 + 2 residual blocks, no down-sampling.", "local",
              {"local": "dcnn"}),
    ModelSpec("DCNN-K1", "DCNN with kernel 1: sees one element at a time (local reference).",
              "local", {"local": "dcnn_k1"}),
    ModelSpec("DPCNN", "Deep pyramid CNN: max-pool k3 s2 down-samples between blocks.",
              "local", {"local": "dpcnn"}),
    ModelSpec("CNN", "One Conv1d k3 layer, no depth.", "local",
              {"local": "cnn", "region_residual": False}),
    ModelSpec("LDCNN", "LSTM then DCNN (heuristic fusion, the starting point).",
              "heuristic fusion", {"recurrent": ("lstm",), "local": "dcnn"}),
    ModelSpec("LDPCNN", "LSTM then DPCNN (heuristic fusion).", "heuristic fusion",
              {"recurrent": ("lstm",), "local": "dpcnn"}),
    ModelSpec("LCNN", "LSTM then one Conv1d k3 layer (heuristic fusion).", "heuristic fusion",
              {"recurrent": ("lstm",), "local": "cnn", "region_residual": False}),
    ModelSpec("L-ATT-RES-DCNN", "Rational design 1: LSTM + soft attention + residual -> DCNN.",
              "rational design", {"recurrent": ("lstm",), "attention": "soft", "local": "dcnn"}),
    ModelSpec("L-G-DCNN", "Rational design 2 (paper default): LSTM+ATT -> GRU+ATT (shared "
              "scorer) -> DCNN.", "rational design", dict(_LG)),
    ModelSpec("L-G-DCNN-V1", "Rational design 3: L-G-DCNN, then LSTM + GRU + DCNN outputs "
              "summed and max-pooled over elements (k3 s1).", "rational design",
              {**_LG, "v1": True}),
    ModelSpec("L-G-DCNN-V2", "L-G-DCNN with multi-head self-attention instead of soft "
              "attention.", "rational design", {**_LG, "attention": "self"}),
    ModelSpec("L-G-DCNN-2B", "L-G-DCNN with 2 extra DCNN blocks (the default; ablation "
              "reference).", "ablation", {**_LG, "n_blocks": 2}, same_as="L-G-DCNN"),
    ModelSpec("L-G-DCNN-4B", "L-G-DCNN with 4 extra DCNN blocks.", "ablation",
              {**_LG, "n_blocks": 4}),
    ModelSpec("L-G-DCNN-6B", "L-G-DCNN with 6 extra DCNN blocks.", "ablation",
              {**_LG, "n_blocks": 6}),
    ModelSpec("Model-1", "Ablation 1: L-G-DCNN on a one-hot element embedding.", "ablation",
              dict(_LG), embedding="onehot"),
    ModelSpec("L-G-DCNN-onehot", "L-G-DCNN on a one-hot element embedding: Figure 4's name "
              "for ablation Model 1 (= Model-1).", "ablation", dict(_LG), embedding="onehot",
              same_as="Model-1"),
    ModelSpec("Model-2", "Ablation 2: L-G-DCNN plus a post-processing net (4 residual "
              "Linear + LeakyReLU).", "ablation", {**_LG, "postprocess": True}),
    ModelSpec("Model-3", "Ablation 3: L-G-DCNN without any residual connection.", "ablation",
              {**_LG, "residual": False, "region_residual": False}),
    ModelSpec("Model-4", "Ablation 4: L-G-DCNN without the region-embedding residual.",
              "ablation", {**_LG, "region_residual": False}),
    ModelSpec("Model-5", "Ablation 5: soft attention replaced by self-attention (= V2).",
              "ablation", {**_LG, "attention": "self"}, same_as="L-G-DCNN-V2"),
    ModelSpec("Model-6", "Ablation 6: no attention, no GRU (= LDCNN).", "ablation",
              {"recurrent": ("lstm",), "local": "dcnn"}, same_as="LDCNN"),
]  # fmt: skip

#: Every registered architecture, by name (registration order = the paper's order).
MODELS: Registry[ModelSpec] = Registry.named("model", _SPECS)


def list_models() -> list[str]:
    """Registered model names in registration order."""
    return MODELS.names()


def get_spec(name: str) -> ModelSpec:
    """The spec of ``name``; an unknown name is one line with close matches."""
    return MODELS[name]


def build_model(
    name: str,
    element_vectors: np.ndarray,
    *,
    d_model: int = 512,
    conventions: ConventionsLike | None = None,
    **overrides: Any,
) -> CompositionModel:
    """Build the registered model ``name`` on an element table ``(n + 1, dim)`` (row 0 = pad).

    ``conventions``: a :class:`~.conventions.Conventions`, a registered name or a stored
    dict; None means ``"authors"`` (:data:`~.conventions.DEFAULT_CONVENTIONS`), except when
    ``overrides`` is a complete ``params`` dict stored before conventions existed, which
    rebuilds with ``"matfusion-v1"`` so old checkpoints keep their architecture.
    ``overrides`` replace the registered builder arguments of :func:`compose` (e.g.
    ``n_blocks=4``, ``attention="self"``, ``kernel_size=5``).
    """
    return get_spec(name).build(element_vectors, d_model, conventions=conventions, **overrides)


def build_from_config(config: Mapping[str, Any], element_vectors: np.ndarray) -> CompositionModel:
    """Rebuild a registered model from its stored ``config`` (as in checkpoints).

    A config without conventions was written before they existed and means
    ``"matfusion-v1"``, whatever the current default is.
    """
    params = dict(config.get("params", {}))
    conventions = params.pop("conventions", None) or config.get("conventions") or LEGACY_CONVENTIONS
    return build_model(
        config["name"],
        element_vectors,
        d_model=config["d_model"],
        conventions=conventions,
        **params,
    )
