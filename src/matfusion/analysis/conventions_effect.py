"""How much each model convention moves CECV on its own, before any training.

Paper A leaves some details open (see :mod:`matfusion.models.conventions`); our first reading
("matfusion-v1") and the authors' code ("authors") fill them differently. CECV is the
paper's feedback signal, so a convention that changes CECV already at random initialisation
changes what the design loop sees regardless of training. This module starts from
"matfusion-v1", switches one convention at a time to the authors' value (then all of them:
"authors") and counts the CECV clusters of freshly initialised models. The same seed gives
every variant the same initial weights wherever the parameter shapes agree, so a change in
the count comes from the convention alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from matfusion.analysis.cecv import Mode, anchor_mask, cecv, model_cecv
from matfusion.featurize import EncodedCompositions, encode_formulas
from matfusion.models import MODELS, Conventions, build_model, get_conventions

__all__ = ["cecv_at_init", "convention_effects_at_init", "convention_variants"]

Rows = Literal["encoding", "atomic_number"]

#: Config keys that do not describe the layers up to the EFM (bookkeeping, and the head,
#: which comes after the EFM layer).
_NOT_BELOW_HEAD = ("conventions", "params", "overrides", "n_parameters", "head")


def convention_variants(
    base: Conventions | str = "matfusion-v1", target: Conventions | str = "authors"
) -> list[tuple[str, Conventions]]:
    """``base``, then ``base`` with each field that ``target`` sets differently switched to
    the target's value (labelled by the field name), then ``target`` itself ("all")."""
    start, goal = get_conventions(base), get_conventions(target)
    variants = [("none", start)]
    for field, (_, value) in start.differences(goal).items():
        if field == "fraction_resolution_overrides":
            value = tuple(value.items())
        variants.append((field, start.replace(**{field: value})))
    variants.append(("all", goal))
    return variants


def _encode(encoded: EncodedCompositions | Sequence[str], conv: Conventions) -> EncodedCompositions:
    """The compounds in the element order the conventions feed their models."""
    if isinstance(encoded, EncodedCompositions):
        return encoded.reordered(conv.element_order)
    return encode_formulas(list(encoded), order=conv.element_order)


def _vectors(model_name: str, element_vectors: np.ndarray | None) -> np.ndarray:
    if element_vectors is not None:
        return element_vectors
    from matfusion.data import element_table

    return element_table(MODELS[model_name].embedding).vectors


def _build(model_name: str, conv: Conventions, vectors: np.ndarray, d_model: int, seed: int):
    torch.manual_seed(seed)
    return build_model(model_name, vectors, d_model=d_model, conventions=conv).eval()


def _anchor_efms(
    model, enc: EncodedCompositions, anchor: str | None
) -> tuple[list[np.ndarray], np.ndarray]:
    """EFMs (default layer) of the compounds containing ``anchor``, and their elements;
    the selection of :func:`~matfusion.analysis.cecv.model_cecv`."""
    keep = np.flatnonzero(anchor_mask(enc.elements, anchor))
    if len(keep) == 0:
        raise ValueError(f"no compound contains {anchor}")
    subset = enc.subset(keep)
    model.eval()
    with torch.inference_mode():
        return model.efm(subset.elements, subset.fractions), subset.elements


def _z_rows(efms: list[np.ndarray], elements: np.ndarray) -> list[np.ndarray]:
    """Each EFM with its rows in ascending-Z order, so that compounds of one chemical system
    compare entry by entry whatever order the model was fed."""
    ordered = []
    for efm, z in zip(efms, elements, strict=True):
        z = z[z != 0]
        if len(z) != len(efm):
            raise ValueError("rows='atomic_number' needs one EFM row per element (no DPCNN)")
        ordered.append(efm[np.argsort(z, kind="stable")])
    return ordered


