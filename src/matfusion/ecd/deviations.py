"""Where our paper-B runs differ from the paper, as data: one table per chapter.

Each :class:`Deviation` says what the paper did, what we do (``ours`` may name the run
profile's sizes, ``{p.grid}``), why, and what the change does to the numbers. The last is
measured from stored records where a stored pair of runs isolates it (a ``measure``
function returns the sentence, or None while the records are missing); otherwise the
deviation's ``effect`` says that it is not measured and, where known, what would measure it.
Chapters 10-12 each show :func:`deviation_table` of their own deviations, so every choice is
stated on the page that shows its numbers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matfusion.ecd.settings import EcdProfile, comparison_profile, ecd_profile

__all__ = [
    "CHAPTERS",
    "DEVIATIONS",
    "Deviation",
    "deviation_table",
    "deviations_html",
    "format_comparison",
]

DATA, CV, DFT = "10_ecd_data", "11_ecd_cv_loeo", "12_ecd_dft_validation"
#: The chapters of paper B that show a deviation table.
CHAPTERS = (DATA, CV, DFT)
#: The paper's dataset size (FCC2170, its own VASP runs).
PAPER_MATERIALS = 2170
DENSITY_CNNS = ("3D-CNN+ECD", "2D-CNN+ECD")
COLUMNS = ["the paper", "ours", "why", "measured effect"]

Measure = Callable[[EcdProfile, Any], str | None]


@dataclass(frozen=True)
class Deviation:
    """One way our runs differ from the paper. ``ours`` is formatted with the run profile as
    ``p``; ``measure`` (optional) returns the measured effect from stored records, or None
    when they are missing, and ``effect`` is said instead."""

    topic: str
    chapters: tuple[str, ...]
    paper: str
    ours: str
    why: str
    effect: str
    measure: Measure | None = None


# --------------------------------------------------------------------------- measurements


def _cv_records(prof: EcdProfile, models: Sequence[str], targets: Sequence[str], store: Any):
    """Stored CV records of ``prof`` (no training)."""
    from matfusion.ecd.experiments import run_cv
    from matfusion.ecd.fitting import prepare_inputs

    inputs = prepare_inputs(prof, need_density=False, progress=False, verbose=False)
    return run_cv(list(models), list(targets), inputs, store=store, progress=False, missing="skip")


def format_comparison(table: pd.DataFrame, labels: tuple[str, str]) -> str | None:
    """One sentence from a :func:`~matfusion.chapters.ecd_architectures.compare_cv_records`
    table: the CV MAE difference (first minus second) per model and target with its 95 %
    interval; None for an empty table."""
    if table.empty:
        return None
    repeats = sorted(set(table["repeats"]))
    parts = [
        f"{r['model']} {r['target']} {r['difference (GPa)']:+.2f} GPa {r['95% CI']}"
        for _, r in table.iterrows()
    ]
    n = "/".join(str(k) for k in repeats)
    return (
        f"CV MAE, {labels[0]} minus {labels[1]}, paired by material over {n} repeat(s) "
        f"(95 % bootstrap interval): " + "; ".join(parts) + "."
    )


def _paired(
    first: EcdProfile,
    second: EcdProfile,
    labels: tuple[str, str],
    store: Any,
    models: Sequence[str] = DENSITY_CNNS,
    targets: Sequence[str] = ("bulk", "shear"),
) -> pd.DataFrame:
    """The paired CV comparison of two profiles' stored runs."""
    from matfusion.chapters.ecd_architectures import compare_cv_records

    records = {
        label: _cv_records(prof, models, targets, store)
        for label, prof in zip(labels, (first, second), strict=True)
    }
    return compare_cv_records(records, labels, models=models, targets=targets)


def _differences(a: EcdProfile, b: EcdProfile, skip: Sequence[str]) -> str:
    """The training settings two profiles differ in besides ``skip``, as text."""
    keys = ("epochs", "patience", "width", "grid", "provider", "variant", "paper_sgd")
    diff = [f"{k} {getattr(a, k)} vs {getattr(b, k)}" for k in keys
            if k not in skip and getattr(a, k) != getattr(b, k)]  # fmt: skip
    return f" Not isolated: the pair also differs in {', '.join(diff)}." if diff else ""


