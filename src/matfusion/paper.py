"""The numbers the papers report, for printing beside ours (never as ours)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd

TABLES = (
    "extended_benchmarks_mae",
    "matbench_mae",
    "ablation_mae",
    "ecd_cv",
    "ecd_loeo",
    "misc_reported",
)


def table_path(name: str) -> Path:
    """Path of a packaged table of reported numbers."""
    if name not in TABLES:
        raise KeyError(f"unknown table {name!r}; choose one of {TABLES}")
    return Path(str(resources.files("matfusion") / "paper_numbers" / f"{name}.csv"))


@cache
def _load(name: str) -> pd.DataFrame:
    return pd.read_csv(table_path(name))


def reported(name: str) -> pd.DataFrame:
    """A table of reported numbers as a DataFrame (a fresh copy each call)."""
    return _load(name).copy()


def reported_value(item: str) -> str:
    """One quoted figure from ``misc_reported.csv`` by its ``item`` text."""
    table = reported("misc_reported")
    hit = table.loc[table["item"] == item, "value"]
    if hit.empty:
        raise KeyError(f"no reported item {item!r}")
    return str(hit.iloc[0])


def reported_floats(item: str) -> list[float]:
    """A comma-separated reported figure as floats."""
    return [float(v) for v in reported_value(item).split(",")]


#: Columns of ``ablation_mae.csv`` (the paper's Table 2) by the model that reproduces each.
ABLATION_COLUMNS: dict[str, str] = {
    "L-G-DCNN-2B": "DCNN_blocks_2",
    "L-G-DCNN-4B": "DCNN_blocks_4",
    "L-G-DCNN-6B": "DCNN_blocks_6",
    "Model-1": "Model1_onehot",
    "Model-2": "Model2_postprocess_net",
    "Model-3": "Model3_no_residuals",
    "Model-4": "Model4_no_region_residual",
    "Model-5": "Model5_self_attention",
    "Model-6": "Model6_LDCNN",
}


def reported_ablation() -> pd.DataFrame:
    """Table 2 as datasets x our model names (so it lines up with our runs)."""
    table = reported("ablation_mae").set_index("dataset")
    return table[list(ABLATION_COLUMNS.values())].rename(
        columns={v: k for k, v in ABLATION_COLUMNS.items()}
    )
