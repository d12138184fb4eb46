"""Tests of matfusion.models.conventions: each convention changes what it says, the legacy
set reproduces the models made before conventions existed, and stored configs rebuild."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest
import torch

from matfusion.analysis.conventions_effect import (
    cecv_at_init,
    convention_effects_at_init,
    convention_variants,
)
from matfusion.featurize import EncodedCompositions, encode_formulas
from matfusion.models import (
    CONVENTIONS,
    DEFAULT_CONVENTIONS,
    Conventions,
    ConvStack,
    ElementMaxPool,
    FeatureMaxPool,
    OutputHead,
    SeqInfo,
    build_from_config,
    build_model,
    compose,
    encoding_order,
    get_conventions,
    sinusoid_table,
)
from matfusion.train import TargetScaler, load_checkpoint, save_checkpoint

D = 32
V1, AUTHORS = CONVENTIONS["matfusion-v1"], CONVENTIONS["authors"]


@pytest.fixture(scope="module")
def table() -> np.ndarray:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(31, 200)).astype(np.float32)
    vectors[0] = 0.0
    return vectors


E = torch.tensor([[3, 8, 14, 0], [1, 5, 0, 0], [2, 7, 11, 29], [14, 0, 0, 0]])
F = torch.tensor([[0.2, 0.3, 0.5, 0], [0.5, 0.5, 0, 0], [0.1, 0.2, 0.3, 0.4], [1.0, 0, 0, 0]])


# ----------------------------------------------------------------------------- registry


def test_registry_default_and_fields() -> None:
    assert DEFAULT_CONVENTIONS == "authors" and set(CONVENTIONS) == {"authors", "matfusion-v1"}
    assert get_conventions() is AUTHORS and get_conventions("matfusion-v1") is V1
    assert set(V1.differences(AUTHORS)) == {
        "v1_pool_axis",
        "region_skip",
        "element_order",
        "gate",
        "dcnn_k1_width",
        "fraction_sinusoid",
        "fraction_resolution_overrides",
    }
    assert (AUTHORS.v1_pool_axis, AUTHORS.region_skip, AUTHORS.gate) == ("features", False, "value")
    assert (AUTHORS.dcnn_k1_width, V1.dcnn_k1_width) == (256, None)
    assert encoding_order("authors") == "fraction_desc"
    assert encoding_order(V1) == "atomic_number"
    lstm = build_model("LSTM", np.zeros((3, 4), np.float32), d_model=8)
    assert encoding_order(lstm) == "fraction_desc"
    assert AUTHORS.mask_padding and V1.mask_padding


def test_unknown_name_suggests_and_bad_values_raise() -> None:
    with pytest.raises(KeyError, match="did you mean 'authors'"):
        get_conventions("author")
    with pytest.raises(KeyError, match="matfusion-v1"):
        get_conventions("matfusion_v1")
    with pytest.raises(ValueError, match="gate"):
        V1.replace(gate="logit")
    with pytest.raises(ValueError, match="dcnn_k1_width"):
        V1.replace(dcnn_k1_width=0)
    with pytest.raises(ValueError, match="unknown convention field"):
        Conventions.from_dict({**V1.to_dict(), "pool": "x"})
    with pytest.raises(TypeError):
        get_conventions(3)  # type: ignore[arg-type]


def test_a_variant_name_builds_the_variant_and_bad_switches_say_why() -> None:
    from matfusion.analysis.conventions_effect import convention_variants

    for _label, conv in convention_variants():
        assert get_conventions(conv.name) == conv  # every name replace() gives parses back
    switched = get_conventions("matfusion-v1+element_order=fraction_desc+dcnn_k1_width=256")
    assert switched.differences(V1) == {
        "element_order": ("fraction_desc", "atomic_number"),
        "dcnn_k1_width": (256, None),
    }
    with pytest.raises(KeyError, match="did you mean 'element_order'"):
        get_conventions("matfusion-v1+element_ordr=fraction_desc")
    with pytest.raises(KeyError, match="field=value"):
        get_conventions("matfusion-v1+gate")
    with pytest.raises(ValueError, match="element_order must be one of"):
        get_conventions("matfusion-v1+element_order=random")
    with pytest.raises(KeyError, match="did you mean 'authors'"):
        get_conventions("author+gate=value")


def test_to_dict_round_trips_through_json() -> None:
    for conv in CONVENTIONS.values():
        again = get_conventions(json.loads(json.dumps(conv.to_dict())))
        assert again == conv
    assert AUTHORS.to_dict()["fraction_resolution_overrides"] == {
        "LSTM": 5000,
        "DCNN": 5000,
        "DCNN-K1": 5000,
    }
    variant = V1.replace(gate="value")
    assert variant.name == "matfusion-v1+gate=value" and variant.differences(V1) == {
        "gate": ("value", "value_and_uncertainty")
    }


def test_unmasked_padding_is_declared_but_refused(table: np.ndarray) -> None:
    unmasked = AUTHORS.replace(mask_padding=False)
    with pytest.raises(ValueError, match="padding.*depends on that compound alone"):
        build_model("L-G-DCNN", table, d_model=D, conventions=unmasked)


def test_default_is_authors(table: np.ndarray) -> None:
    assert build_model("L-G-DCNN", table, d_model=D).conventions is AUTHORS
    model = compose(table, D, recurrent=("lstm",))
    assert model.conventions is AUTHORS and model.config["conventions"]["name"] == "authors"


# ----------------------------------------------------------------------------- each convention


def test_v1_pool_axis_on_a_hand_made_tensor() -> None:
    h = torch.tensor([[[1.0, 5.0, 2.0, 0.0, 3.0], [4.0, 0.0, 6.0, 1.0, 2.0], [0, 0, 0, 0, 0]]])
    seq = SeqInfo(torch.tensor([[True, True, False]]))
    features, _ = FeatureMaxPool(3)(h, seq)
    elements, _ = ElementMaxPool(3)(h, seq)
    # along the 5 features of each element (edges see 2 values); padding row stays 0
    assert features.tolist() == [[[5, 5, 5, 3, 3], [4, 6, 6, 6, 2], [0, 0, 0, 0, 0]]]
    # along the 2 real elements of each feature
    assert elements.tolist() == [[[4, 5, 6, 1, 3], [4, 5, 6, 1, 3], [0, 0, 0, 0, 0]]]
    # the authors' call, verbatim: max_pool1d on (batch, elements, features)
    assert torch.equal(features[:, :2], torch.nn.functional.max_pool1d(h[:, :2], 3, 1, 1))


def test_v1_model_pools_features_under_authors(table: np.ndarray) -> None:
    model = build_model("L-G-DCNN-V1", table, d_model=D, conventions="authors")
    assert isinstance(model.stages["maxpool"], FeatureMaxPool)
    assert isinstance(
        build_model("L-G-DCNN-V1", table, d_model=D, conventions="matfusion-v1").stages["maxpool"],
        ElementMaxPool,
    )
    with torch.no_grad():
        feats = model.features(E, F, ["sum", "maxpool"])
    expected = torch.nn.functional.max_pool1d(feats["sum"], 3, 1, 1)
    assert torch.allclose(feats["maxpool"], expected.masked_fill(~feats["mask"][..., None], 0))


@pytest.mark.parametrize(
    ("region_skip", "region_residual", "gain"),
    [(True, True, 2.0), (True, False, 1.0), (False, True, 1.0), (False, False, 0.0)],
)
def test_region_skip_and_what_region_residual_switches(
    region_skip: bool, region_residual: bool, gain: float
) -> None:
    """Region conv = identity, block convs = 0: the output counts the paths that carry x.

    Our reading: region conv + its own skip (2x); Model 4 drops that skip (x). The authors':
    no skip around the region conv; Model 4 drops the first block's residual, cutting x.
    """
    d = 6
    stack = ConvStack(d, kernel_size=1, region_residual=region_residual, region_skip=region_skip)
    with torch.no_grad():
        stack.region.linear.weight.copy_(torch.eye(d))
        stack.region.linear.bias.zero_()
        for conv1, conv2 in stack.blocks:
            for conv in (conv1, conv2):
                conv.linear.weight.zero_()
                conv.linear.bias.zero_()
    x = torch.randn(2, 3, d)
    mask = torch.tensor([[True, True, True], [True, True, False]])
    x = x.masked_fill(~mask[..., None], 0)
    out, _ = stack(x, SeqInfo(mask))
    assert torch.allclose(out, gain * x, atol=1e-6)
    assert stack.config()["region_skip"] is region_skip


def test_model4_under_each_reading(table: np.ndarray) -> None:
    for conv, skip in ((AUTHORS, False), (V1, True)):
        stage = build_model("Model-4", table, d_model=D, conventions=conv).config["stages"][-1]
        assert stage["region_skip"] is skip and stage["region_residual"] is False
        assert stage["residual"] is True


def test_fraction_desc_order_of_srtio3() -> None:
    authors = encode_formulas(["SrTiO3", "TiSrO3", "Ca(OH)2"], order=encoding_order("authors"))
    np.testing.assert_array_equal(authors.elements, [[8, 38, 22], [8, 22, 38], [8, 1, 20]])
    np.testing.assert_allclose(authors.fractions, [[0.6, 0.2, 0.2]] * 2 + [[0.4, 0.4, 0.2]])
    ours = encode_formulas(["SrTiO3", "TiSrO3"], order=encoding_order("matfusion-v1"))
    np.testing.assert_array_equal(ours.elements, [[8, 22, 38], [8, 22, 38]])


def test_element_order_matters_to_lstm_not_to_dcnn_k1(table: np.ndarray) -> None:
    e1, f1 = torch.tensor([[3, 8, 14]]), torch.tensor([[0.2, 0.5, 0.3]])
    e2, f2 = e1[:, [1, 2, 0]], f1[:, [1, 2, 0]]  # the fraction_desc order of the same compound
    with torch.no_grad():
        lstm = build_model("LSTM", table, d_model=D)
        k1 = build_model("DCNN-K1", table, d_model=D)
        assert not torch.allclose(lstm(e1, f1), lstm(e2, f2), atol=1e-4)
        assert torch.allclose(k1(e1, f1), k1(e2, f2), atol=1e-5)


@pytest.mark.parametrize("gate", ["value", "value_and_uncertainty"])
def test_gate_on_a_hand_made_head(gate: str) -> None:
    head = OutputHead(2, gate=gate)
    with torch.no_grad():
        head.linear.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
        head.linear.bias.zero_()
    h = torch.tensor([[[2.0, -1.0], [4.0, -3.0], [0.0, 0.0]]])  # 2 elements + padding
    out, contributions = head(h, SeqInfo(torch.tensor([[True, True, False]])))
    value, log_unc, logit = 3.0, -2.0, 1.0  # means over the 2 real elements
    sig = 1 / (1 + math.exp(-logit))
    expected_unc = log_unc if gate == "value" else log_unc * sig
    assert out[0].tolist() == pytest.approx([value * sig, expected_unc])
    assert contributions.tolist() == [[2.0, 4.0, 0.0]]


def test_gate_changes_only_the_uncertainty(table: np.ndarray) -> None:
    torch.manual_seed(0)
    ours = build_model("L-G-DCNN", table, d_model=D, conventions="matfusion-v1")
    value_only = build_model("L-G-DCNN", table, d_model=D, conventions=V1.replace(gate="value"))
    value_only.load_state_dict(ours.state_dict())
    with torch.no_grad():
        a, b = ours(E, F), value_only(E, F)
        per_element = ours.head.linear(ours.features(E, F)[ours.default_efm_layer])
    mask = E != 0
    sig = torch.sigmoid((per_element[..., 2] * mask).sum(1) / mask.sum(1))
    assert torch.equal(a[:, 0], b[:, 0])
    assert torch.allclose(a[:, 1], b[:, 1] * sig, atol=1e-6)
    assert not torch.allclose(a[:, 1], b[:, 1], atol=1e-3)


def test_dcnn_k1_width_256_has_the_authors_parameter_count() -> None:
    """At the paper's width: 102,912 (mat2vec Linear) + 3 scalers + 131,328 (region conv
    512->256) + 6 x 65,792 (block convs) + 771 (head) = 629,766, the trainable parameters
    of the authors' DCNN-K1 (``dcnn_k1.py``)."""
    vectors = np.zeros((119, 200), dtype=np.float32)
    authors = build_model("DCNN-K1", vectors, conventions="authors")
    ours = build_model("DCNN-K1", vectors, conventions="matfusion-v1")
    assert authors.config["n_parameters"] == 102_912 + 3 + 131_328 + 6 * 65_792 + 771 == 629_766
    assert ours.config["n_parameters"] == 102_912 + 3 + 7 * 262_656 + 1539
    assert authors.stages["dcnn_k1"].region.linear.weight.shape == (256, 512)
    assert authors.head.linear.in_features == 256
    assert authors.efm(E, F)[0].shape == (3, 256)
    # the other local extractors keep d_model
    assert build_model("DCNN", vectors, d_model=D, conventions="authors").stages["dcnn"].width == D


