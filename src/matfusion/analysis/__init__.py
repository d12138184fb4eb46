"""Analyses over trained models and stored results (comparisons with the papers' claims)."""

from matfusion.analysis.claims import (
    ABLATION_CLAIMS,
    REFERENCE_MODEL_CLAIMS,
    OrderingClaim,
    check_claims,
)

__all__ = ["ABLATION_CLAIMS", "OrderingClaim", "REFERENCE_MODEL_CLAIMS", "check_claims"]
