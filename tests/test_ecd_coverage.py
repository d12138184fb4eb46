"""What the density CNNs see: coverage by gradients, the three architecture variants, and the
layer table of the method section."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from matfusion.ecd.models import (
    CNN3D,
    DEFAULT_ECD_VARIANT,
    ECD_VARIANTS,
    CNN2DProjected,
    CNNMagpie,
    FusionNet,
    _WrapPad,
    build_ecd_model,
    input_coverage,
    layer_table,
)

SMALL = (8, 8)  # 3D-CNN filter counts: coverage is structural, small nets keep tests fast


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def test_variants_are_named_and_checked() -> None:
    assert list(ECD_VARIANTS) == ["paper", "matfusion-v1", "whole-cube"]
    assert DEFAULT_ECD_VARIANT == "whole-cube"
    assert build_ecd_model("3D-CNN+ECD", grid=16).variant == "whole-cube"
    with pytest.raises(KeyError, match="variant 'whole_cube'; did you mean 'whole-cube'"):
        build_ecd_model("2D-CNN+ECD", grid=16, variant="whole_cube")
    with pytest.raises(ValueError, match="at least 40"):
        CNN3D(32, variant="paper")
    with pytest.raises(ValueError, match="at least 42"):
        CNN2DProjected(40, width=16, variant="paper")
    assert CNN3D(40, SMALL, variant="paper")(torch.rand(1, 40, 40, 40)).shape == (1,)
    assert CNN2DProjected(42, 16, "paper")(torch.rand(1, 42, 42, 42)).shape == (1,)


@pytest.mark.parametrize("grid", [16, 24, 32, 60])
def test_whole_cube_sees_every_voxel(grid: int) -> None:
    for net in (CNN3D(grid, SMALL, "whole-cube"), CNN2DProjected(grid, 16, "whole-cube")):
        cov = input_coverage(net, grid)
        assert cov["fraction"] == 1.0
        assert cov["ranges"] == {axis: [(0, grid - 1)] for axis in "xyz"}
        for view in cov.get("views", {}).values():
            assert view["fraction"] == 1.0
        assert net(torch.rand(2, grid, grid, grid)).shape == (2,)
    fusion = FusionNet(CNNMagpie(), CNN2DProjected(grid, 16, "whole-cube"))
    assert input_coverage(fusion, grid)["fraction"] == 1.0


def test_matfusion_v1_drops_the_cube_edges() -> None:
    cov = input_coverage(CNN3D(32, SMALL, "matfusion-v1"), 32)
    assert cov["ranges"] == {axis: [(0, 19)] for axis in "xyz"}
    assert cov["fraction"] == pytest.approx((20 / 32) ** 3)  # 24 %
    assert input_coverage(CNN3D(60, SMALL, "matfusion-v1"), 60)["covered_per_axis"] == {
        "x": 40,
        "y": 40,
        "z": 40,
    }
    net = CNN2DProjected(32, 16, "matfusion-v1")
    cov = input_coverage(net, 32)
    for view in cov["views"].values():
        assert view["ranges"] == {"rows": [(0, 23)], "cols": [(0, 23)]}
        assert view["fraction"] == pytest.approx((24 / 32) ** 2)
    # a voxel is seen if any of the three views sees it: 1 - (1 - 0.75^2)^... counted exactly
    i = np.arange(32) < 24
    seen = i[None, :, None] & i[None, None, :]  # view x: rows y, cols z
    seen = seen | (i[:, None, None] & i[None, None, :]) | (i[:, None, None] & i[None, :, None])
    assert cov["fraction"] == pytest.approx(seen.mean())
    # the squeeze-and-excitation gate reaches every pixel, but only through a plane mean
    assert input_coverage(net, 32, include_global=True)["views"]["x"]["fraction"] == 1.0


def test_the_papers_layer_list_at_60_cubed() -> None:
    cov = input_coverage(CNN3D(60, SMALL, "paper"), 60)
    assert cov["ranges"] == {axis: [(0, 39)] for axis in "xyz"}
    assert cov["fraction"] == pytest.approx((40 / 60) ** 3)
    views = input_coverage(CNN2DProjected(60, 16, "paper"), 60)["views"]
    assert all(v["ranges"] == {"rows": [(0, 41)], "cols": [(0, 41)]} for v in views.values())
    # at 60 the paper's 3D layer list and matfusion-v1 are one network, weight for weight
    paper = build_ecd_model("3D-CNN+ECD", grid=60, seed=1, variant="paper").state_dict()
    v1 = build_ecd_model("3D-CNN+ECD", grid=60, seed=1, variant="matfusion-v1").state_dict()
    assert list(paper) == list(v1) and all(torch.equal(paper[k], v1[k]) for k in paper)


def test_matfusion_v1_keeps_the_stored_architecture() -> None:
    """Parameter counts and state-dict layout of the networks the stored runs were made with."""
    counts = {
        (name, grid): sum(
            p.numel()
            for p in build_ecd_model(
                name, grid=grid, width=1024, variant="matfusion-v1"
            ).parameters()
        )
        for name in ("3D-CNN+ECD", "2D-CNN+ECD")
        for grid in (16, 32, 60)
    }
    assert counts == {
        ("3D-CNN+ECD", 16): 792117,
        ("3D-CNN+ECD", 32): 1532117,
        ("3D-CNN+ECD", 60): 1532117,
        ("2D-CNN+ECD", 16): 1805149,
        ("2D-CNN+ECD", 32): 1880029,
        ("2D-CNN+ECD", 60): 2398141,
    }
    keys = list(CNN2DProjected(32, 16, "matfusion-v1").state_dict())
    assert keys[:8] == [
        "branches.0.net.0.project.weight",
        "branches.0.net.0.project.bias",
        "branches.0.net.0.gate.0.weight",
        "branches.0.net.0.gate.0.bias",
        "branches.0.net.0.gate.2.weight",
        "branches.0.net.0.gate.2.bias",
        "branches.0.net.1.weight",
        "branches.0.net.1.bias",
    ]
    assert list(CNN3D(32, variant="matfusion-v1").state_dict())[:4] == [
        "features.0.weight",
        "features.0.bias",
        "features.2.weight",
        "features.2.bias",
    ]


def test_wrap_padding_is_periodic() -> None:
    x = torch.arange(2 * 7, dtype=torch.float32).view(1, 2, 7)
    out = _WrapPad(5, 2, dims=1)(x)  # 7 -> 7 (5 + 2 tiles it); 6 -> 7 wraps one
    assert torch.equal(out, x)
    y = _WrapPad(5, 2, dims=1)(x[..., :6])
    assert y.shape[-1] == 7 and torch.equal(y[..., 6], x[..., 0])
    z = _WrapPad(5, 5, dims=2)(torch.arange(4.0).view(1, 2, 2))  # wraps more than once
    np.testing.assert_array_equal(
        z[0].numpy(),
        np.take(np.arange(4.0).reshape(2, 2), np.arange(5) % 2, 0)[:, np.arange(5) % 2],
    )


def test_layer_table_lists_shapes_padding_and_parameters() -> None:
    table = layer_table("3D-CNN+ECD", 60, "whole-cube")
    assert list(table.columns) == [
        "module",
        "layer",
        "kernel",
        "stride",
        "padding",
        "output shape",
        "parameters",
    ]
    rows = table.set_index("module")
    assert rows.loc["features.1", "output shape"] == "200x12x12x12"
    assert rows.loc["features.7", "padding"] == "wrap +1"  # 3 -> 4 before the 2x pool
    assert rows.loc["features.7", "output shape"] == "100x2x2x2"
    assert rows.loc["head.0", "layer"] == "Linear 800->512"
    total = rows.loc["total", "parameters"]
    assert total == table["parameters"].iloc[:-1].sum() == 1890517
    table2 = layer_table("2D-CNN+ECD", 32, "whole-cube", width=1024).set_index("module")
    assert table2.loc["branches.0.net.2", "padding"] == "wrap +4"  # 32 -> 36 for 6x6 stride 6
    assert table2.loc["total", "parameters"] == 2396125
    assert table2["parameters"].iloc[:-1].sum() == 2396125
    fusion = layer_table("Fusion(Magpie+ECD)", 16, "whole-cube", width=32)
    assert fusion["parameters"].iloc[:-1].sum() == fusion["parameters"].iloc[-1]
    with pytest.raises(ValueError, match="not a neural network"):
        layer_table("RF+Magpie", 16)
