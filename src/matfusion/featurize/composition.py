"""Compositions as padded integer/fraction arrays, the input of every composition model.

A compound becomes a short sequence: atomic numbers and atomic fractions (summing to 1),
padded with element 0 / fraction 0 to the longest compound of the set. The element order is
a model convention (recurrent layers see it): ``"atomic_number"`` (ascending Z, canonical, so
one chemical system always compares entry by entry) or ``"fraction_desc"`` (the authors'
loader: descending amount, equal amounts in order of first appearance in the formula); a
model's :func:`matfusion.models.encoding_order` says which one it was trained on. Parsing is cached per unique formula (shared
with :func:`matfusion.data.validate_frame`), and the arrays are filled in one vectorised
scatter rather than per-element Python loops, so encoding a 240k-row OQMD split is cheap once
it has been validated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Literal

import numpy as np
import torch

from matfusion.data.elements import ElementTable
from matfusion.data.errors import FormulaError
from matfusion.data.formulas import (
    ELEMENT_SYMBOLS,
    SYMBOL_TO_Z,
    canonical_composition,
    parse_formula,
)

__all__ = [
    "ELEMENT_ORDERS",
    "EncodedCompositions",
    "encode_formulas",
    "fraction_desc_composition",
    "jitter_fractions",
    "pad_batch",
]

ElementOrder = Literal["atomic_number", "fraction_desc"]
ELEMENT_ORDERS: tuple[str, ...] = ("atomic_number", "fraction_desc")


@lru_cache(maxsize=1 << 19)
def fraction_desc_composition(text: str) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """(atomic numbers, atomic fractions) by descending amount, cached per formula.

    Ties keep the order of first appearance in the formula (brackets expanded in place),
    as the authors' loader does: it sorts the parsed amounts with Python's stable
    ``sorted(key=-amount)``. So "SrTiO3" gives O, Sr, Ti and "TiSrO3" gives O, Ti, Sr.
    """
    amounts = parse_formula(text)  # insertion order = first appearance in the formula
    items = sorted(amounts.items(), key=lambda kv: -kv[1])
    total = math.fsum(amounts.values())
    return tuple(SYMBOL_TO_Z[s] for s, _ in items), tuple(a / total for _, a in items)


@dataclass(frozen=True, eq=False)
class EncodedCompositions:
    """``elements`` int64 (N, L) atomic numbers, ``fractions`` float32 (N, L); 0 = padding."""

    elements: np.ndarray
    fractions: np.ndarray

    def __post_init__(self) -> None:
        if self.elements.shape != self.fractions.shape or self.elements.ndim != 2:
            raise ValueError(
                f"elements {self.elements.shape} and fractions {self.fractions.shape} must "
                "be 2-D arrays of the same shape"
            )

    def __len__(self) -> int:
        return int(self.elements.shape[0])

    @property
    def lengths(self) -> np.ndarray:
        """Number of elements in each compound."""
        return (self.elements != 0).sum(axis=1)

    def subset(self, indices: Sequence[int] | np.ndarray) -> EncodedCompositions:
        """Rows ``indices`` (any integer/bool index), trimmed to the subset's longest row."""
        idx = np.asarray(indices)
        elements, fractions = pad_batch(self.elements[idx], self.fractions[idx])
        return EncodedCompositions(np.ascontiguousarray(elements), np.ascontiguousarray(fractions))

    def reordered(self, order: ElementOrder) -> EncodedCompositions:
        """The same compounds with their elements in ``order``, padding kept at the end.

        ``"atomic_number"`` is exact. ``"fraction_desc"`` breaks ties by the current order
        (ascending Z for a canonical encoding), not by the formula text as the authors'
        loader does: encode the formulas with ``order="fraction_desc"`` for that.
        """
        if order not in ELEMENT_ORDERS:
            raise ValueError(f"order must be one of {ELEMENT_ORDERS}, got {order!r}")
        pad = self.elements == 0
        if order == "atomic_number":
            key = np.where(pad, np.iinfo(np.int64).max, self.elements)
            perm = np.argsort(key, axis=1, kind="stable")
        else:
            key = np.where(pad, np.inf, -self.fractions.astype(np.float64))
            perm = np.argsort(key, axis=1, kind="stable")
        return EncodedCompositions(
            np.take_along_axis(self.elements, perm, axis=1),
            np.take_along_axis(self.fractions, perm, axis=1),
        )


