"""Paper B's dataset: merge priority, VRH from tensors, filtering and LOEO splits."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Lattice, Structure

from matfusion.ecd.data import (
    StructureFilter,
    apply_filter,
    drop_bad_moduli,
    element_counts,
    loeo_elements,
    loeo_split,
    merge_sources,
    vrh_from_tensor,
)


def _cubic_tensor(c11: float, c12: float, c44: float) -> np.ndarray:
    c = np.zeros((6, 6))
    c[:3, :3] = c12
    np.fill_diagonal(c[:3, :3], c11)
    c[3, 3] = c[4, 4] = c[5, 5] = c44
    return c


def _rocksalt(a: float, species=("Na", "Cl")) -> str:
    s = Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), list(species), [[0, 0, 0], [0.5] * 3])
    return json.dumps(s.get_primitive_structure().as_dict())


def _rows(source: str, ids, k, g, formula="NaCl", structure=None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "mp_id": ids,
            "formula": formula,
            "structure_json": structure or _rocksalt(5.6),
            "bulk_modulus": k,
            "shear_modulus": g,
            "source": source,
        }
    )


def test_vrh_of_cubic_tensor_matches_closed_form() -> None:
    c11, c12, c44 = 250.0, 100.0, 80.0
    k, g = vrh_from_tensor(np.stack([_cubic_tensor(c11, c12, c44)]))
    # cubic: K_V = K_R = (C11 + 2 C12)/3; G_V = (C11 - C12 + 3 C44)/5;
    # G_R = 5 (C11 - C12) C44 / (4 C44 + 3 (C11 - C12))
    g_v = (c11 - c12 + 3 * c44) / 5
    g_r = 5 * (c11 - c12) * c44 / (4 * c44 + 3 * (c11 - c12))
    assert k[0] == pytest.approx((c11 + 2 * c12) / 3)
    assert g[0] == pytest.approx((g_v + g_r) / 2)


def test_vrh_singular_tensor_gives_nan_not_error() -> None:
    k, g = vrh_from_tensor(np.zeros((1, 6, 6)))
    assert np.isnan(k[0]) or np.isnan(g[0])
    with pytest.raises(ValueError, match="6x6"):
        vrh_from_tensor(np.zeros((2, 3, 3)))


def test_merge_newest_source_wins_and_keeps_source() -> None:
    new = _rows("mp2025", ["mp-1", "mp-2"], [10.0, 20.0], [5.0, 6.0])
    old = _rows("mp2015", ["mp-2", "mp-3"], [99.0, 30.0], [99.0, 7.0])
    merged = merge_sources([new, old]).set_index("mp_id")
    assert list(merged.index) == ["mp-1", "mp-2", "mp-3"]
    assert merged.loc["mp-2", "bulk_modulus"] == 20.0
    assert merged.loc["mp-2", "source"] == "mp2025"
    assert merged.loc["mp-3", "source"] == "mp2015"


def test_bad_moduli_dropped_with_printed_count(capsys) -> None:
    frame = _rows("x", ["a", "b", "c", "d"], [10.0, -1.0, np.nan, 5.0], [1.0, 1.0, 1.0, np.inf])
    out = drop_bad_moduli(frame)
    assert list(out["mp_id"]) == ["a"]
    assert "dropped 3 of 4 rows" in capsys.readouterr().out


def test_filter_spacegroup_and_excluded_elements(capsys) -> None:
    bcc = Structure(Lattice.cubic(2.9), ["Fe", "Fe"], [[0, 0, 0], [0.5] * 3])
    frame = pd.concat(
        [
            _rows("x", ["rs"], [20.0], [10.0]),
            _rows("x", ["la"], [20.0], [10.0], "LaN", _rocksalt(5.3, ("La", "N"))),
            _rows("x", ["bcc"], [20.0], [10.0], "Fe", json.dumps(bcc.as_dict())),
        ],
        ignore_index=True,
    )
    out = apply_filter(frame, StructureFilter())
    assert list(out["mp_id"]) == ["rs"]
    assert out["spacegroup"].tolist() == [225]
    # the filter is a parameter: any space group, nothing excluded keeps all three
    everything = apply_filter(frame, StructureFilter(spacegroup=None, exclude_elements=frozenset()))
    assert len(everything) == 3
    assert "1 rows removed by the element exclusion" in capsys.readouterr().out


def test_loeo_sets_and_threshold() -> None:
    frame = pd.DataFrame(
        {"elements": ["Na Cl", "K Cl", "Li F", "Al N", "Al P", "Al As"], "mp_id": list("abcdef")}
    )
    counts = element_counts(frame)
    assert counts["Al"] == 3 and counts["Cl"] == 2
    table = loeo_elements(frame, min_count=3)
    # the paper's elements present come first, then Al (3 >= threshold); Rb etc. absent
    assert table["element"].tolist() == ["F", "K", "Na", "Cl", "Li", "Al"]
    assert table.set_index("element").loc["Cl", "train_size"] == 4
    train, test = loeo_split(frame, "Cl")
    assert test.tolist() == [0, 1] and train.tolist() == [2, 3, 4, 5]
    with pytest.raises(ValueError, match="no material"):
        loeo_split(frame, "Rb")
