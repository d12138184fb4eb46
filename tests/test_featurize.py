"""Tests of matfusion.featurize: encoding layout, padding, validation, jitter."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pymatgen.core import Composition

from matfusion.data import ELEMENT_SYMBOLS, ElementTable, FormulaError, element_table, load_split
from matfusion.featurize import EncodedCompositions, encode_formulas, jitter_fractions, pad_batch

FORMULAS = ["NaCl", "O3Fe2", "BaTiO3", "Li", "H2O"]


def test_encoding_layout_sorted_by_z_and_padded():
    enc = encode_formulas(FORMULAS)
    assert isinstance(enc, EncodedCompositions) and len(enc) == 5
    assert enc.elements.dtype == np.int64 and enc.fractions.dtype == np.float32
    np.testing.assert_array_equal(
        enc.elements,
        [[11, 17, 0], [8, 26, 0], [8, 22, 56], [3, 0, 0], [1, 8, 0]],
    )
    np.testing.assert_allclose(
        enc.fractions,
        [[0.5, 0.5, 0], [0.6, 0.4, 0], [0.6, 0.2, 0.2], [1, 0, 0], [2 / 3, 1 / 3, 0]],
        rtol=1e-6,
    )
    np.testing.assert_array_equal(enc.lengths, [2, 2, 3, 1, 2])
    assert (enc.fractions[enc.elements == 0] == 0).all()
    np.testing.assert_allclose(enc.fractions.sum(1), 1.0, rtol=1e-6)


def test_encoding_matches_pymatgen_on_a_real_split():
    df = load_split("matbench_steels", "test", 0)
    enc = encode_formulas(df["formula"].tolist(), element_table("mat2vec"))
    assert enc.elements.shape == (63, int(enc.lengths.max()))
    for i in range(0, 63, 7):
        comp = Composition(df["formula"][i])
        zs = sorted(el.Z for el in comp.elements)
        n = len(zs)
        np.testing.assert_array_equal(enc.elements[i, :n], zs)
        assert (enc.elements[i, n:] == 0).all()
        expected = [comp.get_atomic_fraction(ELEMENT_SYMBOLS[z - 1]) for z in zs]
        np.testing.assert_allclose(enc.fractions[i, :n], expected, rtol=1e-6)
    assert (np.diff(np.where(enc.elements == 0, 999, enc.elements), axis=1) > 0).all()


def test_bad_formula_names_the_first_bad_row():
    with pytest.raises(FormulaError, match=r"row 2 \('Xx2O3'\): unknown element 'Xx'"):
        encode_formulas(["NaCl", "KBr", "Xx2O3", "Na0Cl"])
    with pytest.raises(FormulaError, match=r"row 1 .*missing"):
        encode_formulas(["NaCl", float("nan")])  # type: ignore[list-item]


def test_element_missing_from_table_is_an_error():
    vectors = np.zeros((119, 2), dtype=np.float32)
    available = np.zeros(119, dtype=bool)
    available[[1, 8]] = True
    table = ElementTable("tiny", list(ELEMENT_SYMBOLS), vectors, available)
    assert encode_formulas(["H2O"], table).elements.tolist() == [[1, 8]]
    with pytest.raises(FormulaError, match=r"row 1 \('Fe2O3'\): element Fe \(Z=26\).*'tiny'"):
        encode_formulas(["H2O", "Fe2O3"], table)


def test_empty_input():
    enc = encode_formulas([])
    assert len(enc) == 0 and enc.elements.shape == (0, 0)


def test_pad_batch_trims_numpy_and_torch():
    enc = encode_formulas(FORMULAS)
    el, fr = pad_batch(enc.elements[[0, 3]], enc.fractions[[0, 3]])
    assert el.shape == (2, 2) and fr.shape == (2, 2)
    np.testing.assert_array_equal(el, [[11, 17], [3, 0]])
    tel, tfr = pad_batch(torch.from_numpy(enc.elements[[3]]), torch.from_numpy(enc.fractions[[3]]))
    assert tuple(tel.shape) == (1, 1) and tfr.tolist() == [[1.0]]


def test_subset_picks_rows_and_trims():
    enc = encode_formulas(FORMULAS)
    sub = enc.subset([4, 0])
    assert len(sub) == 2
    np.testing.assert_array_equal(sub.elements, [[1, 8], [11, 17]])
    mask = np.array([False, False, True, False, False])
    assert enc.subset(mask).elements.shape == (1, 3)


def test_mismatched_shapes_rejected():
    with pytest.raises(ValueError, match="same shape"):
        EncodedCompositions(np.zeros((2, 3), np.int64), np.zeros((2, 2), np.float32))


def test_jitter_keeps_padding_and_normalisation_and_is_seeded():
    enc = encode_formulas(FORMULAS)
    x = torch.from_numpy(enc.fractions)
    a = jitter_fractions(x, 0.02, torch.Generator().manual_seed(7))
    b = jitter_fractions(x, 0.02, torch.Generator().manual_seed(7))
    c = jitter_fractions(x, 0.02, torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert (a[x == 0] == 0).all()
    torch.testing.assert_close(a.sum(1), torch.ones(5))
    assert a[3, 0].item() == pytest.approx(1.0)  # single element stays 1
    change = (a - x).abs()[x > 0]
    assert 0 < change.max().item() < 0.1  # noise of order sigma, not more
    assert torch.equal(x, torch.from_numpy(enc.fractions))  # input untouched


def test_jitter_statistics_scale_with_sigma():
    x = torch.full((4000, 2), 0.5)
    g = torch.Generator().manual_seed(0)
    small = (jitter_fractions(x, 0.01, g) - x).abs().mean().item()
    large = (jitter_fractions(x, 0.1, g) - x).abs().mean().item()
    # Two equal fractions: x1' - 1/2 ~ sigma (z1 - z2) / 4 and E|z1 - z2| = 2 / sqrt(pi).
    assert small == pytest.approx(0.01 / (2 * np.sqrt(np.pi)), rel=0.1)
    assert large / small == pytest.approx(10, rel=0.15)
    torch.testing.assert_close(jitter_fractions(x, 0.0, g), x)


def test_fraction_desc_order_breaks_ties_by_first_appearance():
    """The authors' loader: descending amount, equal amounts in order of appearance."""
    enc = encode_formulas(
        ["SrTiO3", "TiSrO3", "Ca(OH)2", "NaCl", "Li3Fe2(PO4)3"], order="fraction_desc"
    )
    np.testing.assert_array_equal(
        enc.elements,
        [[8, 38, 22, 0], [8, 22, 38, 0], [8, 1, 20, 0], [11, 17, 0, 0], [8, 3, 15, 26]],
    )
    np.testing.assert_allclose(enc.fractions[4], [0.6, 0.15, 0.15, 0.1], rtol=1e-6)
    with pytest.raises(ValueError, match="order must be one of"):
        encode_formulas(["NaCl"], order="electronegativity")  # type: ignore[arg-type]


def test_orders_hold_the_same_compounds_and_reorder_into_each_other():
    df = load_split("matbench_steels", "test", 0)
    formulas = df["formula"].tolist()
    by_z = encode_formulas(formulas)
    by_frac = encode_formulas(formulas, order="fraction_desc")
    real = by_frac.elements != 0
    assert (np.diff(np.where(real, by_frac.fractions, -1.0), axis=1)[real[:, 1:]] <= 0).all()
    back = by_frac.reordered("atomic_number")
    np.testing.assert_array_equal(back.elements, by_z.elements)
    np.testing.assert_array_equal(back.fractions, by_z.fractions)
    # from a canonical encoding, equal fractions stay in ascending Z
    again = encode_formulas(["TiSrO3"]).reordered("fraction_desc")
    np.testing.assert_array_equal(again.elements, [[8, 22, 38]])