def variant_effect(profile: EcdProfile, store: Any = None) -> str | None:
    """Whole-cube minus matfusion-v1 CV MAE under ``profile`` (:func:`cv_variant_comparison`),
    with the share of the cube the matfusion-v1 3D-CNN reaches (by gradients)."""
    from matfusion.chapters.ecd_architectures import cv_variant_comparison
    from matfusion.ecd.models import CNN3D, input_coverage

    table, _ = cv_variant_comparison(profile, store=store)
    text = format_comparison(table, ("whole-cube", "matfusion-v1"))
    if text is None:
        return None
    seen = input_coverage(CNN3D(profile.grid, variant="matfusion-v1"), profile.grid, samples=2)
    return (
        f"The matfusion-v1 3D-CNN reaches {seen['fraction']:.0%} of a {profile.grid}^3 cube, "
        f"whole-cube all of it. {text}"
    )


def valence_effect(profile: EcdProfile, store: Any = None) -> str | None:
    """Valence minus all-electron densities with the CNNs of the profile's density-source
    comparisons (:func:`~matfusion.ecd.settings.comparison_profile`, where the all-electron
    runs are), on the repeats both have; says what else the pair differs in."""
    first = comparison_profile(profile)
    valence = replace(profile, valence=True, variant=first.variant)
    all_electron = replace(first, valence=False)
    text = format_comparison(
        _paired(valence, all_electron, ("valence", "all-electron"), store),
        ("valence", "all-electron"),
    )
    if text is None:
        return None
    return f"{valence.variant} CNNs. {text}" + _differences(
        valence, all_electron, ("valence", "repeats")
    )


def provider_effect(profile: EcdProfile, store: Any = None) -> str | None:
    """GPAW minus promolecular, from the stored provider comparisons: CV R2 gain of each
    density model (mean over paired folds) and the electrons the densities place differently
    between the atoms (median over materials), as chapters 10 and 11 show them."""
    from matfusion.ecd.experiments import (
        DENSITY_MODELS,
        pair_sources,
        run_density_comparison,
        run_provider_comparison,
    )

    _, info = run_provider_comparison(
        ["bulk", "shear"], profile, pair_sources(profile), models=list(DENSITY_MODELS),
        store=store, progress=False, missing="skip",
    )  # fmt: skip
    runs = info["per_fold"]
    parts = []
    if len(runs) and runs["provider"].nunique() == 2:
        wide = runs.pivot_table(
            index=["target", "model", "repeat", "fold"], columns="provider", values="R2"
        ).dropna()
        gain = (wide["gpaw"] - wide["promolecular"]).groupby(["model", "target"], sort=False)
        n = int(gain.size().min())
        parts.append(
            f"CV R² GPAW minus promolecular (mean over {n} paired folds): "
            + "; ".join(f"{m} {t} {g:+.3f}" for (m, t), g in gain.mean().items())
            + "."
        )
    moved = run_density_comparison(profile, store=store, progress=False, missing="skip")
    if moved is not None and len(moved):
        pct = 100 * moved["moved_between_atoms_fraction"]
        parts.append(
            f"The densities place a median {pct.median():.2f} % of the electrons differently "
            f"between the atoms ({len(moved)} materials)."
        )
    return " ".join(parts) or None


def sgd_effect(profile: EcdProfile, store: Any = None) -> str | None:
    """The paper's SGD minus our Adam for the 2D-CNN, where both are stored."""
    table = _paired(
        replace(profile, paper_sgd=True), profile, ("SGD", "Adam"), store, ("2D-CNN+ECD",)
    )
    return format_comparison(table, ("SGD", "Adam"))


def width_effect(profile: EcdProfile, store: Any = None) -> str | None:
    """The paper's 2D-CNN dense width 4096 minus ours, where both are stored."""
    if profile.width == 4096:
        return "None: this profile uses the paper's width."
    table = _paired(
        replace(profile, width=4096), profile, ("width 4096", f"width {profile.width}"), store,
        ("2D-CNN+ECD",),
    )  # fmt: skip
    return format_comparison(table, ("width 4096", f"width {profile.width}"))


