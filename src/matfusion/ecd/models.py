"""Paper B's five models, each named once in :data:`ECD_MODELS`.

Architectures follow ``shared/spec/ecd.md`` (the paper's Section 2.3); where the paper leaves a
size open we choose and say so here:

* ``RF+Magpie``: scikit-learn random forest, 50 trees, on the 132 Magpie features.
* ``CNN+Magpie``: the 132 features zero-padded to 144 and shaped 12 x 12; two 3x3 convs (32,
  'same' padding), 2x2 average pool, a 3x3 conv (64), dense 48, 32, 1.
* ``3D-CNN+ECD``: Conv3d 200 @ 5^3 stride 5, Conv3d 100 @ 4^3 stride 4 (filter count ours),
  MaxPool3d 2, then seven dense layers 512-256-128-64-32-16-1 (widths ours). Kernels are
  clamped to the feature-map size, and pools skipped where the map is already 1 voxel, so
  the same network runs on 16^3 to 60^3 grids (at 60^3 it is exactly the paper's).
* ``2D-CNN+ECD``: the cube viewed along x, y and z (the viewing axis as channels); per view a
  squeeze-and-excitation block (1x1 conv to 24 channels, global average pool, dense 4, dense
  24, sigmoid, channel rescale) and a CNN block (conv 64 @ 6x6 stride 6, conv 128 @ 5x5
  stride 2, 2x2 max pools where the size allows, then a global max pool so each view gives
  128 values at any grid size); the three views concatenated (384), dense ``width``,
  ``width``, 128, 128, 128, 32, 1 (paper: width 4096).
* ``Fusion(Magpie+ECD)``: the penultimate (32-wide) outputs of a pre-trained CNN+Magpie and a
  pre-trained 2D-CNN+ECD concatenated (64), then dense 128, 64, 32, 1. The two pre-trained
  networks are frozen (the paper does not say; freezing keeps the fusion a head on fixed
  features and makes it cheap).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "ECD_MODELS",
    "MAGPIE_FEATURES",
    "CNN2DProjected",
    "CNN3D",
    "CNNMagpie",
    "EcdModelSpec",
    "FusionNet",
    "build_ecd_model",
    "get_ecd_model",
    "magpie_features",
]

#: Length of matminer's ElementProperty "magpie" vector (22 properties x 6 statistics).
MAGPIE_FEATURES = 132


def magpie_features(formulas: list[str]) -> np.ndarray:
    """Magpie element-property statistics per formula, ``(N, 132)`` float32.

    matminer's ``ElementProperty.from_preset('magpie')``; an element without a tabulated value
    gives NaN there, which we set to 0 (and count in the warning) rather than drop the row.
    """
    import warnings

    from matminer.featurizers.composition import ElementProperty
    from pymatgen.core import Composition

    featurizer = ElementProperty.from_preset("magpie")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = [featurizer.featurize(Composition(f)) for f in formulas]
    out = np.asarray(rows, dtype=np.float64)
    bad = ~np.isfinite(out)
    if bad.any():
        warnings.warn(
            f"magpie: {int(bad.sum())} missing feature values in {int(bad.any(1).sum())} rows "
            "set to 0",
            stacklevel=2,
        )
        out[bad] = 0.0
    return out.astype(np.float32)


def _mlp(widths: list[int]) -> nn.Sequential:
    """Dense layers with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class _Penultimate(nn.Module):
    """A regression net whose last dense input (the 'penultimate output') is exposed."""

    head: nn.Sequential

    def embed(self, *inputs: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def penultimate(self, *inputs: torch.Tensor) -> torch.Tensor:
        """Activations feeding the output layer (used by the fusion model)."""
        h = self.embed(*inputs)
        for layer in list(self.head)[:-1]:
            h = layer(h)
        return h

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(*inputs)).squeeze(-1)


class CNNMagpie(_Penultimate):
    """Magpie vector as a 12 x 12 image through a small 2-D CNN."""

    def __init__(self, n_features: int = MAGPIE_FEATURES) -> None:
        super().__init__()
        if n_features > 144:
            raise ValueError(f"CNN+Magpie pads to 12 x 12 = 144; got {n_features} features")
        self.n_features = n_features
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1),
            nn.ReLU(),
            nn.AvgPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        self.head = _mlp([64 * 6 * 6, 48, 32, 1])

    def embed(self, magpie: torch.Tensor) -> torch.Tensor:
        x = nn.functional.pad(magpie, (0, 144 - magpie.shape[1])).view(-1, 1, 12, 12)
        return self.conv(x)


def _out(size: int, kernel: int, stride: int) -> int:
    return (size - kernel) // stride + 1


class CNN3D(_Penultimate):
    """3-D CNN on the density cube (one input channel)."""

    def __init__(self, grid: int, filters: tuple[int, int] = (200, 100)) -> None:
        super().__init__()
        k1 = min(5, grid)
        s1 = _out(grid, k1, k1)
        k2 = min(4, s1)
        s2 = _out(s1, k2, k2)
        layers: list[nn.Module] = [
            nn.Conv3d(1, filters[0], k1, stride=k1),
            nn.ReLU(),
            nn.Conv3d(filters[0], filters[1], k2, stride=k2),
            nn.ReLU(),
        ]
        if s2 >= 2:
            layers.append(nn.MaxPool3d(2))
            s2 //= 2
        layers.append(nn.Flatten())
        self.features = nn.Sequential(*layers)
        self.head = _mlp([filters[1] * s2**3, 512, 256, 128, 64, 32, 16, 1])

    def embed(self, density: torch.Tensor) -> torch.Tensor:
        return self.features(density.unsqueeze(1))