def test_fraction_resolution_and_sinusoid_per_model(table: np.ndarray) -> None:
    res = {
        name: build_model(name, table, d_model=D, conventions="authors").embedding.resolution
        for name in ("LSTM", "DCNN", "DCNN-K1", "L-G-DCNN", "L-G-DCNN-V1", "LDCNN", "GRU")
    }
    assert res == {
        "LSTM": 5000,
        "DCNN": 5000,
        "DCNN-K1": 5000,
        "L-G-DCNN": 2000,
        "L-G-DCNN-V1": 2000,
        "LDCNN": 2000,
        "GRU": 2000,
    }
    assert build_model("LSTM", table, d_model=D, conventions=V1).embedding.resolution == 2000
    sin = sinusoid_table(5000, 8, "sin")
    i, j = 1234, 5
    assert sin[i, j].item() == pytest.approx(math.sin(i / 50 ** (2 * j / 8)), abs=1e-5)
    assert torch.equal(sinusoid_table(5000, 8, "sin")[:, 0::2], sinusoid_table(5000, 8)[:, 0::2])
    assert not torch.allclose(sinusoid_table(50, 8, "sin"), sinusoid_table(50, 8))


# ----------------------------------------------------------------------------- legacy + rebuild

#: Built by the code before conventions existed (d_model 32, torch.manual_seed(0), the
#: table fixture, inputs E/F): sha256[:16] of the state_dict (key, shape) list, outputs,
#: sum |EFM| of the default layer.
BEFORE_CONVENTIONS = {
    "L-G-DCNN": (
        "23e635523c69cdf5",
        [[0.109276, -0.1665244], [0.1607728, -0.0131673], [0.1020427, 0.0259139],
         [0.0897677, -0.0359951]],
        57.58806610107422,
    ),
    "L-G-DCNN-V1": (
        "23e635523c69cdf5",
        [[0.0960216, -0.1492645], [0.1124232, 0.2777773], [0.2079763, 0.0626727],
         [-0.0082197, -0.0003711]],
        118.17735290527344,
    ),
    "LSTM": (
        "d2bd5da7d5ea8096",
        [[-0.0349263, 0.0776591], [0.0836416, 0.1266149], [0.0557549, 0.1059759],
         [0.0684846, 0.0779166]],
        43.4066162109375,
    ),
    "DCNN-K1": (
        "0c25c90ad2912a4c",
        [[-0.1580983, 0.0923183], [-0.7108892, 0.450626], [-0.0819249, -0.0304109],
         [-0.1042257, -0.0536982]],
        443.41473388671875,
    ),
    "Model-4": (
        "23e635523c69cdf5",
        [[0.0540288, -0.1124188], [0.0596819, -0.0494591], [0.0665464, -0.0380095],
         [0.0611977, -0.0473361]],
        41.250450134277344,
    ),
}  # fmt: skip


