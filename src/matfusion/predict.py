"""Predict formulas with a trained checkpoint, one result per input row.

A bad formula must not cost the good ones their predictions: each row is parsed on its own,
failures are reported with their reason, and the valid rows are predicted in one batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from matfusion.data import FormulaError, element_table
from matfusion.featurize import encode_formulas


def predict_formulas(checkpoint: str | Path, formulas: Sequence[str]) -> list[dict[str, Any]]:
    """Return ``[{formula, prediction, uncertainty, error}]`` in input order."""
    from matfusion.experiments import load_trained
    from matfusion.train import predict

    path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    model, scaler, meta = load_trained(path)
    table = element_table(meta["config"]["embedding"])
    rows: list[dict[str, Any]] = []
    good: list[int] = []
    for i, text in enumerate(formulas):
        row: dict[str, Any] = {
            "formula": text,
            "prediction": None,
            "uncertainty": None,
            "error": None,
        }
        try:
            encode_formulas([text], table)  # parses and checks elements against the table
            good.append(i)
        except FormulaError as err:
            row["error"] = str(err)
        rows.append(row)
    if good:
        encoded = encode_formulas([formulas[i] for i in good], table)
        mean, std = predict(model, scaler, encoded)
        for i, m, s in zip(good, np.asarray(mean), np.asarray(std), strict=True):
            rows[i]["prediction"] = float(m)
            rows[i]["uncertainty"] = float(s)
    return rows
