"""Paper B's five models, each named once in :data:`ECD_MODELS`.

Architectures follow ``shared/spec/ecd.md`` (the paper's Section 2.3); where the paper leaves a
size open we choose and say so here:

* ``RF+Magpie``: scikit-learn random forest, 50 trees, on the 132 Magpie features.
* ``CNN+Magpie``: the 132 features zero-padded to 144 and shaped 12 x 12; two 3x3 convs (32,
  'same' padding), 2x2 average pool, a 3x3 conv (64), dense 48, 32, 1.
* ``3D-CNN+ECD``: Conv3d 200 @ 5^3 stride 5, Conv3d 100 @ 4^3 stride 4 (filter count ours),
  MaxPool3d 2, then seven dense layers 512-256-128-64-32-16-1 (widths ours). How it runs on
  grids other than 60^3 and whether it sees the whole cube depends on the variant (below).
* ``2D-CNN+ECD``: the cube viewed along x, y and z (the viewing axis as channels); per view a
  squeeze-and-excitation block (1x1 conv to 24 channels, global average pool, dense 4, dense
  24, sigmoid, channel rescale) and a CNN block (conv 64 @ 6x6 stride 6, conv 128 @ 5x5
  stride 2, 2x2 max pools after each, then a global max pool so each view gives 128 values
  at any grid size; the ``paper`` variant differs, below); the three views concatenated
  (384), dense ``width``,
  ``width``, 128, 128, 128, 32, 1 (paper: width 4096).
* ``Fusion(Magpie+ECD)``: the penultimate (32-wide) outputs of a pre-trained CNN+Magpie and a
  pre-trained 2D-CNN+ECD concatenated (64), then dense 128, 64, 32, 1. The two pre-trained
  networks are frozen (the paper does not say; freezing keeps the fusion a head on fixed
  features and makes it cheap).

Architecture variants (:data:`ECD_VARIANTS`, the ``variant`` argument of the density models):
strided convolutions with stride = kernel and valid padding drop the cube's last voxels when
the size is not a multiple of the stride, and a final 2x pool drops a whole trailing cell, so
the paper's layer list sees only part of the cube. :func:`input_coverage` measures that by
gradients. ``"paper"`` is the layer list taken literally (valid padding; it needs a grid of at
least 40 for the 3D-CNN and 42 for the 2D-CNN, and at 60^3 the 3D-CNN reaches voxels 0-39
only); ``"matfusion-v1"`` is the network these models had before variants existed (kernels
clamped and pools skipped at small grids; kept bit for bit so stored runs keep their meaning);
``"whole-cube"`` (the default) keeps the paper's layer list but pads every strided layer's
input periodically (wrap-around) up to the size its kernel and stride tile exactly, so every
voxel reaches the output at every grid. Wrap-around is the physical choice for the input: the
density is periodic, so the voxels past the cell's edge are its first ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from matfusion.registry import Registry

__all__ = [
    "DEFAULT_ECD_VARIANT",
    "ECD_MODELS",
    "ECD_VARIANTS",
    "MAGPIE_FEATURES",
    "CNN2DProjected",
    "CNN3D",
    "CNNMagpie",
    "EcdModelSpec",
    "FusionNet",
    "build_ecd_model",
    "get_ecd_model",
    "input_coverage",
    "layer_table",
]

#: Length of matminer's ElementProperty "magpie" vector (22 properties x 6 statistics).
MAGPIE_FEATURES = 132

#: Architecture variants of the density models (3D-CNN, 2D-CNN and so the fusion).
ECD_VARIANTS: Registry[str] = Registry(
    "ECD architecture variant",
    {
        "paper": (
            "the paper's layer list taken literally, valid padding (3D: grid >= 40, "
            "2D: grid >= 42; at 60^3 the 3D-CNN sees voxels 0-39 per axis, the 2D-CNN "
            "pixels 0-41 per plane)"
        ),
        "matfusion-v1": (
            "the first matfusion networks: kernels clamped and pools skipped at small grids, the "
            "2D-CNN's views globally max-pooled (sees voxels 0-19 of 32 per axis in 3D)"
        ),
        "whole-cube": (
            "the paper's layer list with each strided layer's input padded periodically to a size "
            "its kernel and stride tile: every voxel reaches the output at any grid"
        ),
    }.items(),
)
#: The variant new runs use.
DEFAULT_ECD_VARIANT = "whole-cube"


def _check_variant(variant: str) -> str:
    ECD_VARIANTS[variant]  # an unknown variant: the one-line error with close matches
    return variant


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


def _wrapped(size: int, kernel: int, stride: int) -> int:
    """Smallest length >= ``size`` (and >= ``kernel``) that ``kernel``/``stride`` tile exactly."""
    return kernel + stride * -(-max(size - kernel, 0) // stride)


class _WrapPad(nn.Module):
    """Periodic (wrap-around) padding of the trailing ``dims`` axes up to the length that the
    next layer's kernel and stride tile exactly, so no trailing voxel is dropped.

    Index-based, so it may wrap more than once (a 2-long map padded to a 5-wide kernel)."""

    def __init__(self, kernel: int, stride: int, dims: int) -> None:
        super().__init__()
        self.kernel, self.stride, self.dims = kernel, stride, dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for axis in range(x.ndim - self.dims, x.ndim):
            size = x.shape[axis]
            target = _wrapped(size, self.kernel, self.stride)
            if target != size:
                index = torch.arange(target, device=x.device) % size
                x = x.index_select(axis, index)
        return x

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}, stride={self.stride}, dims={self.dims}"


def _too_small(model: str, grid: int, minimum: int) -> ValueError:
    return ValueError(
        f"the paper's {model} layer list taken literally needs a grid of at least {minimum} "
        f"(got {grid}); use variant 'whole-cube' (or 'matfusion-v1') for smaller grids"
    )


class CNN3D(_Penultimate):
    """3-D CNN on the density cube (one input channel); ``variant`` in :data:`ECD_VARIANTS`."""

    def __init__(
        self,
        grid: int,
        filters: tuple[int, int] = (200, 100),
        variant: str = DEFAULT_ECD_VARIANT,
    ) -> None:
        super().__init__()
        self.grid, self.variant = grid, _check_variant(variant)
        layers: list[nn.Module]
        if variant == "matfusion-v1":
            k1 = min(5, grid)
            s1 = _out(grid, k1, k1)
            k2 = min(4, s1)
            s2 = _out(s1, k2, k2)
            layers = [
                nn.Conv3d(1, filters[0], k1, stride=k1),
                nn.ReLU(),
                nn.Conv3d(filters[0], filters[1], k2, stride=k2),
                nn.ReLU(),
            ]
            if s2 >= 2:
                layers.append(nn.MaxPool3d(2))
                s2 //= 2
        elif variant == "paper":
            s2 = _out(grid, 5, 5) // 4 // 2 if grid >= 5 else 0
            if s2 < 1:
                raise _too_small("3D-CNN", grid, 40)
            layers = [
                nn.Conv3d(1, filters[0], 5, stride=5),
                nn.ReLU(),
                nn.Conv3d(filters[0], filters[1], 4, stride=4),
                nn.ReLU(),
                nn.MaxPool3d(2),
            ]
        else:  # whole-cube
            s2 = _wrapped(_wrapped(_wrapped(grid, 5, 5) // 5, 4, 4) // 4, 2, 2) // 2
            layers = [
                _WrapPad(5, 5, 3),
                nn.Conv3d(1, filters[0], 5, stride=5),
                nn.ReLU(),
                _WrapPad(4, 4, 3),
                nn.Conv3d(filters[0], filters[1], 4, stride=4),
                nn.ReLU(),
                _WrapPad(2, 2, 3),
                nn.MaxPool3d(2),
            ]
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

    #: Cut the gate's gradient (set by :func:`input_coverage`): the gate sees every pixel only
    #: through the plane's global mean, which is not spatial coverage.
    detach_gate: bool = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.project(x)
        weights = self.gate(x.mean(dim=(2, 3)))
        if self.detach_gate:
            weights = weights.detach()
        return x * weights[:, :, None, None]


class _ViewBranch(nn.Module):
    """One view of the cube: squeeze-and-excitation, then the CNN block; ``out_features``
    values per sample."""

    def __init__(self, grid: int, variant: str = DEFAULT_ECD_VARIANT) -> None:
        super().__init__()
        layers: list[nn.Module]
        if variant == "matfusion-v1":
            k1 = min(6, grid)
            size = _out(grid, k1, k1)
            layers = [
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
            self.out_features = 128
        elif variant == "paper":
            # The text's CNN block: two convolutions, then one 2x2 max pool (the figure's
            # caption, a pool after every convolution, cannot run at 60: the second pool
            # would meet a 1x1 map). At 60 this gives 128 x 1 x 1 per view, the paper's 384.
            size = _out(_out(grid, 6, 6), 5, 2) // 2 if grid >= 30 else 0
            if size < 1:
                raise _too_small("2D-CNN", grid, 42)
            layers = [
                _SqueezeExcite(grid),
                nn.Conv2d(24, 64, 6, stride=6),
                nn.ReLU(),
                nn.Conv2d(64, 128, 5, stride=2),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Flatten(),
            ]
            self.out_features = 128 * size**2
        else:  # whole-cube: v1's reading (a pool after each conv), every stride tiled
            layers = [
                _SqueezeExcite(grid),
                _WrapPad(6, 6, 2),
                nn.Conv2d(24, 64, 6, stride=6),
                nn.ReLU(),
                _WrapPad(2, 2, 2),
                nn.MaxPool2d(2),
                _WrapPad(5, 2, 2),
                nn.Conv2d(64, 128, 5, stride=2),
                nn.ReLU(),
                _WrapPad(2, 2, 2),
                nn.MaxPool2d(2),
                nn.AdaptiveMaxPool2d(1),  # 1x1 already up to grid 60; any grid gives 128
                nn.Flatten(),
            ]
            self.out_features = 128
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CNN2DProjected(_Penultimate):
    """The cube seen along x, y and z as three multi-channel images, one branch each;
    ``variant`` in :data:`ECD_VARIANTS`."""

    def __init__(self, grid: int, width: int = 4096, variant: str = DEFAULT_ECD_VARIANT) -> None:
        super().__init__()
        self.grid, self.variant = grid, _check_variant(variant)
        self.branches = nn.ModuleList(_ViewBranch(grid, variant) for _ in range(3))
        per_view = self.branches[0].out_features
        self.head = _mlp([3 * per_view, width, width, 128, 128, 128, 32, 1])

    @staticmethod
    def views(density: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The cube along x, y and z: the viewing axis first (as channels), then the plane."""
        return density, density.permute(0, 2, 1, 3), density.permute(0, 3, 1, 2)

    def embed(self, density: torch.Tensor) -> torch.Tensor:
        views = self.views(density)
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


