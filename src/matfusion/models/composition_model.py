"""`CompositionModel`: embedding -> a small DAG of named stages -> CrabNet-style output head.

One class serves every architecture of the family; the registry (:mod:`.registry`) only
decides which stages go in. Stage outputs are kept addressable by name so that the element
feature matrices (EFM) of any layer can be read without re-implementing the model.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .blocks import CompositionEmbedding, OutputHead, SeqInfo, module_config
from .conventions import Conventions

__all__ = ["EMBEDDING", "CompositionModel", "Stage"]

#: Layer name of the embedding output (the "input layer" EFM).
EMBEDDING = "embedding"


@dataclass(frozen=True)
class Stage:
    """A named stage: ``module(*outputs_of(inputs), seq=seq) -> (tensor, seq)``.

    ``inputs`` empty means "the previous stage" (the embedding for the first one). With
    several inputs, the padding mask of the first is used (they must agree).
    """

    name: str
    module: nn.Module
    inputs: tuple[str, ...] = ()


class CompositionModel(nn.Module):
    """A composition -> property model; ``forward`` gives ``(B, 2)``: value and log-uncertainty.

    Inputs are element indices ``(B, L)`` (0 = padding, trailing) and atomic fractions
    ``(B, L)``. The mask is ``elements != 0``; a down-sampling stage (DPCNN) replaces it for
    the stages after it, and its outputs then have fewer positions than elements.
    """

    def __init__(
        self,
        embedding: CompositionEmbedding,
        stages: Sequence[Stage],
        head: OutputHead,
        *,
        name: str = "custom",
        config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.name = name
        self.embedding = embedding
        self.stages = nn.ModuleDict()
        self.head = head
        self._inputs: list[tuple[str, ...]] = []
        known = [EMBEDDING]
        for stage in stages:
            if stage.name in known or stage.name in ("mask", "contributions", "output"):
                raise ValueError(f"duplicate or reserved stage name {stage.name!r}")
            inputs = stage.inputs or (known[-1],)
            for src in inputs:
                if src not in known:
                    raise ValueError(f"stage {stage.name!r} reads {src!r}, not defined before it")
            self.stages[stage.name] = stage.module
            self._inputs.append(tuple(inputs))
            known.append(stage.name)
        self._layer_names = known
        # After stage i, which earlier outputs are no longer needed (frees memory in forward).
        last_use = {n: i for i, ins in enumerate(self._inputs) for n in ins}
        last_use[known[-1]] = len(self._inputs)
        self._release = [
            [n for n, i in last_use.items() if i == k] for k in range(len(self._inputs))
        ]
        self._extra_config = dict(config or {})
        #: The :class:`~.conventions.Conventions` it was built with (set by ``compose``).
        self.conventions: Conventions | None = None

    # ------------------------------------------------------------------ introspection
    @property
    def layer_names(self) -> list[str]:
        """Stage names in order, the embedding first."""
        return list(self._layer_names)

    @property
    def default_efm_layer(self) -> str:
        """The last stage before the output head (the spec's default EFM layer)."""
        return self._layer_names[-1]

    @property
    def d_model(self) -> int:
        return self.embedding.d_model

    @property
    def config(self) -> dict[str, Any]:
        """JSON-able description of every architecture setting.

        ``build_model(config["name"], table, d_model=config["d_model"], **config["params"])``
        rebuilds the same architecture for registry models.
        """
        return {
            "name": self.name,
            "d_model": self.d_model,
            **self._extra_config,
            "embedding_layer": module_config(self.embedding),
            "stages": [
                {"name": n, "inputs": list(ins), **module_config(m)}
                for (n, m), ins in zip(self.stages.items(), self._inputs, strict=True)
            ],
            "head": module_config(self.head),
            "n_parameters": sum(p.numel() for p in self.parameters()),
        }

    # ------------------------------------------------------------------ computation
    def _run(
        self, elements: Tensor, fractions: Tensor, keep: set[str] | None
    ) -> tuple[Tensor, Tensor, SeqInfo, dict[str, tuple[Tensor, SeqInfo]]]:
        """Run the DAG; ``keep`` names outputs to return (None: only what the DAG needs)."""
        seq = SeqInfo(elements != 0)
        outputs: dict[str, tuple[Tensor, SeqInfo]] = {
            EMBEDDING: (self.embedding(elements, fractions, seq), seq)
        }
        kept: dict[str, tuple[Tensor, SeqInfo]] = {}
        for k, ((name, module), inputs) in enumerate(
            zip(self.stages.items(), self._inputs, strict=True)
        ):
            xs = [outputs[n][0] for n in inputs]
            outputs[name] = module(*xs, seq=outputs[inputs[0]][1])
            for n in self._release[k]:
                if keep is not None and n in keep:
                    kept[n] = outputs[n]
                del outputs[n]
        last = self._layer_names[-1]
        h, seq = outputs[last]
        if keep is not None:
            kept.update({n: v for n, v in outputs.items() if n in keep})
        out, contributions = self.head(h, seq)
        return out, contributions, seq, kept

    def forward(self, elements: Tensor, fractions: Tensor) -> Tensor:
        """``(B, 2)``: column 0 the prediction (scaled units), column 1 the log-uncertainty."""
        return self._run(elements, fractions, None)[0]

    def _check_layers(self, layers: Sequence[str]) -> None:
        for name in layers:
            if name not in self._layer_names:
                close = difflib.get_close_matches(name, self._layer_names, n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise KeyError(
                    f"unknown layer {name!r} of {self.name} "
                    f"(layers: {', '.join(self._layer_names)}){hint}"
                )

    def features(
        self, elements: Tensor, fractions: Tensor, layers: Sequence[str] | None = None
    ) -> dict[str, Tensor]:
        """Per-element outputs of the named layers (default: all), for analysis.

        Keys: each layer name -> ``(B, L', D)``; ``"mask/<layer>"`` -> its ``(B, L')`` mask
        (L' < L only after a DPCNN stage); ``"mask"`` -> the head's mask; ``"contributions"``
        -> ``(B, L')`` per-element value before averaging (0 at padding); ``"output"`` ->
        ``(B, 2)``. Gradients flow unless the caller disables them.
        """
        layers = list(self._layer_names if layers is None else layers)
        self._check_layers(layers)
        _check_trailing_padding(elements)
        out, contributions, seq, kept = self._run(elements, fractions, set(layers))
        result: dict[str, Tensor] = {}
        for name in layers:
            tensor, layer_seq = kept[name]
            result[name] = tensor
            result[f"mask/{name}"] = layer_seq.mask
        result["mask"] = seq.mask
        result["contributions"] = contributions
        result["output"] = out
        return result

    @torch.no_grad()
    def efm(
        self,
        elements: Tensor | np.ndarray,
        fractions: Tensor | np.ndarray,
        layer: str | None = None,
        *,
        batch_size: int = 1024,
    ) -> list[np.ndarray]:
        """Element feature matrix per compound: ``(n_i, D)`` float32 arrays, padding removed.

        ``n_i`` is the compound's number of elements, except after a DPCNN stage where it is
        the number of real pooled positions.
        """
        layer = layer or self.default_efm_layer
        self._check_layers([layer])
        device = next(self.parameters()).device
        elements = torch.as_tensor(elements, dtype=torch.long)
        fractions = torch.as_tensor(fractions, dtype=torch.get_default_dtype())
        result: list[np.ndarray] = []
        for start in range(0, elements.shape[0], batch_size):
            e = elements[start : start + batch_size].to(device)
            f = fractions[start : start + batch_size].to(device)
            feats = self.features(e, f, [layer])
            mask = feats[f"mask/{layer}"]
            rows = feats[layer][mask].float().cpu().numpy()
            counts = mask.sum(1).cpu().numpy()
            result.extend(np.split(rows, np.cumsum(counts)[:-1]))
        return result

    def extra_repr(self) -> str:
        return f"name={self.name!r}, layers={self._layer_names}"


def _check_trailing_padding(elements: Tensor) -> None:
    """Padding must follow the real elements (packing and the conv layers rely on it)."""
    mask = elements != 0
    if bool((mask[:, 1:] & ~mask[:, :-1]).any()):
        raise ValueError("padding (element 0) must come after the real elements in every row")
    if bool((~mask.any(1)).any()):
        raise ValueError("a compound has no elements (all padding)")