#: The measured cost of 60^3 GPAW valence densities (``benchmarks/gpaw_valence_cost.py
#: --profile paper``), relative to the repository.
GRID60_COST = Path("benchmarks/results/gpaw_valence_cost_paper_cpu.json")


def grid_effect(profile: EcdProfile, store: Any = None) -> str | None:
    """CV on a 60^3 grid minus the profile's grid, where both are stored; else what the
    60^3 GPAW valence densities were measured to cost, where that is stored."""
    from matfusion.config import repo_root

    if profile.grid == 60:
        return "None: this profile uses the paper's grid."
    labels = ("60^3", f"{profile.grid}^3")
    text = format_comparison(_paired(replace(profile, grid=60), profile, labels, store), labels)
    path = repo_root() / GRID60_COST
    if text is not None or not path.is_file():
        return text
    cost = json.loads(path.read_text())
    measured = ", ".join(f"{m['formula']} {m['valence']['cpu_s']:.0f} s" for m in cost["measured"])
    return (
        f"No CV at 60^3 is stored. Its GPAW valence densities cost {measured} of CPU per "
        f"material here ({cost['date'][:10]}); {cost['estimate']['scaling']}, about "
        f"{cost['estimate']['cpu_hours']:.0f} CPU-hours for the {cost['materials']} materials "
        f"(`{GRID60_COST.as_posix()}`)."
    )


def training_length_effect(profile: EcdProfile, store: Any = None) -> str | None:
    """The profile's training length minus that of its comparisons' settings
    (:func:`~matfusion.ecd.settings.comparison_profile`), their densities and variant."""
    first = comparison_profile(profile)
    longer = replace(first, epochs=profile.epochs, patience=profile.patience)
    if longer == first:
        return None
    labels = (f"<= {longer.epochs} epochs", f"<= {first.epochs} epochs")
    return format_comparison(_paired(longer, first, labels, store), labels)


def repeat_spread(profile: EcdProfile, store: Any = None) -> str | None:
    """How much one repeat's CV MAE moves between the profile's repeats, per density
    model and target: what a single repeat can be off by."""
    records = _cv_records(profile, DENSITY_CNNS, ("bulk", "shear"), store)
    rows = [
        {**{k: r["config"][k] for k in ("model", "target", "repeat")},
         "err": np.abs(np.subtract(r["predictions"]["pred"], r["predictions"]["y"])).sum(),
         "n": len(r["predictions"]["y"])}
        for r in records
    ]  # fmt: skip
    if not rows:
        return None
    frame = pd.DataFrame(rows).groupby(["model", "target", "repeat"], sort=False).sum()
    mae = (frame["err"] / frame["n"]).groupby(["model", "target"], sort=False)
    counts = mae.size()
    if counts.max() < 2:
        return None
    return (
        f"Spread of the CV MAE over the repeats ({int(counts.max())} repeats, "
        f"{profile.variant}): "
        + "; ".join(f"{m} {t} sd {sd:.2f} GPa" for (m, t), sd in mae.std().items())
        + "."
    )


def data_effect(profile: EcdProfile, store: Any = None) -> str | None:
    """Our dataset's size against the paper's, and the LOEO test sets of the paper's 11
    elements here and there."""
    from matfusion.ecd.data import PAPER_LOEO_ELEMENTS, element_counts, load_ecd_dataset
    from matfusion.paper import reported

    frame = load_ecd_dataset(verbose=False)
    counts = element_counts(frame).reindex(list(PAPER_LOEO_ELEMENTS), fill_value=0)
    paper = reported("ecd_loeo").drop_duplicates("element").set_index("element")["test_size"]
    sub = profile.max_materials
    used = f" (this profile uses a subsample of {sub})" if sub and sub < len(frame) else ""
    return (
        f"{len(frame)} materials{used}, {len(frame) / PAPER_MATERIALS:.0%} of the paper's "
        f"{PAPER_MATERIALS:,}; the paper's 11 LOEO elements have {int(counts.min())}-"
        f"{int(counts.max())} test materials here, {int(paper.min())}-{int(paper.max())} there. "
        "What the size does to accuracy is not measured (no learning curve)."
    )


