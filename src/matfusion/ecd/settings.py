"""How big each paper-B experiment is under the book's run profiles.

Kept beside the ECD code (not in :mod:`matfusion.profiles`, whose fields are paper A's) and
keyed by the same profile names, so a chapter receives ``profile="smoke"`` and asks here for
its ECD sizes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from matfusion.profiles import PROFILES, lookup_profile
from matfusion.registry import Registry

__all__ = [
    "ECD_PROFILES",
    "FIRST_STANDARD",
    "EcdProfile",
    "comparison_profile",
    "ecd_profile",
    "ecd_profile_for",
    "profile_source",
    "provider_settings",
    "with_source",
]


@dataclass(frozen=True)
class EcdProfile:
    """Sizes of the ECD experiments under one run profile.

    ``max_materials``: seeded subsample of the dataset (None = all). ``grid``: density grid
    points per axis. ``width``: the 2D-CNN's two widest dense layers (paper 4096). ``epochs``
    and ``patience``: CNN training (best validation epoch kept). ``loeo_min_count``: elements
    with at least this many materials join the paper's 11; ``loeo_max_elements`` caps the
    list (None = no cap). ``workers``: density processes (one thread each).
    ``compare_max_materials``: materials in the promolecular-vs-GPAW comparison (None = all
    that GPAW can compute; smoke keeps it to a few SCFs). ``gpaw_exclude_elements``: elements
    gpaw-data ships no PBE setup for (checked by a test where GPAW is installed); their
    materials are left out of that comparison for every provider, so it stays paired and
    the book finds the same stored runs on a machine without GPAW.
    ``paper_sgd``: train the 2D-CNN with the paper's SGD (lr 1e-3, halved every 10 epochs);
    off by default because on our data it does not move off the mean prediction in tens of
    epochs (measured: validation MAE flat for 20 epochs), so Adam (lr 5e-4, as the 3D-CNN)
    is used instead and the records say so.
    ``variant``: the 3D/2D-CNN architecture (:data:`matfusion.ecd.models.ECD_VARIANTS`):
    ``whole-cube`` sees every voxel, ``paper`` is the paper's layer list taken literally
    (valid padding: it never sees the cube's far edges), ``matfusion-v1`` the layers the
    committed ``standard`` runs used (24 % of a 32^3 cube reaches the 3D-CNN's output).
    ``valence``: densities of the valence electrons only (the paper's VASP CHGCAR holds the
    valence density), for the ``promolecular`` and ``gpaw`` providers.
    """

    name: str
    description: str
    max_materials: int | None
    grid: int
    provider: str
    folds: int
    repeats: int
    epochs: int
    patience: int
    width: int
    batch_size: int = 32
    val_fraction: float = 0.1
    loeo_min_count: int = 40
    loeo_max_elements: int | None = None
    seed: int = 0
    workers: int = 1
    paper_sgd: bool = False
    compare_max_materials: int | None = None
    gpaw_exclude_elements: tuple[str, ...] = ("Tc",)
    variant: str = "whole-cube"
    valence: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


ECD_PROFILES: Registry[EcdProfile] = Registry.named(
    "ECD profile",
    [
        EcdProfile(
            name="smoke",
            description="CI: 40 materials, 16^3 promolecular densities, 2 folds, 2 epochs",
            max_materials=40,
            grid=16,
            provider="promolecular",
            folds=2,
            repeats=1,
            epochs=2,
            patience=2,
            width=128,
            loeo_max_elements=2,
            compare_max_materials=8,
            valence=True,
        ),
        EcdProfile(
            name="standard",
            description=(
                "laptop: all materials, 32^3 promolecular valence densities (not DFT), "
                "whole-cube CNNs, 5 folds x 5 repeats, early stopping (patience 10, cap 150 "
                "epochs), 2D-CNN dense width 1024 instead of 4096; about 4 CPU-hours of CV and "
                "7 of LOEO, stored in results/"
            ),
            max_materials=None,
            grid=32,
            provider="promolecular",
            folds=5,
            repeats=5,
            epochs=150,
            patience=10,
            width=1024,
            loeo_min_count=60,
            valence=True,
        ),
        EcdProfile(
            name="paper",
            description="the paper's sizes: 60^3 GPAW (PBE) densities, 5 folds x 5 repeats",
            max_materials=None,
            grid=60,
            provider="gpaw",
            folds=5,
            repeats=5,
            epochs=200,
            patience=30,
            width=4096,
            workers=2,
            variant="paper",
            valence=True,
        ),
    ],
)


#: The settings of the first ``standard`` runs (all-electron densities, the ``matfusion-v1``
#: CNNs, 25 epochs, one repeat). The density-source comparisons of chapters 10 and 11 were
#: run with them (hundreds of paired runs); rerunning them under the current
#: settings costs more than 20 CPU-hours, so ``standard`` keeps these settings for them.
FIRST_STANDARD: dict[str, Any] = {
    "variant": "matfusion-v1",
    "valence": False,
    "epochs": 25,
    "patience": 6,
    "repeats": 1,
}


def comparison_profile(profile: EcdProfile) -> EcdProfile:
    """The settings a profile's density-source comparisons run under: the registered
    ``standard`` profile's are :data:`FIRST_STANDARD` (where its stored comparisons are);
    any other profile, ``standard`` with overrides included, runs them as it is."""
    if profile == ecd_profile("standard"):
        return replace(profile, **FIRST_STANDARD)
    return profile


def provider_settings(profile: EcdProfile) -> dict[str, Any]:
    """The density provider's settings a profile implies (``valence`` where the provider
    has it; the ``chgcar`` files hold what they hold)."""
    return {"valence": True} if profile.valence and profile.provider != "chgcar" else {}


def with_source(profile: EcdProfile, source: str) -> EcdProfile:
    """``profile`` reading density source ``source`` (its provider and valence setting; see
    :data:`matfusion.ecd.density.DENSITY_SOURCES`): the runs of a source are those of such a
    profile, so a source's stored runs keep their configs."""
    from matfusion.ecd.density import get_source

    found = get_source(source)
    return replace(profile, provider=found.provider, valence=found.valence)


def profile_source(profile: EcdProfile, provider: str | None = None) -> str:
    """The density source ``profile`` reads, or that ``provider`` would read under the
    profile's valence setting (``standard``, "gpaw": ``gpaw-all-electron``)."""
    from matfusion.ecd.density import source_name

    return source_name(provider or profile.provider, profile.valence)


def ecd_profile(name: str, **overrides: Any) -> EcdProfile:
    """The ECD sizes of a run profile, with non-None overrides (e.g. ``grid=24``)."""
    return lookup_profile(ECD_PROFILES, name, overrides, "ECD profile")


#: The paper-B sizes a run profile without its own falls back to.
FALLBACK_PROFILE = "standard"


def ecd_profile_for(name: str) -> tuple[EcdProfile, str | None]:
    """The ECD sizes a chapter uses under run profile ``name``, and a one-line note when they
    are another profile's: paper B has no sizes for every paper-A profile (``large``), and a
    book built with one should show paper B's ``standard`` runs rather than fail. The note is
    None when ``name`` has sizes of its own; a name that is no run profile is an error."""
    if name in ECD_PROFILES:
        return ecd_profile(name), None
    PROFILES[name]  # an unknown run profile: the one-line error with close matches
    note = f"Paper B has no `{name}` sizes; this chapter shows its `{FALLBACK_PROFILE}` runs."
    return ecd_profile(FALLBACK_PROFILE), note
