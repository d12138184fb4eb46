"""The papers' qualitative claims as checkable orderings of test MAEs.

Paper A states several "model X beats model Y" conclusions. Writing each as data lets a
chapter check them on whatever datasets and models it ran, and say plainly where they hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class OrderingClaim:
    """``winner`` has a lower MAE than every model in ``losers`` (or, with ``best_among``,
    the lowest MAE among those models)."""

    text: str
    winner: str
    losers: tuple[str, ...] = ()
    best_among: tuple[str, ...] = ()
    #: Only these datasets (rows) are checked; empty = every row. For claims the paper makes
    #: about some datasets only ("on the 10^5-row set").
    datasets: tuple[str, ...] = ()

    def models(self) -> set[str]:
        return {self.winner, *self.losers, *self.best_among}

    def holds(self, mae: pd.DataFrame, *, tie_rtol: float = 0.0) -> pd.Series:
        """Per dataset (row of ``mae``, restricted to ``datasets``), whether the claim holds.

        With ``tie_rtol`` > 0 the winner must beat each loser by more than ``tie_rtol``
        times its own MAE: a smaller difference is a tie, and a tie is not a win.
        """
        return self.outcome(mae, tie_rtol=tie_rtol) == "holds"

    def outcome(self, mae: pd.DataFrame, *, tie_rtol: float = 0.0) -> pd.Series:
        """Per dataset: "holds" (the winner beats every loser by more than ``tie_rtol`` of
        its MAE), "fails" (some loser is lower by more than that) or "tie" (neither: the
        winner is within ``tie_rtol`` of its closest rival). With ``tie_rtol`` = 0 only equal
        MAEs tie, as with a strict ``<``."""
        if tie_rtol < 0:
            raise ValueError(f"tie_rtol must be >= 0, got {tie_rtol}")
        if self.datasets:
            mae = mae.loc[mae.index.intersection(list(self.datasets))]
        rivals = [m for m in (self.best_among or self.losers) if m != self.winner]
        winner = mae[self.winner]
        beats = pd.Series(True, index=mae.index)
        beaten = pd.Series(False, index=mae.index)
        for rival in rivals:
            margin = tie_rtol * np.minimum(winner, mae[rival])
            beats &= mae[rival] - winner > margin
            beaten |= winner - mae[rival] > margin
        result = pd.Series("tie", index=mae.index, dtype=object)
        result[beats] = "holds"
        result[beaten] = "fails"
        return result


#: Paper A's conclusions about its reference models (Figure S2, Table S1).
REFERENCE_MODEL_CLAIMS: tuple[OrderingClaim, ...] = (
    OrderingClaim("LSTM beats RNN", "LSTM", ("RNN",)),
    OrderingClaim("GRU beats RNN", "GRU", ("RNN",)),
    OrderingClaim("DCNN beats DCNN-K1", "DCNN", ("DCNN-K1",)),
    OrderingClaim("DPCNN beats DCNN-K1", "DPCNN", ("DCNN-K1",)),
    OrderingClaim("CNN beats DCNN-K1", "CNN", ("DCNN-K1",)),
    OrderingClaim(
        "LDCNN is the best heuristic fusion", "LDCNN", best_among=("LDCNN", "LDPCNN", "LCNN")
    ),
    OrderingClaim("LDCNN beats both LSTM and DCNN", "LDCNN", ("LSTM", "DCNN")),
)


_SETS_1E4 = ("aflow__energy_atom", "CritExam__Ef", "mp_e_hull")
_SET_1E5 = ("OQMD_Formation_Enthalpy",)

#: Paper A's reading of its ablation study (Table 2, section "Ablation Study"). The 2-block
#: L-G-DCNN is the reference; "10^4" / "10^5" are the paper's size classes of the four sets.
ABLATION_CLAIMS: tuple[OrderingClaim, ...] = (
    OrderingClaim(
        "4 DCNN blocks beat the default 2 on the 10^5-row set",
        "L-G-DCNN-4B",
        ("L-G-DCNN-2B",),
        datasets=_SET_1E5,
    ),
    OrderingClaim(
        "one-hot embeddings (Model 1) raise the error on the 10^4-row sets",
        "L-G-DCNN-2B",
        ("Model-1",),
        datasets=_SETS_1E4,
    ),
    OrderingClaim(
        "a post-processing net (Model 2) impairs performance", "L-G-DCNN-2B", ("Model-2",)
    ),
    OrderingClaim(
        "removing every residual (Model 3) raises the error", "L-G-DCNN-2B", ("Model-3",)
    ),
    OrderingClaim(
        "keeping all but the region residual (Model 4) beats removing all (Model 3)",
        "Model-4",
        ("Model-3",),
    ),
    OrderingClaim(
        "self-attention (Model 5) improves OQMD formation enthalpy",
        "Model-5",
        ("L-G-DCNN-2B",),
        datasets=_SET_1E5,
    ),
    OrderingClaim(
        "self-attention (Model 5) is worse on the other sets",
        "L-G-DCNN-2B",
        ("Model-5",),
        datasets=_SETS_1E4,
    ),
    OrderingClaim(
        "dropping attention and GRU (Model 6 = LDCNN) raises the error",
        "L-G-DCNN-2B",
        ("Model-6",),
    ),
)


def check_claims(
    mae: pd.DataFrame,
    claims: Sequence[OrderingClaim],
    *,
    r2: pd.DataFrame | None = None,
    min_r2: float | None = None,
    tie_rtol: float | None = None,
) -> pd.DataFrame:
    """One row per claim whose models were all run: on how many datasets it holds, and a
    verdict (supported everywhere / mixed / not supported / not checked where no dataset has
    all of the claim's MAEs). ``mae``: datasets x models.

    With ``r2`` (test R², same layout as ``mae``) and ``min_r2``, a dataset on which any model
    the claim compares has an R² below ``min_r2`` is set aside: such a run predicts little
    more than a constant, so an ordering of its MAE is no evidence either way. Set-aside
    datasets are listed in an extra column and count neither for nor against the claim; a
    claim with no dataset left is "not testable here (R² < min_r2)". Without them (the
    default) every dataset with all the claim's MAEs counts.

    With ``tie_rtol`` (e.g. 0.01), MAEs within that fraction of the lower one are a tie: a
    tie counts as not holding, but it is listed in an extra "tied on" column instead of
    under "where it fails", and a claim that only ties is "not supported (ties only)".
    Without it (the default) the ordering is a strict ``<`` and no column is added.
    """
    if (r2 is None) != (min_r2 is None):
        raise ValueError("give both r2 and min_r2, or neither")
    untestable_label = f"not testable (R² < {min_r2:g})" if min_r2 is not None else ""
    rows = []
    for claim in claims:
        if not claim.models() <= set(mae.columns):
            continue
        compared = list(claim.models())
        rows_with_mae = mae.dropna(subset=compared)
        weak: list[str] = []
        if r2 is not None and min_r2 is not None:
            claim_r2 = r2.reindex(index=rows_with_mae.index, columns=compared)
            is_weak = (claim_r2 < min_r2).any(axis=1)
            if claim.datasets:
                is_weak &= is_weak.index.isin(list(claim.datasets))
            weak = list(is_weak.index[is_weak])
            rows_with_mae = rows_with_mae.drop(index=weak)
        outcome = claim.outcome(rows_with_mae, tie_rtol=tie_rtol or 0.0)
        holds = outcome == "holds"
        tied = outcome == "tie" if tie_rtol is not None else pd.Series(False, index=holds.index)
        n, k = len(holds), int(holds.sum())
        if n == 0 and weak:
            verdict = f"not testable here (R² < {min_r2:g})"
        elif n == 0:
            verdict = "not checked (no dataset has all its models)"
        elif k == 0 and bool(tied.all()):
            verdict = "not supported (ties only)"
        else:
            verdict = "supported" if k == n else ("mixed" if k else "not supported")
        row = {
            "claim (paper A)": claim.text,
            "holds on": k,
            "datasets": n,
            "verdict here": verdict,
            "where it fails": ", ".join(holds.index[~holds & ~tied]) or "-",
        }
        if tie_rtol is not None:
            row[f"tied on (within {100 * tie_rtol:g}%)"] = ", ".join(holds.index[tied]) or "-"
        if r2 is not None:
            row[untestable_label] = ", ".join(weak) or "-"
        rows.append(row)
    return pd.DataFrame(rows)