#: Paper B's models, by the names of the paper's tables.
ECD_MODELS: Registry[EcdModelSpec] = Registry.named(
    "ECD model",
    [
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
            lambda grid, width, variant: CNNMagpie(),
        ),
        EcdModelSpec(
            "3D-CNN+ECD",
            ("density",),
            "torch",
            "adam",
            5e-4,
            "3-D CNN on the charge-density cube",
            lambda grid, width, variant: CNN3D(grid, variant=variant),
        ),
        EcdModelSpec(
            "2D-CNN+ECD",
            ("density",),
            "torch",
            "sgd",
            1e-3,
            "projected 2-D CNN with squeeze-and-excitation on three views",
            lambda grid, width, variant: CNN2DProjected(grid, width, variant),
        ),
        EcdModelSpec(
            "Fusion(Magpie+ECD)",
            ("magpie", "density"),
            "torch",
            "adam",
            1e-3,
            "head on the fused penultimate outputs of pre-trained CNN+Magpie and 2D-CNN+ECD",
        ),
    ],
)


def get_ecd_model(name: str) -> EcdModelSpec:
    """A registered model by name; an unknown name is one line with close matches."""
    return ECD_MODELS[name]


def build_ecd_model(
    name: str,
    *,
    grid: int,
    width: int = 4096,
    seed: int = 0,
    variant: str = DEFAULT_ECD_VARIANT,
) -> Any:
    """A fresh model (torch module or sklearn estimator), seeded.

    ``variant`` (:data:`ECD_VARIANTS`) shapes the density models; the Magpie-only models
    ignore it. Stored runs made before variants existed used ``"matfusion-v1"``."""
    spec = get_ecd_model(name)
    _check_variant(variant)
    if spec.kind == "sklearn":
        from sklearn.ensemble import RandomForestRegressor

        return RandomForestRegressor(n_estimators=50, random_state=seed, n_jobs=1)
    if spec.builder is None:
        raise ValueError(f"{name} is built from pre-trained parts: see matfusion.ecd.fitting")
    torch.manual_seed(seed)
    return spec.builder(grid, width, variant)


