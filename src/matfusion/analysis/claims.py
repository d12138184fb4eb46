"""The papers' qualitative claims as checkable orderings of test MAEs.

Paper A states several "model X beats model Y" conclusions. Writing each as data lets a
chapter check them on whatever datasets and models it ran, and say plainly where they hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class OrderingClaim:
    """``winner`` has a lower MAE than every model in ``losers`` (or, with ``best_among``,
    the lowest MAE among those models)."""

    text: str
    winner: str
    losers: tuple[str, ...] = ()
    best_among: tuple[str, ...] = ()

    def models(self) -> set[str]:
        return {self.winner, *self.losers, *self.best_among}

    def holds(self, mae: pd.DataFrame) -> pd.Series:
        """Per dataset (row of ``mae``), whether the claim holds."""
        if self.best_among:
            return mae[list(self.best_among)].idxmin(axis=1) == self.winner
        result = pd.Series(True, index=mae.index)
        for loser in self.losers:
            result &= mae[self.winner] < mae[loser]
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


def check_claims(mae: pd.DataFrame, claims: Sequence[OrderingClaim]) -> pd.DataFrame:
    """One row per claim whose models were all run: on how many datasets it holds, and a
    verdict (supported everywhere / mixed / not supported). ``mae``: datasets x models."""
    rows = []
    for claim in claims:
        if not claim.models() <= set(mae.columns):
            continue
        holds = claim.holds(mae.dropna(subset=list(claim.models())))
        n, k = len(holds), int(holds.sum())
        verdict = "supported" if n and k == n else ("mixed" if k else "not supported")
        rows.append(
            {
                "claim (paper A)": claim.text,
                "holds on": k,
                "datasets": n,
                "verdict here": verdict,
                "where it fails": ", ".join(holds.index[~holds]) or "-",
            }
        )
    return pd.DataFrame(rows)