def _fingerprint(model) -> tuple[str, list[list[float]], float]:
    keys = [[k, list(v.shape)] for k, v in model.state_dict().items()]
    digest = hashlib.sha256(json.dumps(keys).encode()).hexdigest()[:16]
    with torch.no_grad():
        feats = model.eval().features(E, F, [model.default_efm_layer])
    return digest, feats["output"].tolist(), float(feats[model.default_efm_layer].abs().sum())


@pytest.mark.parametrize("name", list(BEFORE_CONVENTIONS))
def test_matfusion_v1_reproduces_the_models_before_conventions(
    name: str, table: np.ndarray
) -> None:
    torch.manual_seed(0)
    digest, output, efm_sum = _fingerprint(
        build_model(name, table, d_model=D, conventions="matfusion-v1")
    )
    ref_digest, ref_output, ref_sum = BEFORE_CONVENTIONS[name]
    assert digest == ref_digest
    np.testing.assert_allclose(output, ref_output, atol=2e-6)
    assert efm_sum == pytest.approx(ref_sum, rel=1e-5)


@pytest.mark.parametrize("name", ["L-G-DCNN", "L-G-DCNN-V1"])
def test_authors_differs_from_matfusion_v1_at_equal_weights(name: str, table: np.ndarray) -> None:
    torch.manual_seed(0)
    ours = build_model(name, table, d_model=D, conventions="matfusion-v1")
    torch.manual_seed(0)
    authors = build_model(name, table, d_model=D, conventions="authors")
    assert _fingerprint(ours)[0] == _fingerprint(authors)[0]  # same parameters...
    for a, b in zip(ours.state_dict().values(), authors.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    with torch.no_grad():
        assert not torch.allclose(ours(E, F), authors(E, F), atol=1e-3)  # ...other function


def _rebuild(name: str, config: dict, vectors: np.ndarray):
    """What ``experiments.load_trained`` does with a checkpoint's config."""
    return build_model(name, vectors, d_model=config["d_model"], **config.get("params", {}))


@pytest.mark.parametrize("conventions", ["authors", "matfusion-v1"])
@pytest.mark.parametrize("name", ["L-G-DCNN-V1", "DCNN-K1"])
def test_checkpoint_rebuilds_the_same_conventions(
    name: str, conventions: str, table: np.ndarray, tmp_path
) -> None:
    model = build_model(name, table, d_model=D, conventions=conventions)
    assert model.config["params"]["conventions"] == CONVENTIONS[conventions].to_dict()
    path = save_checkpoint(tmp_path / "m.pt", model, TargetScaler(0.0, 1.0))
    loaded, _, _ = load_checkpoint(path, lambda n, cfg: _rebuild(n, cfg, table))
    assert loaded.conventions == CONVENTIONS[conventions]
    with torch.no_grad():
        assert torch.equal(loaded(E, F), model.eval()(E, F))
    again = build_from_config(json.loads(json.dumps(model.config)), table)
    assert again.conventions == CONVENTIONS[conventions]


def test_a_config_without_conventions_means_matfusion_v1(table: np.ndarray, tmp_path) -> None:
    model = build_model("L-G-DCNN-V1", table, d_model=D, conventions="matfusion-v1")
    path = save_checkpoint(tmp_path / "old.pt", model, TargetScaler(0.0, 1.0))
    payload = torch.load(path, weights_only=True)
    del payload["config"]["params"]["conventions"], payload["config"]["conventions"]
    torch.save(payload, path)  # as written before conventions existed
    loaded, _, _ = load_checkpoint(path, lambda n, cfg: _rebuild(n, cfg, table))
    assert loaded.conventions == V1
    with torch.no_grad():
        assert torch.equal(loaded(E, F), model.eval()(E, F))
    assert build_from_config(payload["config"], table).conventions == V1
    # a partial override set is a fresh build: the default applies
    assert build_model("L-G-DCNN", table, d_model=D, n_blocks=2).conventions == AUTHORS


# ----------------------------------------------------------------------------- CECV at init


def _synthetic_si_set(n: int = 40, seed: int = 0) -> EncodedCompositions:
    """Ternaries and quaternaries containing Si (Z 14) over Z 1..30, some with tied fractions."""
    rng = np.random.default_rng(seed)
    elements = np.zeros((n, 4), dtype=np.int64)
    fractions = np.zeros((n, 4), dtype=np.float32)
    for i in range(n):
        k = 3 + i % 2
        others = rng.choice([z for z in range(1, 31) if z != 14], size=k - 1, replace=False)
        zs = np.sort(np.append(others, 14))
        amounts = rng.integers(1, 4, size=k).astype(np.float64)
        elements[i, :k], fractions[i, :k] = zs, amounts / amounts.sum()
    return EncodedCompositions(elements, fractions)


def test_convention_variants_switch_one_field_at_a_time() -> None:
    variants = convention_variants()
    assert [v[0] for v in variants][0] == "none" and variants[-1] == ("all", AUTHORS)
    assert len(variants) == 9
    for switched, conv in variants[1:-1]:
        assert list(conv.differences(V1)) == [switched]
        assert getattr(conv, switched) == getattr(AUTHORS, switched)


def test_convention_effects_at_init_on_a_synthetic_set(table: np.ndarray) -> None:
    encoded = _synthetic_si_set()
    frame = convention_effects_at_init(
        ("L-G-DCNN-V1", "L-G-DCNN"), encoded, threshold=0.05, d_model=16, element_vectors=table
    )
    assert len(frame) == 18 and frame["note"].eq("").all()
    assert frame.attrs["threshold"] == 0.05
    by = frame.set_index(["model", "switched"])
    for model in ("L-G-DCNN-V1", "L-G-DCNN"):
        assert by.loc[(model, "none"), "delta"] == 0
        # the head's gate, DCNN-K1's width and the single models' resolutions do not touch
        # these models' EFM (the layer before the head): nothing to see, by construction
        for switched in ("gate", "dcnn_k1_width", "fraction_resolution_overrides"):
            row = by.loc[(model, switched)]
            assert not row["reaches_efm"] and row["delta"] == 0 and row["delta_z_rows"] == 0
        for switched in ("region_skip", "element_order", "fraction_sinusoid", "all"):
            assert by.loc[(model, switched), "reaches_efm"]
        counts = frame.loc[frame["model"] == model, ["cecv", "cecv_z_rows"]].to_numpy()
        assert ((counts >= 2) & (counts <= len(encoded))).all()  # two groups, n = 3 and 4
    assert by.loc[("L-G-DCNN-V1", "v1_pool_axis"), "reaches_efm"]
    assert not by.loc[("L-G-DCNN", "v1_pool_axis"), "reaches_efm"]
    # the table's numbers are cecv_at_init's
    for model, switched, rows, column in (
        ("L-G-DCNN-V1", "all", "encoding", "cecv"),
        ("L-G-DCNN", "element_order", "atomic_number", "cecv_z_rows"),
    ):
        conv = dict(convention_variants())[switched]
        got = cecv_at_init(model, conv, encoded, d_model=16, element_vectors=table, rows=rows)
        assert got == by.loc[(model, switched), column]


def test_cecv_at_init_encodes_formulas_in_the_conventions_order(table: np.ndarray) -> None:
    formulas = ["TiSiO3", "SiTiO3", "CaSiO3", "Ca2SiO4", "MgSiO3", "NaAlSi3O8", "Mg2Si"]
    by_formula = cecv_at_init("L-G-DCNN", "authors", formulas, d_model=16, element_vectors=table)
    encoded = encode_formulas(formulas, order="fraction_desc")
    assert by_formula == cecv_at_init(
        "L-G-DCNN", "authors", encoded, d_model=16, element_vectors=table
    )
    assert 1 <= by_formula <= len(formulas)
