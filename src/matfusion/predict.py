"""Predict formulas with a trained checkpoint, one result per input row.

A bad formula must not cost the good ones their predictions: each row is parsed on its own,
failures are reported with their reason, and the valid rows are predicted in one batch.
Each error names the formula and its 1-based position among the inputs
(``formula 2 of 3 ('Qq2O'): unknown element 'Qq'``), so a message copied out of a long
list still says which input it belongs to.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from matfusion.data import ELEMENT_SYMBOLS, ElementTable, FormulaError, element_table
from matfusion.data.formulas import canonical_composition, parse_formula
from matfusion.featurize import encode_formulas
from matfusion.models import encoding_order


def formula_problem(text: object, table: ElementTable) -> str | None:
    """Why ``text`` cannot be predicted with ``table`` (parse error or an element without an
    embedding), or None; checked per formula so one bad input never hides another."""
    try:
        if not isinstance(text, str):
            parse_formula(text)  # always raises, with the reason (missing, not a string)
        zs, _ = canonical_composition(text)
    except FormulaError as err:
        return str(err)
    for z in zs:
        if z > table.n_elements or not table.available[z]:
            return (
                f"element {ELEMENT_SYMBOLS[z - 1]} (Z={z}) has no embedding in the "
                f"{table.name!r} table"
            )
    return None


def predict_formulas(checkpoint: str | Path, formulas: Sequence[str]) -> list[dict[str, Any]]:
    """Return ``[{formula, prediction, uncertainty, error}]`` in input order.

    The checkpoint is checked by :func:`matfusion.train.load_checkpoint`, which raises one
    clear error for a missing, empty or foreign file.
    """
    from matfusion.experiments import load_trained
    from matfusion.train import predict

    model, scaler, meta = load_trained(Path(checkpoint))
    table = element_table(meta["config"]["embedding"])
    rows: list[dict[str, Any]] = []
    good: list[int] = []
    for i, text in enumerate(formulas):
        problem = formula_problem(text, table)
        rows.append(
            {
                "formula": text,
                "prediction": None,
                "uncertainty": None,
                "error": None
                if problem is None
                else f"formula {i + 1} of {len(formulas)} ({text!r}): {problem}",
            }
        )
        if problem is None:
            good.append(i)
    if good:
        encoded = encode_formulas([formulas[i] for i in good], table, order=encoding_order(model))
        mean, std = predict(model, scaler, encoded)
        for i, m, s in zip(good, np.asarray(mean), np.asarray(std), strict=True):
            rows[i]["prediction"] = float(m)
            rows[i]["uncertainty"] = float(s)
    return rows