def pool_effect(profile: EcdProfile, store: Any = None) -> str | None:
    """Whether the per-view global max pool changes anything at the profile's grid: the map
    size that enters it, from the layer table of each variant that has it."""
    from matfusion.ecd.models import layer_table

    sizes = []
    for variant in ("matfusion-v1", "whole-cube"):
        table = layer_table("2D-CNN+ECD", profile.grid, variant, width=64)
        at = table.index[table["layer"] == "AdaptiveMaxPool2d"][0]
        sizes.append(f"{variant}: {table.loc[at - 1, 'output shape']}")
    noop = all(s.endswith("x1x1") for s in sizes)
    return f"Map entering it at {profile.grid}^3 ({'; '.join(sizes)})" + (
        ": already 1x1, so the pool changes nothing." if noop else "."
    )


def composition_effect(profile: EcdProfile, store: Any = None) -> str | None:
    """The external set's composition mix against the training set's (binaries, ternaries)."""
    from matfusion.ecd.data import composition_shares, load_external_set
    from matfusion.ecd.fitting import prepare_inputs

    train = prepare_inputs(profile, need_density=False, progress=False, verbose=False).frame
    shares = composition_shares({"train": train, "external": load_external_set(verbose=False)})
    return (
        "Composition shift: binaries "
        f"{shares.loc['binaries', 'train']:.0%} of the training set vs "
        f"{shares.loc['binaries', 'external']:.0%} of the external set; ternaries "
        f"{shares.loc['ternaries', 'train']:.0%} vs {shares.loc['ternaries', 'external']:.0%}; "
        f"quaternaries {shares.loc['quaternaries', 'train']:.0%} vs "
        f"{shares.loc['quaternaries', 'external']:.0%}."
    )


def exclusion_effect(profile: EcdProfile, store: Any = None) -> str | None:
    """The fusion model's bulk-modulus R2 and RMSE on the external rows the metrics count and
    on all stored rows, and which rows the rule leaves out."""
    from matfusion.ecd.data import load_external_set
    from matfusion.ecd.dft import left_out_summary, load_dft_moduli, metric_rows
    from matfusion.ecd.experiments import run_external
    from matfusion.ecd.fitting import prepare_inputs
    from matfusion.ecd.reported import EXTERNAL_MODEL
    from matfusion.ecd.tables import external_predictions
    from matfusion.train.metrics import regression_metrics

    rows = metric_rows(load_dft_moduli()).set_index("id")
    left = rows[~rows["counted"]]
    named = left_out_summary(left) or "none"
    inputs = prepare_inputs(profile, need_density=False, progress=False, verbose=False)
    records = run_external([EXTERNAL_MODEL], ["bulk"], inputs, load_external_set(verbose=False),
                           store=store, progress=False, missing="skip")  # fmt: skip
    if not records:
        return f"{len(left)} rows left out ({named}); no stored prediction to measure with."
    preds = external_predictions(records).set_index("id")["pred"]
    truth = rows["K_eos_GPa"].dropna()
    scores = {}
    for label, ids in (("counted", rows.index[rows["counted"]]), ("all", rows.index)):
        shared = truth.index.intersection(ids).intersection(preds.index)
        m = regression_metrics(truth[shared].to_numpy(), preds[shared].to_numpy())
        scores[label] = f"R² {m['r2']:.2f}, RMSE {m['rmse']:.1f} GPa on {m['n']}"
    return (
        f"{len(left)} rows left out ({named}). {EXTERNAL_MODEL} bulk modulus: "
        f"{scores['counted']} counted rows; {scores['all']} with them kept."
    )


def shear_scope(profile: EcdProfile, store: Any = None) -> str | None:
    """How many counted external rows have a DFT shear modulus to compare with."""
    from matfusion.ecd.dft import load_dft_moduli, metric_rows

    rows = metric_rows(load_dft_moduli())
    counted = rows[rows["counted"]]
    return (
        f"Of {len(counted)} counted rows, {int(counted['metal'].astype(bool).sum())} are metals "
        f"(bulk modulus only); {int(counted['G_vrh_GPa'].notna().sum())} have a shear modulus."
    )


