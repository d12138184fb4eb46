"""Run profiles: how big each experiment is.

A profile trades fidelity for time. Notebooks receive the profile name as a papermill
parameter and ask this module for sizes, so one notebook serves CI (``smoke``), a laptop
(``standard``) and a full reproduction (``paper``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from matfusion.registry import Registry

#: The ten extended sets with more than 20,000 rows, on which the paper compares the
#: reference models (its Figure S2).
LARGE_EXTENDED_SETS: tuple[str, ...] = (
    "aflow__Egap",
    "aflow__energy_atom",
    "CritExam__Ed",
    "CritExam__Ef",
    "mp_e_hull",
    "mp_mu_b",
    "OQMD_Bandgap",
    "OQMD_Energy_per_atom",
    "OQMD_Formation_Enthalpy",
    "OQMD_Volume_per_atom",
)


@dataclass(frozen=True)
class Profile:
    """Sizes and recipe for one run profile.

    ``max_train_rows``/``max_eval_rows`` subsample splits (seeded, without replacement);
    ``None`` means the full split. ``reuse_profiles`` lists profiles whose stored results
    may stand in for a run of this profile (the book says so on the page). ``conventions``
    names the model conventions (:data:`matfusion.models.CONVENTIONS`) where paper A is
    silent: the authors' code by default; ``standard`` and ``large`` keep ``matfusion-v1``,
    the reading their stored runs were made with, until their reruns land.
    """

    name: str
    description: str
    recipe: str
    epochs: int | None
    max_train_rows: int | None
    max_eval_rows: int | None
    reference_datasets: tuple[str, ...]
    d_model: int = 512
    seed: int = 0
    reuse_profiles: tuple[str, ...] = field(default_factory=tuple)
    conventions: str = "authors"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Every run profile, by name, smallest first.
PROFILES: Registry[Profile] = Registry.named(
    "profile",
    [
        Profile(
            name="smoke",
            description="CI: tiny subsets and 2 epochs, every chapter in about a minute",
            recipe="fast",
            epochs=2,
            max_train_rows=256,
            max_eval_rows=128,
            reference_datasets=("OQMD_Bandgap",),
            d_model=64,
        ),
        Profile(
            name="standard",
            description=(
                "laptop: subsets of a few thousand rows, fast recipe with early stopping; a stored "
                "paper-profile run stands in where this profile has none"
            ),
            recipe="fast",
            epochs=30,
            max_train_rows=3000,
            max_eval_rows=2000,
            reference_datasets=("OQMD_Bandgap", "mp_e_hull"),
            reuse_profiles=("paper",),
            conventions="matfusion-v1",
        ),
        Profile(
            name="large",
            description=(
                "workstation: 20,000 training rows, fast recipe with early stopping (about an hour "
                "per fusion model on one CPU thread); the book shows stored runs of it"
            ),
            recipe="fast",
            epochs=30,
            max_train_rows=20000,
            max_eval_rows=2000,
            reference_datasets=("OQMD_Formation_Enthalpy",),
            reuse_profiles=("paper",),
            conventions="matfusion-v1",
        ),
        Profile(
            name="paper",
            description="full splits and the paper's CrabNet recipe (hours to days on a CPU)",
            recipe="crabnet",
            epochs=None,
            max_train_rows=None,
            max_eval_rows=None,
            reference_datasets=LARGE_EXTENDED_SETS,
        ),
    ],
)


def lookup_profile(table: Registry[Any], name: str, overrides: dict[str, Any], kind: str) -> Any:
    """``table[name]`` with the non-None ``overrides`` applied; unknown names and settings
    are one-line errors naming what exists (shared by the run profiles and paper B's
    sizes)."""
    profile = table[name]
    changes = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(changes) - set(profile.to_dict())
    if unknown:
        raise ValueError(f"unknown {kind} settings: {sorted(unknown)}")
    return replace(profile, **changes)


def get_profile(name: str, **overrides: Any) -> Profile:
    """Look a profile up by name, applying non-None overrides (e.g. ``epochs=3``)."""
    if overrides.get("recipe") is not None:  # a typo fails here, not after the data loads
        from matfusion.train.recipes import RECIPES

        RECIPES[overrides["recipe"]]
    if overrides.get("reference_datasets") is not None:
        overrides["reference_datasets"] = tuple(overrides["reference_datasets"])
    return lookup_profile(PROFILES, name, overrides, "profile")
