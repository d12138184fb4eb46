"""Analyses over trained models and stored results (comparisons with the papers' claims)."""

from matfusion.analysis.claims import REFERENCE_MODEL_CLAIMS, OrderingClaim, check_claims

__all__ = ["OrderingClaim", "REFERENCE_MODEL_CLAIMS", "check_claims"]