def spin_scope(profile: EcdProfile, store: Any = None) -> str | None:
    """How many computed cells hold a d metal other than Cr-Ni and ran without spin."""
    from matfusion.ecd.dft import SPIN_CHECK_MIN_MUB, load_dft_moduli, unpolarised_d_metal_cells

    cells = unpolarised_d_metal_cells(load_dft_moduli())
    breaking = int(cells["spin_risk"].sum())
    moment = cells["spin check (muB)"]
    return (
        f"{len(cells)} computed cells with a d metal of groups 3-11 ran without spin "
        f"polarisation ({breaking} of them with Cr-Ni, left out); the spin check (a "
        f"ferromagnetic start) has run on {int(moment.notna().sum())} of the others, and "
        f"{int((moment >= SPIN_CHECK_MIN_MUB).sum())} kept a moment (left out; listed in "
        "chapter 12)."
    )


# --------------------------------------------------------------------------- the list

_NOT_MEASURED = "Not measured: no stored pair of runs differs in this alone."

DEVIATIONS: tuple[Deviation, ...] = (
    Deviation(
        "data",
        (DATA, CV, DFT),
        "FCC2170: 2,170 Materials Project Fm-3m structures (no lanthanides or actinides) with "
        "densities and elastic moduli the authors computed with VASP.",
        "The Materials Project's public DFT moduli (K_VRH, G_VRH) of its Fm-3m structures, "
        "same filter (pymatgen symmetry at symprec 0.1, no lanthanides or actinides).",
        "FCC2170 is not public; MP publishes moduli for only part of its Fm-3m structures.",
        "Not measured: the paper's set cannot be rebuilt.",
        data_effect,
    ),
    Deviation(
        "LOEO elements",
        (DATA, CV),
        "The 11 elements in at least 200 of its 2,170 materials.",
        "The paper's 11 where present, plus every element in at least {p.loeo_min_count} "
        "materials.",
        "Our set is a quarter the size: no element is in 200 of its materials.",
        "Not measured: the test sets are smaller, so LOEO R² is noisier (sizes in chapter 10).",
    ),
    Deviation(
        "density",
        (DATA, CV, DFT),
        "Self-consistent VASP (PAW, PBE) charge densities (CHGCAR).",
        "{p.provider} densities (promolecular = superposed free-atom PBE densities, not "
        "DFT). The same CV and LOEO runs are repeated on self-consistent GPAW (PBE) densities.",
        "Hundreds of SCF densities are hours here; the paired GPAW runs show what the "
        "shortcut costs.",
        "Not measured: no stored paired provider comparison.",
        provider_effect,
    ),
    Deviation(
        "valence vs all-electron",
        (DATA, CV, DFT),
        "VASP's CHGCAR: the valence (pseudo) density.",
        "Valence densities: {p.valence} (valence shells of GPAW's PAW setups). The "
        "density-source comparisons of chapters 10 and 11 keep the first standard runs' "
        "all-electron densities and add GPAW's valence density as a third source.",
        "The all-electron density is dominated by the core peaks, which carry little about "
        "bonding; our first stored runs used it, the current settings follow the paper.",
        "Not measured: no stored all-electron and valence runs of the same variant.",
        valence_effect,
    ),
    Deviation(
        "grid",
        (DATA, CV, DFT),
        "60 x 60 x 60, interpolated.",
        "{p.grid}^3 (periodic resampling that conserves the electron count).",
        "Memory and time on a laptop CPU; the paper profile runs 60^3.",
        "Not measured: no stored run at 60^3.",
        grid_effect,
    ),
    Deviation(
        "density scaling",
        (CV, DFT),
        "Not stated.",
        "log1p(rho), standardised by the training rows' mean and spread.",
        "The density spans five decades; raw values would make the core peaks all the input.",
        "Not measured: no run on raw densities.",
    ),
    Deviation(
        "3D/2D-CNN padding (variant)",
        (CV, DFT),
        "Strided layers as listed, valid padding: at 60^3 its 3D-CNN reaches voxels 0-39 of "
        "60 per axis.",
        "Variant {p.variant} in this profile's runs (whole-cube: periodic padding, every "
        "voxel reaches the output); matfusion-v1, our first architecture, in the "
        "density-source comparisons. matfusion-v1 clamps kernels and skips pools at small "
        "grids.",
        "The literal layer list cannot be built below grid 40 and ignores the cube's far "
        "edges; the density is periodic, so wrapping is the physical padding.",
        "Not measured: no repeat stored under both variants.",
        variant_effect,
    ),
    Deviation(
        "3D-CNN widths",
        (CV,),
        "Conv3d 200 @ 5^3 stride 5, Conv3d @ 4^3 stride 4, max pool 2, seven dense layers "
        "(second filter count and dense widths not given).",
        "Second conv 100 filters; dense 512-256-128-64-32-16-1.",
        "The paper leaves them open; a halving ladder down to 1.",
        "Not measured: the paper gives no widths to compare with.",
    ),
    Deviation(
        "2D-CNN dense width",
        (CV, DFT),
        "Dense 4096, 4096, 128, 128, 128, 32, 1 after the three views.",
        "Dense {p.width}, {p.width}, 128, 128, 128, 32, 1.",
        "Two 4096-wide layers are most of the parameters and of the CPU time.",
        "Not measured: no stored run at width 4096.",
        width_effect,
    ),
    Deviation(
        "squeeze-excitation projection",
        (CV, DFT),
        "1x1 conv to 24 channels followed by a nonlinearity, then the SE gate.",
        "1x1 conv to 24 channels with no nonlinearity after it, then the SE gate "
        "(global mean, dense 4, ReLU, dense 24, sigmoid, rescale).",
        "Not recorded; kept so the stored runs keep their meaning (it changes every density "
        "model).",
        "Not measured: no run with the nonlinearity.",
    ),
    Deviation(
        "2D-CNN pooling per view",
        (CV, DFT),
        "Conv 64 @ 6x6/6, conv 128 @ 5x5/2, one 2x2 max pool: 128 x 1 x 1 per view at 60^3.",
        "A 2x2 max pool after each conv where the size allows, then a global max pool per "
        "view (128 values at any grid).",
        "Keeps the head's input at 3 x 128 whatever the grid.",
        "Not measured.",
        pool_effect,
    ),
    Deviation(
        "2D-CNN optimiser",
        (CV, DFT),
        "SGD, lr 1e-3 halved every 10 epochs.",
        "Adam, lr 5e-4 (the paper's SGD with momentum 0.9 when paper_sgd is on; here "
        "paper_sgd = {p.paper_sgd}).",
        "With SGD the 2D-CNN did not move off the mean prediction in tens of epochs.",
        "Not measured in stored runs: a development run (not stored) had a flat validation "
        "MAE for 20 epochs under SGD.",
        sgd_effect,
    ),
    Deviation(
        "fusion parts frozen",
        (CV, DFT),
        "Pre-trained CNN+Magpie and 2D-CNN+ECD fused (not said whether they train on).",
        "Both parts frozen; only the 64-128-64-32-1 head trains.",
        "Keeps the fusion a head on fixed features, and cheap.",
        "Not measured: no run with the parts trained on.",
    ),
    Deviation(
        "Magpie features",
        (CV, DFT),
        "Magpie's four groups (stoichiometry, element statistics, valence-orbital, ionic), "
        "padded with 12 zeros to 144.",
        "matminer's ElementProperty 'magpie' preset only: 22 properties x 6 statistics = 132, "
        "padded to 144; a value still missing after imputation set to 0.",
        "132 + 12 = 144 matches the element statistics alone.",
        "Not measured.",
    ),
    Deviation(
        "epochs and early stopping",
        (CV, DFT),
        "Not stated.",
        "At most {p.epochs} epochs, stop after {p.patience} without improvement, best epoch "
        "on 10 % of the training rows; the density-source comparisons: the first standard "
        "runs' 25 epochs, patience 6.",
        "The paper gives no schedule; a held-out tenth picks the epoch without test data.",
        "Not measured alone: the longer runs also changed the density (valence row).",
        training_length_effect,
    ),
    Deviation(
        "repeats",
        (CV,),
        "Every CNN experiment repeated 5 times, averaged.",
        "{p.repeats} repeat(s) in this profile's Table 2 and LOEO; one in the "
        "density-source comparisons.",
        "CPU time.",
        "Not measured: fewer than two repeats stored.",
        repeat_spread,
    ),
    Deviation(
        "LOEO models",
        (CV,),
        "Five models, CGCNN among them.",
        "RF+Magpie, CNN+Magpie, 3D-CNN+ECD, 2D-CNN+ECD (no CGCNN).",
        "CGCNN is a separate code base, outside this reproduction.",
        "Not measured (win counts compare the four shared models).",
    ),
    Deviation(
        "external set",
        (DFT,),
        "329 OQMD Fm-3m structures not in MP (at most 40 atoms), moduli computed with VASP.",
        "WBM Fm-3m structures (element substitutions, none in MP) with bulk (E-V fit) and, "
        "for insulators, shear moduli (clamped-ion C_ij) computed by us with GPAW (PBE).",
        "OQMD's moduli are not offline here; WBM's structures are, so we compute the moduli.",
        "Not measured.",
        composition_effect,
    ),
    Deviation(
        "external shear moduli",
        (DFT,),
        "Shear compared for the whole set.",
        "Metals get the E-V bulk modulus only; shear from C_ij for insulators.",
        "Metallic shear needs far denser k-points than we can afford.",
        "Not measured.",
        shear_scope,
    ),
    Deviation(
        "rows left out of the metrics",
        (DFT,),
        "None stated.",
        "Left out: Cr-Ni compounds computed without spin, and cells whose fitted volume "
        "differs from the input's by more than 5 %.",
        "Their DFT moduli describe another state or phase than the structure the models read.",
        "Not measured.",
        exclusion_effect,
    ),
    Deviation(
        "spin polarisation",
        (DFT,),
        "Not stated (VASP).",
        "Only compounds of Cr, Mn, Fe, Co, Ni computed spin-polarised (ferromagnetic start).",
        "Spin-polarised SCFs cost more and converge less reliably (two such cells failed); "
        "the other d metals were assumed non-magnetic.",
        "Not measured.",
        spin_scope,
    ),
)


