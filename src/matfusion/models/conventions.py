"""Named, recorded choices where paper A is silent and readings of it differ.

Paper A (Du et al., JCTC 2024) leaves several details of its models open. Our first
implementation filled them with one reading of the text; the authors' public code
(github.com/dhw059/DeepModelFusion) fills them differently. Each such detail is one field of
:class:`Conventions`, and a model records the conventions it was built with (in
``model.config["params"]["conventions"]``), so a checkpoint or a result always says which
reading produced it.

Two sets are registered:

* ``"authors"`` (the default): the authors' code wherever the paper is silent, the paper
  where it speaks; the one exception is padding, which we always mask (see
  :attr:`Conventions.mask_padding`).
* ``"matfusion-v1"``: our first reading, kept bit-for-bit so that records and checkpoints
  made with it keep their meaning. A stored model config without a ``conventions`` entry
  was made before this module existed and is rebuilt with these.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "CONVENTIONS",
    "DEFAULT_CONVENTIONS",
    "LEGACY_CONVENTIONS",
    "UNMASKED_PADDING_REASON",
    "Conventions",
    "ElementOrder",
    "encoding_order",
    "get_conventions",
]

PoolAxis = Literal["elements", "features"]
ElementOrder = Literal["atomic_number", "fraction_desc"]
Gate = Literal["value_and_uncertainty", "value"]
Sinusoid = Literal["sin_cos", "sin"]

_CHOICES: dict[str, tuple[Any, ...]] = {
    "v1_pool_axis": ("elements", "features"),
    "element_order": ("atomic_number", "fraction_desc"),
    "gate": ("value_and_uncertainty", "value"),
    "fraction_sinusoid": ("sin_cos", "sin"),
}

#: Why unmasked padding is refused (the one place "authors" departs from the authors' code).
UNMASKED_PADDING_REASON = (
    "unmasked padding is not supported: the authors pad every compound to the longest "
    "compound of its CSV file and let the padding reach the recurrent layers (the backward "
    "pass starts in it), the attention softmax and the convolutions, so a formula's "
    "prediction and its element feature matrix would change with the file or batch it is "
    "in; we keep masking so a compound's output depends on that compound alone"
)


@dataclass(frozen=True)
class Conventions:
    """One reading of the details paper A leaves open; see the module docstring.

    Fields (the authors' value first where ours differed):

    * ``v1_pool_axis``: L-G-DCNN-V1's final max-pool (kernel 3, stride 1, padding 1) runs
      along ``"features"`` (the authors call ``F.max_pool1d`` on a (batch, elements,
      features) tensor, which pools the last axis) or along ``"elements"`` (our reading of
      "maximum pooling" between elements).
    * ``region_skip``: False (authors): the region-embedding convolution has no skip of its
      own; the "region-embedding residual" of the ablation (``region_residual``, Model 4)
      is the residual that adds the region embedding back after the first block. True
      (matfusion-v1): an extra skip around the region-embedding convolution, and
      ``region_residual`` switches that skip.
    * ``element_order``: element order inside a compound, ``"fraction_desc"`` (the authors'
      loader sorts by descending amount; equal amounts keep their order of first appearance
      in the formula, Python's stable sort) or ``"atomic_number"`` (ascending Z). Recurrent
      layers and kernel-3 convolutions see the order.
    * ``gate``: the mean logit's sigmoid multiplies only the ``"value"`` (authors and
      CrabNet) or ``"value_and_uncertainty"``.
    * ``dcnn_k1_width``: channels of DCNN-K1's convolutions and of its output head (authors:
      256 whatever d_model is); None = d_model.
    * ``fraction_resolution`` / ``fraction_resolution_overrides``: rows of the two fixed
      fraction tables, by default and per registered model name (authors: 5000 for LSTM,
      DCNN and DCNN-K1, 2000 for the fusions).
    * ``fraction_sinusoid``: the fraction tables use sin in even and cos in odd columns
      (``"sin_cos"``, CrabNet) or sin in both (``"sin"``, the authors' embedder).
    * ``mask_padding``: must be True; see :data:`UNMASKED_PADDING_REASON`.
    """

    name: str
    v1_pool_axis: PoolAxis
    region_skip: bool
    element_order: ElementOrder
    gate: Gate
    dcnn_k1_width: int | None
    fraction_sinusoid: Sinusoid
    fraction_resolution: int = 2000
    fraction_resolution_overrides: tuple[tuple[str, int], ...] = ()
    mask_padding: bool = True

    def __post_init__(self) -> None:
        for field_name, allowed in _CHOICES.items():
            value = getattr(self, field_name)
            if value not in allowed:
                raise ValueError(f"{field_name} must be one of {allowed}, got {value!r}")
        for field_name in ("region_skip", "mask_padding"):
            if not isinstance(getattr(self, field_name), bool):
                raise ValueError(f"{field_name} must be a bool, got {getattr(self, field_name)!r}")
        if self.dcnn_k1_width is not None and (
            not isinstance(self.dcnn_k1_width, int) or self.dcnn_k1_width < 1
        ):
            raise ValueError(
                f"dcnn_k1_width must be a positive int or None, got {self.dcnn_k1_width!r}"
            )
        overrides = tuple((str(k), int(v)) for k, v in self.fraction_resolution_overrides)
        object.__setattr__(self, "fraction_resolution_overrides", overrides)
        for model, res in ((None, self.fraction_resolution), *overrides):
            if int(res) < 2:
                raise ValueError(f"fraction resolution must be >= 2, got {res} for {model}")

    def resolution_for(self, model_name: str) -> int:
        """Fraction-table rows for the registered model ``model_name``."""
        return dict(self.fraction_resolution_overrides).get(model_name, self.fraction_resolution)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, stored in model configs and checkpoints."""
        out = dataclasses.asdict(self)
        out["fraction_resolution_overrides"] = dict(self.fraction_resolution_overrides)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Conventions:
        """Inverse of :meth:`to_dict`; unknown keys raise (a typo must not pass silently)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown convention field(s) {unknown}; known: {sorted(known)}")
        values = dict(data)
        overrides = values.get("fraction_resolution_overrides", ())
        if isinstance(overrides, Mapping):
            values["fraction_resolution_overrides"] = tuple(overrides.items())
        return cls(**values)

    def replace(self, name: str | None = None, **changes: Any) -> Conventions:
        """A copy with ``changes``; named ``"<name>+field=value,..."`` unless ``name`` is given."""
        if name is None:
            name = self.name + "".join(f"+{k}={v}" for k, v in changes.items())
        return dataclasses.replace(self, name=name, **changes)

    def differences(self, other: Conventions) -> dict[str, tuple[Any, Any]]:
        """Fields (name excluded) where ``self`` and ``other`` differ: ``{field: (mine, theirs)}``."""
        mine, theirs = self.to_dict(), other.to_dict()
        return {k: (mine[k], theirs[k]) for k in mine if k != "name" and mine[k] != theirs[k]}


#: Registered convention sets.
CONVENTIONS: dict[str, Conventions] = {
    "authors": Conventions(
        name="authors",
        v1_pool_axis="features",
        region_skip=False,
        element_order="fraction_desc",
        gate="value",
        dcnn_k1_width=256,
        fraction_sinusoid="sin",
        fraction_resolution=2000,
        fraction_resolution_overrides=(("LSTM", 5000), ("DCNN", 5000), ("DCNN-K1", 5000)),
        mask_padding=True,
    ),
    "matfusion-v1": Conventions(
        name="matfusion-v1",
        v1_pool_axis="elements",
        region_skip=True,
        element_order="atomic_number",
        gate="value_and_uncertainty",
        dcnn_k1_width=None,
        fraction_sinusoid="sin_cos",
        fraction_resolution=2000,
        fraction_resolution_overrides=(),
        mask_padding=True,
    ),
}

#: What :func:`matfusion.models.build_model` uses when not told otherwise.
DEFAULT_CONVENTIONS = "authors"

#: What a stored model config without a ``conventions`` entry was built with.
LEGACY_CONVENTIONS = "matfusion-v1"


def get_conventions(spec: Conventions | str | Mapping[str, Any] | None = None) -> Conventions:
    """A :class:`Conventions` from itself, a registered name (None: the default), a
    registered name with switched fields, ``"matfusion-v1+element_order=fraction_desc"``
    (the names :meth:`Conventions.replace` gives; chapter 03 trains one run per switch), or
    a dict written by :meth:`Conventions.to_dict` (as stored in model configs)."""
    if spec is None:
        spec = DEFAULT_CONVENTIONS
    if isinstance(spec, Conventions):
        return spec
    if isinstance(spec, Mapping):
        return Conventions.from_dict(spec)
    if isinstance(spec, str):
        base, *switches = spec.split("+")
        try:
            conventions = CONVENTIONS[base]
        except KeyError:
            close = difflib.get_close_matches(base, list(CONVENTIONS), n=2, cutoff=0.4)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise KeyError(
                f"unknown conventions {base!r}{hint} (registered: {', '.join(CONVENTIONS)})"
            ) from None
        return conventions.replace(**_parse_switches(spec, switches)) if switches else conventions
    raise TypeError(
        f"conventions must be a Conventions, a name or a dict, got {type(spec).__name__}"
    )


def _parse_switches(spec: str, switches: list[str]) -> dict[str, Any]:
    """``["field=value", ...]`` of a ``"base+field=value+..."`` spec (as
    :meth:`Conventions.replace` names a variant) -> ``{field: value}``; values are Python
    literals (``True``, ``256``, ``None``, tuples) or bare words (``features``)."""
    import ast

    known = [f.name for f in dataclasses.fields(Conventions) if f.name != "name"]
    out: dict[str, Any] = {}
    for switch in switches:
        field_name, sep, text = switch.partition("=")
        if not sep or field_name not in known:
            close = difflib.get_close_matches(field_name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise KeyError(
                f"conventions {spec!r}: {switch!r} is not field=value with a known field{hint} "
                f"(fields: {', '.join(known)})"
            )
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text
        if field_name == "fraction_resolution_overrides" and isinstance(value, Mapping):
            value = tuple(value.items())
        out[field_name] = value
    return out


def encoding_order(conventions: Conventions | str | Mapping[str, Any] | Any = None) -> ElementOrder:
    """The ``order`` to pass to :func:`matfusion.featurize.encode_formulas` for models built
    with ``conventions``: a model must be fed compounds in the order it was trained on.

    Also accepts a built model (anything with a ``conventions`` attribute); a model without
    recorded conventions predates them and was fed ascending atomic numbers.
    """
    if hasattr(conventions, "conventions"):
        conventions = conventions.conventions or LEGACY_CONVENTIONS
    return get_conventions(conventions).element_order