class _SqueezeExcite(nn.Module):
    def __init__(self, channels: int, width: int = 24, squeeze: int = 4) -> None:
        super().__init__()
        self.project = nn.Conv2d(channels, width, 1)
        self.gate = nn.Sequential(
            nn.Linear(width, squeeze), nn.ReLU(), nn.Linear(squeeze, width), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.project(x)
        weights = self.gate(x.mean(dim=(2, 3)))
        return x * weights[:, :, None, None]


class _ViewBranch(nn.Module):
    def __init__(self, grid: int) -> None:
        super().__init__()
        k1 = min(6, grid)
        size = _out(grid, k1, k1)
        layers: list[nn.Module] = [
            _SqueezeExcite(grid),
            nn.Conv2d(24, 64, k1, stride=k1),
            nn.ReLU(),
        ]
        if size >= 2:
            layers.append(nn.MaxPool2d(2))
            size //= 2
        k2 = min(5, size)
        layers += [nn.Conv2d(64, 128, k2, stride=2), nn.ReLU()]
        size = _out(size, k2, 2)
        if size >= 2:
            layers.append(nn.MaxPool2d(2))
        layers += [nn.AdaptiveMaxPool2d(1), nn.Flatten()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CNN2DProjected(_Penultimate):
    """The cube seen along x, y and z as three multi-channel images, one branch each."""

    def __init__(self, grid: int, width: int = 4096) -> None:
        super().__init__()
        self.branches = nn.ModuleList(_ViewBranch(grid) for _ in range(3))
        self.head = _mlp([3 * 128, width, width, 128, 128, 128, 32, 1])

    def embed(self, density: torch.Tensor) -> torch.Tensor:
        views = (density, density.permute(0, 2, 1, 3), density.permute(0, 3, 1, 2))
        return torch.cat([b(v) for b, v in zip(self.branches, views, strict=True)], dim=1)


class FusionNet(nn.Module):
    """Frozen pre-trained CNN+Magpie and 2D-CNN+ECD, their penultimate outputs fused."""

    def __init__(self, magpie_net: CNNMagpie, density_net: CNN2DProjected) -> None:
        super().__init__()
        self.magpie_net = magpie_net
        self.density_net = density_net
        for p in [*magpie_net.parameters(), *density_net.parameters()]:
            p.requires_grad_(False)
        self.head = _mlp([64, 128, 64, 32, 1])

    def forward(self, magpie: torch.Tensor, density: torch.Tensor) -> torch.Tensor:
        self.magpie_net.eval()
        self.density_net.eval()
        with torch.no_grad():
            h = torch.cat(
                [self.magpie_net.penultimate(magpie), self.density_net.penultimate(density)], 1
            )
        return self.head(h).squeeze(-1)


@dataclass(frozen=True)
class EcdModelSpec:
    """What a model eats and how it is optimised (the paper's settings)."""

    name: str
    inputs: tuple[str, ...]  # "magpie" and/or "density"
    kind: str  # "sklearn" | "torch"
    optimizer: str  # "adam" | "sgd" | "-"
    lr: float
    description: str
    builder: Callable[..., Any] | None = None


ECD_MODELS: dict[str, EcdModelSpec] = {
    spec.name: spec
    for spec in (
        EcdModelSpec(
            "RF+Magpie", ("magpie",), "sklearn", "-", 0.0, "random forest, 50 trees, Magpie"
        ),
        EcdModelSpec(
            "CNN+Magpie",
            ("magpie",),
            "torch",
            "adam",
            1e-3,
            "2-D CNN on the Magpie vector as a 12x12 image",
            lambda grid, width: CNNMagpie(),
        ),
        EcdModelSpec(
            "3D-CNN+ECD",
            ("density",),
            "torch",
            "adam",
            5e-4,
            "3-D CNN on the charge-density cube",
            lambda grid, width: CNN3D(grid),
        ),
        EcdModelSpec(
            "2D-CNN+ECD",
            ("density",),
            "torch",
            "sgd",
            1e-3,
            "projected 2-D CNN with squeeze-and-excitation on three views",
            lambda grid, width: CNN2DProjected(grid, width),
        ),
        EcdModelSpec(
            "Fusion(Magpie+ECD)",
            ("magpie", "density"),
            "torch",
            "adam",
            1e-3,
            "head on the fused penultimate outputs of pre-trained CNN+Magpie and 2D-CNN+ECD",
        ),
    )
}


def get_ecd_model(name: str) -> EcdModelSpec:
    """A registered model by name; an unknown name lists close matches."""
    try:
        return ECD_MODELS[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(ECD_MODELS), n=3, cutoff=0.3)
        raise KeyError(
            f"unknown ECD model {name!r}; did you mean {close or sorted(ECD_MODELS)}?"
        ) from None


def build_ecd_model(name: str, *, grid: int, width: int = 4096, seed: int = 0) -> Any:
    """A fresh model (torch module or sklearn estimator), seeded."""
    spec = get_ecd_model(name)
    if spec.kind == "sklearn":
        from sklearn.ensemble import RandomForestRegressor

        return RandomForestRegressor(n_estimators=50, random_state=seed, n_jobs=1)
    if spec.builder is None:
        raise ValueError(f"{name} is built from pre-trained parts: see matfusion.ecd.train")
    torch.manual_seed(seed)
    return spec.builder(grid, width)