def deviation_table(
    chapter: str,
    profile: str | EcdProfile = "standard",
    *,
    store: Any = None,
    measure: bool = True,
) -> pd.DataFrame:
    """The deviations that apply to ``chapter`` (a notebook stem), one row each, indexed by
    topic, columns :data:`COLUMNS`. ``measured effect`` comes from stored records where a
    measurement exists (``measure=False`` skips them: the static text), else the deviation's
    own text; a lookup that fails says so in the cell rather than stopping the page."""
    if chapter not in CHAPTERS:
        raise KeyError(f"no deviation table for {chapter!r}; chapters: {list(CHAPTERS)}")
    prof = ecd_profile(profile) if isinstance(profile, str) else profile
    rows = {}
    for dev in DEVIATIONS:
        if chapter not in dev.chapters:
            continue
        effect = None
        if measure and dev.measure is not None:
            try:
                effect = dev.measure(prof, store)
            except (FileNotFoundError, KeyError, ValueError) as err:
                effect = f"{dev.effect} (lookup failed: {err})"
        rows[dev.topic] = [dev.paper, dev.ours.format(p=prof), dev.why, effect or dev.effect]
    table = pd.DataFrame.from_dict(rows, orient="index", columns=COLUMNS)
    table.index.name = "what"
    return table


def deviations_html(table: pd.DataFrame) -> str:
    """``table`` as wide HTML that wraps its text (no truncation) and scrolls sideways when
    the page is narrow."""
    head = "".join(f"<th>{escape(c)}</th>" for c in [table.index.name or "", *table.columns])
    body = "".join(
        "<tr>"
        + f"<th style='vertical-align:top'>{escape(str(topic))}</th>"
        + "".join(f"<td>{escape(str(v))}</td>" for v in row)
        + "</tr>"
        for topic, row in zip(table.index, table.to_numpy(), strict=True)
    )
    style = "white-space:normal;text-align:left;vertical-align:top;min-width:12em"
    return (
        '<div style="overflow-x:auto">'
        f"<style>table.deviations th, table.deviations td {{{style}}}</style>"
        f"<table class='dataframe deviations'><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )
