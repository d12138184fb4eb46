"""Building blocks shared by every composition model of the L-G-DCNN family.

Every model is an embedding, a small chain (or DAG) of *stages* and an output head. A stage
takes per-element tensors laid out ``(B, L, D)`` (batch, element, feature) plus a
:class:`SeqInfo` that carries the padding mask, and returns a new tensor and the (possibly
down-sampled) :class:`SeqInfo`. Every stage keeps padded positions exactly zero, so padding can
never leak into a real element, whatever the batch's padded length is: that is what makes the
prediction of a compound independent of the batch it is in.

Numbers and formulas follow ``shared/spec/lgdcnn.md`` (paper A: Du et al., JCTC 2024, built on
CrabNet: Wang et al., npj Comput. Mater. 7, 77, 2021).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

__all__ = [
    "FRACTION_RESOLUTION",
    "CompositionEmbedding",
    "ConvStack",
    "ElementConv",
    "ElementMaxPool",
    "FeatureMaxPool",
    "OutputHead",
    "PackedRows",
    "PostProcessNet",
    "Recurrent",
    "SelfAttention",
    "SeqInfo",
    "SoftAttention",
    "SumStages",
    "fraction_indices",
    "log_fraction",
    "sinusoid_table",
]

#: Rows of the two fixed fraction-encoding tables (CrabNet's resolution for these models).
FRACTION_RESOLUTION = 2000


class PackedRows:
    """The real elements of a padded batch as rows, compound after compound.

    ``index`` gives each row's flat position in the ``(B * width)`` padded grid, ``pos`` its
    position inside its compound and ``length`` that compound's number of real positions.
    Convolutions and pooling along the element axis then become row shifts plus a validity
    mask, and no work is spent on padding.
    """

    __slots__ = ("_valid", "index", "length", "pos", "width")

    def __init__(self, index: Tensor, pos: Tensor, length: Tensor, width: int) -> None:
        self.index = index
        self.pos = pos
        self.length = length
        self.width = width
        self._valid: dict[int, Tensor] = {}

    @classmethod
    def from_mask(cls, mask: Tensor) -> PackedRows:
        width = mask.shape[1]
        index = mask.reshape(-1).nonzero().squeeze(1)
        lengths = mask.sum(1)
        return cls(index, index % width, lengths[index // width], width)

    def valid(self, offset: int) -> Tensor:
        """``(N, 1)`` bool: the element ``offset`` places away is in the same compound."""
        if offset not in self._valid:
            target = self.pos + offset
            self._valid[offset] = ((target >= 0) & (target < self.length)).unsqueeze(1)
        return self._valid[offset]

    def scatter(self, rows: Tensor, batch: int) -> Tensor:
        """Back to the padded ``(B, width, D)`` layout, zeros at padding."""
        out = rows.new_zeros(batch * self.width, rows.shape[1])
        return out.index_copy(0, self.index, rows).view(batch, self.width, rows.shape[1])

    def mask(self, batch: int) -> Tensor:
        """The ``(B, width)`` bool mask of these rows."""
        flat = torch.zeros(batch * self.width, dtype=torch.bool, device=self.index.device)
        return flat.index_fill(0, self.index, True).view(batch, self.width)


def shift_rows(rows: Tensor, offset: int, fill: float = 0.0) -> Tensor:
    """Row ``r`` of the result is row ``r + offset`` of ``rows`` (``fill`` past the ends)."""
    n = rows.shape[0]
    if offset > 0:
        return F.pad(rows[offset:], (0, 0, 0, min(offset, n)), value=fill)
    return F.pad(rows[: n + offset], (0, 0, min(-offset, n), 0), value=fill)


class SeqInfo:
    """Padding mask of a batch plus values derived from it, computed once and shared.

    ``mask`` is ``(B, L)`` bool, True at real elements. Padding is assumed to be trailing (the
    featuriser pads at the end), which is what ``pack_padded_sequence`` needs.
    """

    __slots__ = ("_counts", "_lengths", "_packed", "_pad3", "mask")

    def __init__(self, mask: Tensor, packed: PackedRows | None = None) -> None:
        self.mask = mask
        self._pad3: Tensor | None = None
        self._lengths: Tensor | None = None
        self._counts: Tensor | None = None
        self._packed = packed

    @property
    def pad3(self) -> Tensor:
        """``(B, L, 1)`` bool, True at padding: broadcasts over the feature axis."""
        if self._pad3 is None:
            self._pad3 = ~self.mask.unsqueeze(-1)
        return self._pad3

    @property
    def lengths(self) -> Tensor:
        """Real elements per compound as a CPU int64 tensor (what packing wants)."""
        if self._lengths is None:
            self._lengths = self.mask.sum(1).cpu()
        return self._lengths

    @property
    def counts(self) -> Tensor:
        """``(B, 1)`` float count of real elements, for masked means."""
        if self._counts is None:
            self._counts = self.mask.sum(1, keepdim=True).to(torch.get_default_dtype())
        return self._counts

    @property
    def packed(self) -> PackedRows:
        """The real positions as rows (see :class:`PackedRows`)."""
        if self._packed is None:
            self._packed = PackedRows.from_mask(self.mask)
        return self._packed


# ----------------------------------------------------------------------------- embedding


SINUSOIDS: tuple[str, ...] = ("sin_cos", "sin")


def sinusoid_table(resolution: int, width: int, kind: str = "sin_cos") -> Tensor:
    """Fixed fraction table: row i, column j is a sinusoid of ``i / 50**(2j / width)``, a
    smooth code in which nearby fractions get nearby vectors.

    ``kind="sin_cos"`` (CrabNet): sin in even and cos in odd columns; ``"sin"`` (the
    authors' embedder): sin in every column.
    """
    if kind not in SINUSOIDS:
        raise ValueError(f"sinusoid kind must be one of {SINUSOIDS}, got {kind!r}")
    i = torch.arange(resolution, dtype=torch.float64).unsqueeze(1)
    j = torch.arange(width, dtype=torch.float64).unsqueeze(0)
    angle = i / torch.pow(50.0, 2.0 * j / width)
    if kind == "sin":
        table = torch.sin(angle)
    else:
        table = torch.where(j.long() % 2 == 0, torch.sin(angle), torch.cos(angle))
    return table.to(torch.float32)


def log_fraction(x: Tensor) -> Tensor:
    """Log-scaled fraction ``min(1, 0.0025 * log2(x)**2)``: resolves dopant-level amounts.

    ``x = 0`` (padding) maps to 1, like any tiny amount.
    """
    return torch.clamp(0.0025 * torch.log2(x) ** 2, max=1.0)


def fraction_indices(x: Tensor, resolution: int = FRACTION_RESOLUTION) -> Tensor:
    """Table row of a fraction: ``round(clamp(x, 1/res, 1) * res) - 1`` (x=1 -> res-1)."""
    x = torch.clamp(x, min=1.0 / resolution, max=1.0)
    return torch.round(x * resolution).long() - 1


class CompositionEmbedding(nn.Module):
    """Element table -> trainable Linear, plus the two fixed fraction encodings.

    ``x = Linear(table[Z]) * 2**a + [frac_enc(x) * 2**((1-b)**2) | logfrac_enc(x) *
    2**((1-c)**2)]`` with learnable scalars a, b, c initialised to 1 (CrabNet's scalers).
    The Linear is applied to the whole (small) table and then indexed, which is the same
    function as indexing first but much cheaper in the backward pass.
    """

    def __init__(
        self,
        element_vectors: np.ndarray | Tensor,
        d_model: int,
        resolution: int = FRACTION_RESOLUTION,
        sinusoid: str = "sin_cos",
    ) -> None:
        super().__init__()
        if d_model % 2:
            raise ValueError(f"d_model must be even (two fraction halves), got {d_model}")
        table = torch.tensor(np.array(element_vectors, dtype=np.float32))
        if table.ndim != 2:
            raise ValueError(f"element_vectors must be 2-D (n+1, dim), got {tuple(table.shape)}")
        # Rows without an embedding may be NaN; zero them so they cannot poison the gradient
        # of the projection (the whole table goes through the Linear).
        table = torch.nan_to_num(table, nan=0.0, posinf=0.0, neginf=0.0)
        self.register_buffer("element_table", table)
        self.project = nn.Linear(table.shape[1], d_model)
        self.resolution = resolution
        self.sinusoid = sinusoid
        self.d_model = d_model
        half = d_model // 2
        codes = sinusoid_table(resolution, half, sinusoid)
        self.register_buffer("frac_table", codes, persistent=False)
        self.register_buffer("logfrac_table", codes.clone(), persistent=False)
        self.a = nn.Parameter(torch.tensor(1.0))
        self.b = nn.Parameter(torch.tensor(1.0))
        self.c = nn.Parameter(torch.tensor(1.0))

    def fraction_encoding(self, fractions: Tensor) -> Tensor:
        """The scaled ``[frac | logfrac]`` half-and-half encoding, ``(B, L, d_model)``."""
        lin = self.frac_table[fraction_indices(fractions, self.resolution)]
        log = self.logfrac_table[fraction_indices(log_fraction(fractions), self.resolution)]
        return torch.cat(
            (lin * torch.exp2((1 - self.b) ** 2), log * torch.exp2((1 - self.c) ** 2)), dim=-1
        )

    def forward(self, elements: Tensor, fractions: Tensor, seq: SeqInfo) -> Tensor:
        emb = F.embedding(elements, self.project(self.element_table))
        x = emb * torch.exp2(self.a) + self.fraction_encoding(fractions)
        return x.masked_fill(seq.pad3, 0.0)

    def config(self) -> dict[str, Any]:
        return {
            "kind": "embedding",
            "table_shape": list(self.element_table.shape),
            "resolution": self.resolution,
            "sinusoid": self.sinusoid,
        }


# ----------------------------------------------------------------------------- stages


class Recurrent(nn.Module):
    """Bidirectional RNN/LSTM/GRU (the global extractors), hidden d/2 per direction.

    Sequences are packed so the backward direction starts at each compound's last real
    element rather than at the padding.
    """

    _CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}

    def __init__(self, kind: str, d_model: int) -> None:
        super().__init__()
        if kind not in self._CELLS:
            raise ValueError(f"recurrent kind must be one of {sorted(self._CELLS)}, got {kind!r}")
        self.kind = kind
        self.rnn = self._CELLS[kind](d_model, d_model // 2, batch_first=True, bidirectional=True)

    def forward(self, x: Tensor, seq: SeqInfo) -> tuple[Tensor, SeqInfo]:
        lengths = seq.lengths
        if int(lengths.min()) == x.shape[1]:  # no padding at all: skip the packing
            return self.rnn(x)[0], seq
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=x.shape[1])
        return out, seq

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "bidirectional": True, "hidden": self.rnn.hidden_size}


def attention_scorer(d_model: int) -> nn.Sequential:
    """Per-element score MLP (d -> d, ReLU, d -> 1) of the soft attention."""
    return nn.Sequential(nn.Linear(d_model, d_model), nn.ReLU(), nn.Linear(d_model, 1))


class SoftAttention(nn.Module):
    """Softmax attention over elements: ``out = h + h * alpha`` (``h * alpha`` without residual).

    Pass the same ``scorer`` instance to two stages to share it (L-G-DCNN shares one scorer
    between the LSTM and the GRU stages).
    """

    def __init__(
        self, d_model: int, residual: bool = True, scorer: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.scorer = scorer if scorer is not None else attention_scorer(d_model)
        self.residual = residual

    def weights(self, h: Tensor, seq: SeqInfo) -> Tensor:
        """Attention weights ``(B, L, 1)``, zero at padding, summing to 1 per compound."""
        score = self.scorer(h).masked_fill(seq.pad3, float("-inf"))
        return torch.softmax(score, dim=1)

    def forward(self, h: Tensor, seq: SeqInfo) -> tuple[Tensor, SeqInfo]:
        alpha = self.weights(h, seq)
        # h is zero at padding and so is alpha, hence the output stays zero there too.
        return (h * (1.0 + alpha) if self.residual else h * alpha), seq

    def config(self) -> dict[str, Any]:
        return {"kind": "soft_attention", "residual": self.residual}


class SelfAttention(nn.Module):
    """Multi-head self-attention over the elements of a compound (L-G-DCNN-V2 / Model 5)."""

    def __init__(
        self,
        d_model: int,
        heads: int = 4,
        residual: bool = True,
        attention: nn.MultiheadAttention | None = None,
    ) -> None:
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model={d_model} is not divisible by heads={heads}")
        self.attention = (
            attention
            if attention is not None
            else nn.MultiheadAttention(d_model, heads, batch_first=True)
        )
        self.residual = residual

    @property
    def scorer(self) -> nn.Module:
        """The shareable part (same role as :attr:`SoftAttention.scorer`)."""
        return self.attention

    def forward(self, h: Tensor, seq: SeqInfo) -> tuple[Tensor, SeqInfo]:
        out = self.attention(h, h, h, key_padding_mask=~seq.mask, need_weights=False)[0]
        if self.residual:
            out = out + h
        return out.masked_fill(seq.pad3, 0.0), seq

    def config(self) -> dict[str, Any]:
        return {
            "kind": "self_attention",
            "heads": self.attention.num_heads,
            "residual": self.residual,
        }


class ElementConv(nn.Module):
    """A same-length 1-D convolution along the elements of each compound, on packed rows.

    Equivalent to ``Conv1d(d_in, d_out, k, padding=k // 2)`` over the zero-padded element
    axis, computed as one GEMM on ``[x(l - k//2) | ... | x(l + k//2)]`` (neighbours outside
    the compound are zero) over the real elements only. On CPU this is about twice as fast
    as ``Conv1d`` and skips the padding. The weight is ``(d_out, k * d_in)``, offset-major;
    ``weight.view(d_out, k, d_in).transpose(1, 2)`` is the equivalent ``Conv1d`` weight.
    """

    def __init__(self, d_in: int, d_out: int, kernel_size: int) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd (same-length conv), got {kernel_size}")
        self.kernel_size = kernel_size
        # Same fan-in (k * d_in) as Conv1d, hence the same default initialisation.
        self.linear = nn.Linear(kernel_size * d_in, d_out)

    def forward(self, rows: Tensor, packed: PackedRows) -> Tensor:
        half = self.kernel_size // 2
        if half == 0:
            return self.linear(rows)
        parts = [
            rows if o == 0 else shift_rows(rows, o).masked_fill(~packed.valid(o), 0.0)
            for o in range(-half, half + 1)
        ]
        return self.linear(torch.cat(parts, dim=1))


class ConvStack(nn.Module):
    """The local extractors: DCNN, DCNN-K1, DPCNN and CNN, one parametrised module.

    Region embedding conv ``d_model -> width``, then ``1 + n_blocks`` blocks
    ``[ReLU, conv, ReLU, conv]`` (+ block input if ``residual``) with a max-pool between
    consecutive blocks. Kernel 1 stride 1 pooling is the identity (DCNN, skipped); kernel 3
    stride 2 padding 1 down-samples (DPCNN). ``depth=False`` (no blocks) is the CNN.

    What ``region_residual`` (the paper's "residual from the region embedding layer")
    switches depends on ``region_skip``: with ``region_skip`` (our first reading) it is an
    extra skip around the region conv; without it (the authors' code) the region conv has
    no skip and ``region_residual`` is the first block's residual, the one that adds the
    region embedding back.

    Runs on the packed real elements (:class:`PackedRows`), so padding is never computed and
    cannot leak; the result is scattered back to the padded layout.
    """

    def __init__(
        self,
        d_model: int,
        kernel_size: int = 3,
        n_blocks: int = 2,
        depth: bool = True,
        residual: bool = True,
        region_residual: bool = True,
        pool_kernel: int = 1,
        pool_stride: int = 1,
        kind: str = "dcnn",
        width: int | None = None,
        region_skip: bool = True,
    ) -> None:
        super().__init__()
        if pool_kernel % 2 != 1:
            raise ValueError(f"pool_kernel must be odd, got {pool_kernel}")
        width = d_model if width is None else width
        if region_skip and region_residual and width != d_model:
            raise ValueError(
                f"a skip around the region conv needs width == d_model, got {width} != {d_model}"
            )
        self.kind = kind
        self.width = width
        self.region_skip = region_skip
        self.kernel_size = kernel_size
        self.n_blocks = n_blocks if depth else 0
        self.depth = depth
        self.residual = residual
        self.region_residual = region_residual
        self.pool_kernel = pool_kernel
        self.pool_stride = pool_stride
        self.downsample = pool_stride > 1 or pool_kernel > 1
        self.region = ElementConv(d_model, width, kernel_size)
        n_total = 1 + n_blocks if depth else 0
        self.blocks = nn.ModuleList(
            nn.ModuleList(
                [
                    ElementConv(width, width, kernel_size),
                    ElementConv(width, width, kernel_size),
                ]
            )
            for _ in range(n_total)
        )

    def _pool(self, rows: Tensor, packed: PackedRows) -> tuple[Tensor, PackedRows]:
        """Max over each window (``-inf`` outside the compound), kept at window centres.

        A pooled position is real iff its window centre is a real element: exactly what
        ``max_pool1d(k, s, k // 2)`` gives for the compound alone, so the count of real
        positions (``ceil(n / s)``) does not depend on the batch's padded length.
        """
        k, s = self.pool_kernel, self.pool_stride
        pooled = rows
        for o in range(-(k // 2), k // 2 + 1):
            if o:
                nb = shift_rows(rows, o).masked_fill(~packed.valid(o), float("-inf"))
                pooled = torch.maximum(pooled, nb)
        keep = (packed.pos % s == 0).nonzero().squeeze(1)
        width = (packed.width + s - 1) // s
        batch_of = packed.index[keep] // packed.width
        pos = packed.pos[keep] // s
        length = (packed.length[keep] + s - 1) // s
        return pooled[keep], PackedRows(batch_of * width + pos, pos, length, width)

    def forward(self, h: Tensor, seq: SeqInfo) -> tuple[Tensor, SeqInfo]:
        batch = h.shape[0]
        packed = seq.packed
        x = h.reshape(-1, h.shape[-1]).index_select(0, packed.index)
        out = self.region(x, packed)
        x = out + x if (self.region_skip and self.region_residual) else out
        for i, (conv1, conv2) in enumerate(self.blocks):
            if i > 0 and self.downsample:
                x, packed = self._pool(x, packed)
            y = conv2(F.relu(conv1(F.relu(x), packed)), packed)
            keep = self.region_residual if (i == 0 and not self.region_skip) else self.residual
            x = y + x if keep else y
        if packed is not seq.packed:
            seq = SeqInfo(packed.mask(batch), packed)
        return packed.scatter(x, batch), seq

    def config(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "kernel_size": self.kernel_size,
            "blocks": len(self.blocks),
            "n_blocks": self.n_blocks,
            "residual": self.residual,
            "region_residual": self.region_residual,
            "region_skip": self.region_skip,
            "width": self.width,
            "pool_kernel": self.pool_kernel,
            "pool_stride": self.pool_stride,
        }


class ElementMaxPool(nn.Module):
    """Masked max-pool along the element axis (kernel 3, stride 1, padding 1) for V1."""

    def __init__(self, kernel_size: int = 3) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.kernel_size = kernel_size

    def forward(self, h: Tensor, seq: SeqInfo) -> tuple[Tensor, SeqInfo]:
        x = h.masked_fill(seq.pad3, float("-inf")).transpose(1, 2)
        x = F.max_pool1d(x, self.kernel_size, 1, self.kernel_size // 2).transpose(1, 2)
        return x.masked_fill(seq.pad3, 0.0), seq

    def config(self) -> dict[str, Any]:
        return {"kind": "element_maxpool", "kernel_size": self.kernel_size, "stride": 1}


class FeatureMaxPool(nn.Module):
    """Max-pool along the feature axis of each element (kernel 3, stride 1, padding 1).

    What the authors' V1 computes: ``F.max_pool1d`` on a (batch, elements, features) tensor
    treats elements as channels and pools neighbouring features of one element; elements do
    not mix. Padding rows are all zero and stay zero.
    """

    def __init__(self, kernel_size: int = 3) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.kernel_size = kernel_size

    def forward(self, h: Tensor, seq: SeqInfo) -> tuple[Tensor, SeqInfo]:
        x = F.max_pool1d(h, self.kernel_size, 1, self.kernel_size // 2)
        return x.masked_fill(seq.pad3, 0.0), seq

    def config(self) -> dict[str, Any]:
        return {"kind": "feature_maxpool", "kernel_size": self.kernel_size, "stride": 1}


class SumStages(nn.Module):
    """Element-wise sum of several earlier stage outputs (V1's fusion of all extractors)."""

    def forward(self, *xs: Tensor, seq: SeqInfo) -> tuple[Tensor, SeqInfo]:
        shapes = {tuple(x.shape) for x in xs}
        if len(shapes) != 1:
            raise ValueError(f"SumStages needs equal shapes, got {sorted(shapes)}")
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out, seq

    def config(self) -> dict[str, Any]:
        return {"kind": "sum"}


class PostProcessNet(nn.Module):
    """Ablation Model 2's post-processing: ``x = x + LeakyReLU(Linear(x))`` four times."""

    def __init__(self, d_model: int, n_layers: int = 4) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(d_model, d_model) for _ in range(n_layers))

    def forward(self, h: Tensor, seq: SeqInfo) -> tuple[Tensor, SeqInfo]:
        for layer in self.layers:
            h = h + F.leaky_relu(layer(h))
        return h.masked_fill(seq.pad3, 0.0), seq

    def config(self) -> dict[str, Any]:
        return {"kind": "postprocess", "layers": len(self.layers), "activation": "leaky_relu"}


# ----------------------------------------------------------------------------- head


GATES: tuple[str, ...] = ("value_and_uncertainty", "value")


class OutputHead(nn.Module):
    """Per-element ``Linear(d, 3)`` -> (value, log-uncertainty, logit), CrabNet style.

    The three columns are averaged over real elements; then ``sigmoid(mean logit)``
    multiplies the value only (``gate="value"``: CrabNet and the authors) or the value and
    the log-uncertainty (``"value_and_uncertainty"``: our first reading). The per-element
    value column (zero at padding) is returned as the element contributions.
    """

    def __init__(self, d_model: int, gate: str = "value_and_uncertainty") -> None:
        super().__init__()
        if gate not in GATES:
            raise ValueError(f"gate must be one of {GATES}, got {gate!r}")
        self.linear = nn.Linear(d_model, 3)
        self.gate = gate

    def forward(self, h: Tensor, seq: SeqInfo) -> tuple[Tensor, Tensor]:
        """Returns ``(output (B, 2), contributions (B, L))``."""
        per_element = self.linear(h).masked_fill(seq.pad3, 0.0)
        mean = per_element.sum(1) / seq.counts
        if self.gate == "value":
            out = torch.cat((mean[:, :1] * torch.sigmoid(mean[:, 2:3]), mean[:, 1:2]), dim=1)
        else:
            out = mean[:, :2] * torch.sigmoid(mean[:, 2:3])
        return out, per_element[..., 0]

    def config(self) -> dict[str, Any]:
        return {
            "kind": "output",
            "outputs": ["value", "log_uncertainty", "logit"],
            "gate": self.gate,
        }


def module_config(module: nn.Module) -> dict[str, Any]:
    """JSON-able settings of a block (``{}`` for modules without a ``config`` method)."""
    fn = getattr(module, "config", None)
    return dict(fn()) if callable(fn) else {"kind": type(module).__name__}
