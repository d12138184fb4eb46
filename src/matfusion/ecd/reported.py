"""Paper B's reported figures, read from the packaged paper tables (:mod:`matfusion.paper`)
in the shape the chapters compare with. No number is typed in here; only the name of the
model behind the external validation comes from the paper's text."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from matfusion.paper import reported, reported_value

__all__ = [
    "EXTERNAL_ITEM",
    "EXTERNAL_MODEL",
    "external_comparison",
    "external_validation",
    "loeo_size_mismatches",
]

#: The ``misc_reported.csv`` item holding the paper's external DFT validation (its Sec. 3.4).
EXTERNAL_ITEM = "ECD external DFT validation bulk"
#: The model behind that figure: the paper applies "the trained fusion model" (Sec. 3.4).
EXTERNAL_MODEL = "Fusion(Magpie+ECD)"


def _number(pattern: str, text: str) -> float:
    hit = re.search(pattern, text)
    if hit is None:
        raise ValueError(f"no match for {pattern!r} in the reported figure {text!r}")
    return float(hit.group(1))


def external_validation(item: str = EXTERNAL_ITEM) -> dict[str, Any]:
    """The paper's external validation as numbers: target, model, R2, RMSE (GPa), the number
    of structures and where they come from, parsed from ``misc_reported.csv``."""
    text = reported_value(item)
    where = re.search(r"on\s+(\d+)\s+(.+?)\s*(?:materials|structures)?\s*$", text)
    if where is None:
        raise ValueError(f"no structure count in the reported figure {text!r}")
    return {
        "target": item.rsplit(" ", 1)[-1],
        "model": EXTERNAL_MODEL,
        "R2": _number(r"R2\s*=\s*(-?[\d.]+)", text),
        "RMSE_GPa": _number(r"RMSE\s*=\s*(-?[\d.]+)", text),
        "n": int(where.group(1)),
        "set": where.group(2),
    }


def loeo_size_mismatches(table: pd.DataFrame | None = None) -> tuple[pd.DataFrame, int]:
    """Rows of the paper's LOEO sizes (its Table 1; ``ecd_loeo.csv`` by default) whose train
    and test sizes do not add up to the total most rows add up to.

    Returns the odd rows (element, train_size, test_size, sum) and that common total."""
    if table is None:
        table = reported("ecd_loeo")
    sizes = table.drop_duplicates("element")[["element", "train_size", "test_size"]].copy()
    sizes["sum"] = sizes["train_size"] + sizes["test_size"]
    total = int(sizes["sum"].mode().iloc[0])
    return sizes[sizes["sum"] != total].reset_index(drop=True), total


def external_comparison(ours: pd.DataFrame, paper: dict[str, Any] | None = None) -> pd.DataFrame:
    """Our external-set metrics (columns target, model, R2, RMSE_GPa, n) beside the paper's
    (:func:`external_validation`), with ours minus the paper's.

    The paper gives one figure, for one model and target: it stands on our row of that model
    where we ran it, otherwise beside each of our models for that target; other rows have no
    paper value (NaN)."""
    paper = paper or external_validation()
    table = ours.set_index(["target", "model"])
    targets = table.index.get_level_values("target")
    models = table.index.get_level_values("model")
    rows = targets == paper["target"]
    if paper["model"] in set(models[rows]):
        rows &= models == paper["model"]
    out = {}
    for name, column in (("R2", "R2"), ("RMSE (GPa)", "RMSE_GPa")):
        reported_col = pd.Series(paper[column], index=table.index).where(rows)
        out[name] = pd.DataFrame(
            {
                "ours": table[column],
                "paper": reported_col,
                "difference": table[column] - reported_col,
            }
        )
    out["structures"] = pd.DataFrame(
        {"ours": table["n"], "paper": pd.Series(paper["n"], index=table.index).where(rows)}
    ).astype({"ours": int, "paper": "Int64"})
    return pd.concat(out, axis=1)
