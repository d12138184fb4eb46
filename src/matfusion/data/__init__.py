"""Datasets, formulas, element tables and shared files (see docs/CONTRACTS.md, "Data")."""

from __future__ import annotations

from matfusion.data.crabnet_wheel import CRABNET_SHA256, CRABNET_VERSION, crabnet_data_root
from matfusion.data.elements import ElementTable, available_element_tables, element_table
from matfusion.data.errors import (
    DataIntegrityError,
    DataValidationError,
    FormulaError,
    MissingDataError,
)
from matfusion.data.formulas import (
    ELEMENT_SYMBOLS,
    SYMBOL_TO_Z,
    canonical_composition,
    parse_formula,
    validate_frame,
)
from matfusion.data.registry import (
    DATASETS,
    DatasetInfo,
    dataset_summary,
    get_dataset,
    list_datasets,
    load_split,
    split_path,
    split_sha256,
)
from matfusion.data.shared import SHARED_FILES, SHARED_SHA256, shared_path

__all__ = [
    "CRABNET_SHA256",
    "CRABNET_VERSION",
    "DATASETS",
    "ELEMENT_SYMBOLS",
    "SHARED_FILES",
    "SHARED_SHA256",
    "SYMBOL_TO_Z",
    "DataIntegrityError",
    "DataValidationError",
    "DatasetInfo",
    "ElementTable",
    "FormulaError",
    "MissingDataError",
    "available_element_tables",
    "canonical_composition",
    "crabnet_data_root",
    "dataset_summary",
    "element_table",
    "get_dataset",
    "list_datasets",
    "load_split",
    "parse_formula",
    "shared_path",
    "split_path",
    "split_sha256",
    "validate_frame",
]