def cecv_at_init(
    model_name: str,
    conventions: Conventions | str | Mapping[str, Any],
    encoded: EncodedCompositions | Sequence[str],
    anchor: str | None = "Si",
    threshold: float = 0.05,
    seed: int = 0,
    *,
    d_model: int = 512,
    element_vectors: np.ndarray | None = None,
    mode: Mode = "authors",
    rows: Rows = "encoding",
) -> int:
    """CECV(``threshold``) of ``model_name`` built with ``conventions`` and random weights
    (``torch.manual_seed(seed)``), over the compounds of ``encoded`` containing ``anchor``.

    ``encoded``: formulas (encoded here in the conventions' element order, with the authors'
    tie-break) or an :class:`EncodedCompositions` (reordered; ties then follow its current
    order). ``rows="encoding"`` compares EFM rows in the order the model saw them (what
    :func:`~matfusion.analysis.cecv.model_cecv` and the authors' script do);
    ``"atomic_number"`` sorts them by Z first. ``element_vectors`` default: the model's
    registered element table.
    """
    conv = get_conventions(conventions)
    vectors = _vectors(model_name, element_vectors)
    enc = _encode(encoded, conv)
    model = _build(model_name, conv, vectors, d_model, seed)
    if rows == "encoding":
        return model_cecv(model, enc, anchor=anchor, thresholds=(threshold,), mode=mode).counts[0]
    efms, elements = _anchor_efms(model, enc, anchor)
    return cecv(_z_rows(efms, elements), (threshold,), mode).counts[0]


def _below_head(model) -> dict[str, Any]:
    """Settings and parameter shapes of everything before the output head: what the EFM of
    the default layer depends on."""
    cfg = {k: v for k, v in model.config.items() if k not in _NOT_BELOW_HEAD}
    cfg["shapes"] = {
        k: tuple(v.shape) for k, v in model.state_dict().items() if not k.startswith("head.")
    }
    return cfg


def convention_effects_at_init(
    models: Iterable[str] = ("L-G-DCNN-V1", "L-G-DCNN"),
    encoded: EncodedCompositions | Sequence[str] | None = None,
    anchor: str | None = "Si",
    threshold: float = 0.05,
    seed: int = 0,
    *,
    base: Conventions | str = "matfusion-v1",
    target: Conventions | str = "authors",
    d_model: int = 512,
    element_vectors: np.ndarray | None = None,
    mode: Mode = "authors",
) -> pd.DataFrame:
    """One row per (model, variant of :func:`convention_variants`): CECV(``threshold``) at
    random initialisation, with EFM rows as the model saw them (``cecv``) and sorted by Z
    (``cecv_z_rows``), their change from the base variant, and ``reaches_efm``: whether the
    switch changes anything before the output head or the order the model is fed (if not,
    the counts cannot change, by construction: e.g. the gate acts after the EFM layer).

    ``encoded`` is required (formulas or an :class:`EncodedCompositions`), e.g. the test
    split of ``OQMD_Formation_Enthalpy``; the default is None only to keep ``models`` first.
    """
    if encoded is None:
        raise ValueError("encoded is required: formulas or EncodedCompositions to count over")
    variants = convention_variants(base, target)
    rows: list[dict[str, Any]] = []
    for name in models:
        vectors = _vectors(name, element_vectors)
        reference: tuple[dict[str, Any], str] | None = None
        base_counts = (0, 0)
        for switched, conv in variants:
            row: dict[str, Any] = {"model": name, "switched": switched, "conventions": conv.name}
            try:
                model = _build(name, conv, vectors, d_model, seed)
            except ValueError as exc:  # e.g. a skip around a narrowed region conv
                row.update(reaches_efm=True, cecv=None, cecv_z_rows=None, delta=None)
                rows.append({**row, "delta_z_rows": None, "note": str(exc)})
                continue
            enc = _encode(encoded, conv)
            arch = (_below_head(model), conv.element_order)
            efms, elements = _anchor_efms(model, enc, anchor)
            counts = (
                cecv(efms, (threshold,), mode).counts[0],
                cecv(_z_rows(efms, elements), (threshold,), mode).counts[0],
            )
            if reference is None:
                reference, base_counts = arch, counts
            row.update(
                reaches_efm=arch != reference,
                cecv=counts[0],
                cecv_z_rows=counts[1],
                delta=counts[0] - base_counts[0],
                delta_z_rows=counts[1] - base_counts[1],
                note="",
            )
            rows.append(row)
    frame = pd.DataFrame(rows)
    counts = ["cecv", "cecv_z_rows", "delta", "delta_z_rows"]
    frame[counts] = frame[counts].astype("Int64")  # integers, <NA> where a build failed
    frame.attrs.update(
        {"threshold": threshold, "anchor": anchor, "seed": seed, "d_model": d_model, "mode": mode}
    )
    return frame
