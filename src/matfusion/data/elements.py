"""Element embedding tables indexed by atomic number.

CrabNet's CSVs list elements by symbol in file order; models instead index a frozen embedding
by an integer per element. Re-indexing every table by atomic number Z (row 0 = zero padding)
makes the integer codes of :mod:`matfusion.featurize` independent of which table is used, so
one encoded dataset serves mat2vec and one-hot models alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from matfusion.data.crabnet_wheel import crabnet_data_root
from matfusion.data.errors import DataIntegrityError
from matfusion.data.formulas import ELEMENT_SYMBOLS, SYMBOL_TO_Z

__all__ = ["ElementTable", "available_element_tables", "element_table"]


@dataclass(frozen=True, eq=False)
class ElementTable:
    """A frozen per-element feature table; ``vectors[Z]`` is element Z, ``vectors[0]`` zeros.

    ``symbols[Z - 1]`` is the symbol of element Z. ``available[Z]`` says whether the source
    file had a row for Z (rows it lacks stay zero, like padding). Arrays are read-only because
    tables are cached and shared.
    """

    name: str
    symbols: list[str]
    vectors: np.ndarray
    available: np.ndarray

    @property
    def dim(self) -> int:
        """Embedding width (200 for mat2vec, 118 for one-hot)."""
        return int(self.vectors.shape[1])

    @property
    def n_elements(self) -> int:
        """Highest atomic number the table can index."""
        return int(self.vectors.shape[0] - 1)

    def z(self, symbol: str) -> int:
        """Row index (atomic number) of ``symbol``; KeyError if it is not an element."""
        return SYMBOL_TO_Z[symbol]

    def __repr__(self) -> str:
        return (
            f"ElementTable({self.name!r}, dim={self.dim}, "
            f"available={int(self.available.sum())}/{self.n_elements})"
        )


def available_element_tables() -> list[str]:
    """Names of the element tables shipped in the CrabNet wheel (file stems)."""
    folder = crabnet_data_root() / "element_properties"
    return sorted(p.stem for p in folder.glob("*.csv"))


@cache
def element_table(name: str = "mat2vec") -> ElementTable:
    """Load ``element_properties/<name>.csv`` re-indexed by atomic number (cached per name).

    ``mat2vec`` (200-d, the default of paper A) and ``onehot`` (118-d, ablation "Model 1") are
    the two the models use; the other CrabNet tables load the same way.
    """
    path = crabnet_data_root() / "element_properties" / f"{name}.csv"
    if not path.is_file():
        raise KeyError(f"unknown element table {name!r}; available: {available_element_tables()}")
    frame = pd.read_csv(path, index_col=0)
    values = frame.to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise DataIntegrityError(f"{path} has non-finite entries")
    symbols_in_file = [str(s).strip() for s in frame.index]
    unknown = [s for s in symbols_in_file if s not in SYMBOL_TO_Z]
    if unknown:
        raise DataIntegrityError(f"{path} lists unknown element symbols {unknown[:5]}")
    if len(set(symbols_in_file)) != len(symbols_in_file):
        raise DataIntegrityError(f"{path} lists an element twice")

    n_elements = len(ELEMENT_SYMBOLS)
    z = np.array([SYMBOL_TO_Z[s] for s in symbols_in_file], dtype=np.int64)
    vectors = np.zeros((n_elements + 1, values.shape[1]), dtype=np.float32)
    vectors[z] = values
    available = np.zeros(n_elements + 1, dtype=bool)
    available[z] = True
    vectors.setflags(write=False)
    available.setflags(write=False)
    return ElementTable(
        name=name, symbols=list(ELEMENT_SYMBOLS), vectors=vectors, available=available
    )