def encode_formulas(
    formulas: Sequence[str],
    table: ElementTable | None = None,
    *,
    order: ElementOrder = "atomic_number",
) -> EncodedCompositions:
    """Encode formulas as (atomic numbers, atomic fractions), padded, elements in ``order``
    (``"atomic_number"``: ascending Z; ``"fraction_desc"``: see
    :func:`fraction_desc_composition`).

    Raises :class:`FormulaError` naming the first bad row, or the first element that ``table``
    (if given) has no embedding for, so a model never silently sees a zero vector.
    """
    if order not in ELEMENT_ORDERS:
        raise ValueError(f"order must be one of {ELEMENT_ORDERS}, got {order!r}")
    to_sequence = canonical_composition if order == "atomic_number" else fraction_desc_composition
    comps: list[tuple[tuple[int, ...], tuple[float, ...]]] = []
    for row, text in enumerate(formulas):
        try:
            if not isinstance(text, str):
                parse_formula(text)  # always raises, with the reason (missing, not a string)
            comps.append(to_sequence(text))
        except FormulaError as exc:
            raise FormulaError(f"row {row} ({text!r}): {exc}") from None

    n = len(comps)
    lengths = np.fromiter((len(z) for z, _ in comps), dtype=np.int64, count=n)
    width = int(lengths.max()) if n else 0
    total = int(lengths.sum())
    zs = np.fromiter(chain.from_iterable(z for z, _ in comps), dtype=np.int64, count=total)
    fr = np.fromiter(chain.from_iterable(f for _, f in comps), dtype=np.float64, count=total)
    rows = np.repeat(np.arange(n), lengths)
    starts = np.cumsum(lengths) - lengths
    cols = np.arange(total) - np.repeat(starts, lengths)

    elements = np.zeros((n, width), dtype=np.int64)
    fractions = np.zeros((n, width), dtype=np.float32)
    elements[rows, cols] = zs
    fractions[rows, cols] = fr

    if table is not None and total:
        ok = (zs <= table.n_elements) & table.available[np.minimum(zs, table.n_elements)]
        if not ok.all():
            first = int(np.flatnonzero(~ok)[0])
            z, row = int(zs[first]), int(rows[first])
            raise FormulaError(
                f"row {row} ({formulas[row]!r}): element {ELEMENT_SYMBOLS[z - 1]} (Z={z}) "
                f"has no embedding in the {table.name!r} table"
            )
    return EncodedCompositions(elements, fractions)


def pad_batch(elements, fractions):  # noqa: ANN001, ANN201 - numpy arrays or torch tensors
    """Trim a batch (numpy or torch, shape (B, L)) to its longest row, for speed.

    Padding is always at the end of a row, so the first ``max(n_elements)`` columns hold
    every real element.
    """
    if elements.shape[0] == 0:
        return elements, fractions
    width = max(int((elements != 0).sum(1).max()), 1)
    return elements[:, :width], fractions[:, :width]


def jitter_fractions(
    fractions: torch.Tensor, sigma: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Training-time noise on compositions: ``x * (1 + sigma * N(0, 1))``, clamped to [0, 1],
    padding (fraction 0) kept at 0, each row renormalised to sum 1.

    A row whose entries would all clamp to 0 keeps its original fractions. Deterministic for a
    seeded ``generator`` (which must live on the tensor's device).
    """
    real = fractions > 0
    noise = torch.randn(
        fractions.shape, generator=generator, device=fractions.device, dtype=fractions.dtype
    )
    out = (fractions * (1 + sigma * noise)).clamp(0.0, 1.0) * real
    total = out.sum(dim=-1, keepdim=True)
    return torch.where(total > 0, out / total.clamp_min(torch.finfo(out.dtype).tiny), fractions)