# --------------------------------------------------------------------------- what the nets see


def _index_ranges(mask: np.ndarray) -> list[tuple[int, int]]:
    """Runs of True in a 1-D mask as inclusive ``(first, last)`` index pairs."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > 1)
    starts = np.r_[idx[0], idx[breaks + 1]]
    stops = np.r_[idx[breaks], idx[-1]]
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]


def _mask_summary(mask: np.ndarray, axes: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"ranges": {}, "covered_per_axis": {}}
    for i, axis in enumerate(axes):
        along = mask.any(axis=tuple(j for j in range(mask.ndim) if j != i))
        out["ranges"][axis] = _index_ranges(along)
        out["covered_per_axis"][axis] = int(along.sum())
    out["fraction"] = float(mask.mean())
    return out


def input_coverage(
    model: nn.Module,
    grid: int,
    *,
    samples: int = 8,
    seed: int = 0,
    include_global: bool = False,
) -> dict[str, Any]:
    """Which voxels of a ``grid``^3 input reach a density model's output, by gradients.

    Sums ``|d embedding / d input|`` over ``samples`` random normal inputs (signed inputs keep
    every filter active somewhere, and max pools pick different winners per sample); a voxel
    with a non-zero sum reaches the output. Measured at the embedding (the dense head's
    input), because the head connects every embedding value to the output, while a randomly
    initialised head can have a layer of dead ReLUs that would hide everything.
    ``include_global=False`` cuts the squeeze-and-excitation gates' gradient: they see each
    pixel only through the plane's mean, so with them every voxel counts as seen.

    Returns ``ranges`` (per axis, inclusive index runs that reach the output), ``covered_per_axis``,
    ``fraction`` (of the cube's voxels) and, for the 2D-CNN, ``views``: the same per view
    (``x``, ``y``, ``z``: the viewing axis) over that view's image plane (``rows``, ``cols``).
    A :class:`FusionNet` is measured through its 2D-CNN.
    """
    net = model.density_net if isinstance(model, FusionNet) else model
    if not isinstance(net, CNN3D | CNN2DProjected):
        raise TypeError(f"input_coverage needs a density model, not {type(model).__name__}")
    gates = [m for m in net.modules() if isinstance(m, _SqueezeExcite)]
    training = net.training
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(samples, grid, grid, grid, generator=gen)
    try:
        net.eval()
        for gate in gates:
            gate.detach_gate = not include_global
        with torch.enable_grad():
            cube = x.clone().requires_grad_(True)
            net.embed(cube).sum().backward()
            seen = (cube.grad.abs().sum(0) > 0).numpy()
            views = {}
            if isinstance(net, CNN2DProjected):
                for axis, branch, view in zip("xyz", net.branches, net.views(x), strict=True):
                    plane = view.clone().requires_grad_(True)
                    branch(plane).sum().backward()
                    pixels = (plane.grad.abs().sum((0, 1)) > 0).numpy()
                    views[axis] = _mask_summary(pixels, ("rows", "cols"))
    finally:
        for gate in gates:
            gate.detach_gate = False
        net.zero_grad(set_to_none=True)
        net.train(training)
    out = {
        "model": type(net).__name__,
        "variant": getattr(net, "variant", None),
        "grid": int(grid),
        **_mask_summary(seen, ("x", "y", "z")),
    }
    if views:
        out["views"] = views
    return out


def _layer_label(module: nn.Module) -> str:
    kind = type(module).__name__
    if isinstance(module, nn.Conv2d | nn.Conv3d):
        return f"{kind} {module.in_channels}->{module.out_channels}"
    if isinstance(module, nn.Linear):
        return f"{kind} {module.in_features}->{module.out_features}"
    if isinstance(module, _SqueezeExcite):
        return "SE gate (global mean)"
    return kind


def _size(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return "x".join(str(v) for v in value)
    return str(value)


def layer_table(
    name: str,
    grid: int,
    variant: str = DEFAULT_ECD_VARIANT,
    *,
    width: int = 4096,
    filters: tuple[int, int] = (200, 100),
) -> Any:
    """The layers of a torch model at ``grid`` as a table for the method section.

    Columns: ``module`` (its name in the state dict), ``layer``, ``kernel``, ``stride``,
    ``padding`` (``wrap +k`` where the whole-cube variant pads periodically, ``valid``
    otherwise), ``output shape`` (one sample) and ``parameters``; a last ``total`` row. For the
    2D-CNN the x view's layers are listed and one row holds the y and z views (same layers);
    the fusion lists its head after its two parts' totals.
    """
    import pandas as pd

    spec = get_ecd_model(name)
    if spec.kind != "torch":
        raise ValueError(f"{name} is not a neural network")
    if name == "Fusion(Magpie+ECD)":
        parts = (CNNMagpie(), CNN2DProjected(grid, width, variant))
        model: nn.Module = FusionNet(*parts)
    elif name == "3D-CNN+ECD":
        model = CNN3D(grid, filters, variant)
    else:
        model = build_ecd_model(name, grid=grid, width=width, variant=variant)
    rows: list[dict[str, Any]] = []
    pending_pad: list[int] = []
    skip = ("branches.1", "branches.2", "magpie_net", "density_net")
    named = {m: n for n, m in model.named_modules()}

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        qual = named[module]
        if qual.startswith(skip) or isinstance(module, nn.ReLU):
            return
        if isinstance(module, _WrapPad):
            pending_pad.append(output.shape[-1] - inputs[0].shape[-1])
            return
        kernel = getattr(module, "kernel_size", None)
        stride = getattr(module, "stride", None)
        padding = ""
        if kernel is not None:
            extra = pending_pad.pop() if pending_pad else 0
            padding = f"wrap +{extra}" if extra else "valid"
            if isinstance(module, nn.Conv2d | nn.Conv3d) and any(module.padding):
                padding = f"zeros {_size(module.padding)}"
        if isinstance(kernel, int):
            kernel = (kernel,) * (output.ndim - 2)
        if isinstance(stride, int):
            stride = (stride,) * (output.ndim - 2)
        if isinstance(module, nn.AdaptiveMaxPool2d):
            kernel, stride, padding = "global", "", ""
        own = module.gate if isinstance(module, _SqueezeExcite) else module  # project: own row
        rows.append(
            {
                "module": qual,
                "layer": _layer_label(module),
                "kernel": _size(kernel),
                "stride": _size(stride),
                "padding": padding,
                "output shape": _size(tuple(output.shape[1:])),
                "parameters": sum(p.numel() for p in own.parameters()),
            }
        )
        pending_pad.clear()

    leaves = [
        m
        for m in model.modules()
        if not list(m.children()) or isinstance(m, _SqueezeExcite | _WrapPad)
    ]
    gate_parts = {id(m) for g in model.modules() if isinstance(g, _SqueezeExcite) for m in g.gate}
    handles = [m.register_forward_hook(hook) for m in leaves if id(m) not in gate_parts]
    for part_name, part in (("magpie_net", "magpie"), ("density_net", "density")):
        sub = getattr(model, part_name, None)
        if sub is not None:
            rows.append(
                {
                    "module": part_name,
                    "layer": f"pre-trained {type(sub).__name__} ({part} in, 32 out)",
                    "kernel": "",
                    "stride": "",
                    "padding": "",
                    "output shape": "32",
                    "parameters": sum(p.numel() for p in sub.parameters()),
                }
            )
    try:
        model.eval()
        with torch.no_grad():
            density = torch.zeros(1, grid, grid, grid)
            magpie = torch.zeros(1, MAGPIE_FEATURES)
            if spec.inputs == ("magpie",):
                model(magpie)
            elif spec.inputs == ("density",):
                model(density)
            else:
                model(magpie, density)
    finally:
        for h in handles:
            h.remove()
    if isinstance(model, CNN2DProjected):
        at = next(i for i, r in enumerate(rows) if r["module"].startswith("head"))
        others = [*model.branches[1].parameters(), *model.branches[2].parameters()]
        rows.insert(
            at,
            {
                "module": "branches.1, branches.2",
                "layer": "views y and z (same layers as x), concatenated",
                "kernel": "",
                "stride": "",
                "padding": "",
                "output shape": str(model.head[0].in_features),
                "parameters": sum(p.numel() for p in others),
            },
        )
    total = sum(p.numel() for p in model.parameters())
    rows.append(
        {
            "module": "total",
            "layer": f"{name} ({variant}, grid {grid})" if "density" in spec.inputs else name,
            "kernel": "",
            "stride": "",
            "padding": "",
            "output shape": "1",
            "parameters": total,
        }
    )
    return pd.DataFrame(rows)
