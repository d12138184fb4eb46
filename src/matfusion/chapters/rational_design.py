"""Chapter 03's Figure 3 claims, rerun so they can be decided: the authors' conventions,
training to a validation plateau, several seeds, and intervals.

The stored ``standard`` runs of the chapter's first sections used one seed, 30 epochs of a
one-cycle schedule (most ended at the cap, still improving) and our first reading of the
paper's open choices. The reruns change all three (:data:`RERUN`); this module reads them
from the store, reports which are missing, and turns them into the numbers the chapter
shows: CECV per model as mean and range over seeds, and test-MAE comparisons with paired
bootstrap intervals (:func:`matfusion.analysis.intervals.compare_mae_runs`), each seed on
its own test rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from matfusion.analysis.intervals import compare_mae_runs
from matfusion.profiles import Profile

__all__ = [
    "CECV_SIZES",
    "FIGURE3_MODELS",
    "CecvBySize",
    "cecv_by_size",
    "MAE_CLAIMS",
    "RERUN",
    "cecv_over_seeds",
    "rerun_command",
    "rerun_record",
    "mae_claims",
    "rerun_profile",
    "seed_pairs",
    "SeededCecvReruns",
    "seeded_cecv_reruns",
    "seeded_runs",
    "seeded_summary",
    "anchor_counts",
    "DESIGN_CHECKS",
    "NOT_STORED",
    "anchor_set_numbers",
    "conventions_display",
    "design_numbers",
    "errors_table",
    "large_numbers",
    "large_runs",
    "paper_design_mae",
    "plot_cecv_over_seeds",
    "reference_position",
    "si_count_numbers",
]

#: The settings of the reruns (the smoke profile keeps its own tiny epoch budget).
RERUN: dict[str, Any] = {"conventions": "authors", "recipe": "plateau", "epochs": 300}
#: Figure 3's references and fusions with a claim about them.
FIGURE3_MODELS = ("LSTM", "DCNN-K1", "LDCNN", "L-G-DCNN")
#: The paper's ordering of test MAEs on OQMD formation enthalpy that these runs can test:
#: (claim, model claimed better, model claimed worse).
MAE_CLAIMS: tuple[tuple[str, str, str], ...] = (
    ("L-G-DCNN beats LDCNN (the design step)", "L-G-DCNN", "LDCNN"),
    ("L-G-DCNN beats the LSTM (fusion beats its global part)", "L-G-DCNN", "LSTM"),
    ("L-G-DCNN beats DCNN-K1 (fusion beats the local reference)", "L-G-DCNN", "DCNN-K1"),
    ("LDCNN beats the LSTM", "LDCNN", "LSTM"),
)


def rerun_profile(profile: Profile) -> Profile:
    """``profile`` with the rerun settings (smoke: only the conventions and the recipe)."""
    if profile.name == "smoke":
        return replace(profile, conventions=RERUN["conventions"], recipe=RERUN["recipe"])
    return replace(profile, **RERUN)


def rerun_record(
    model: str,
    dataset: str,
    profile: Profile,
    seed: int,
    *,
    train_missing: bool = False,
    store: Any = None,
) -> dict[str, Any] | None:
    """One rerun's record under ``profile`` (already the rerun profile): trained only with
    ``train_missing`` (smoke), else read from the store (None when it is not there)."""
    from matfusion.experiments import run_training, stored_training

    if train_missing:
        return run_training(model, dataset, profile=profile, seed=seed, store=store,
                            progress=False)  # fmt: skip
    return stored_training(model, dataset, profile=profile, seed=seed, store=store)


def rerun_command(
    models: Sequence[str],
    dataset: str,
    seeds: Sequence[int],
    profile_name: str,
    rerun: Profile,
    train_rows: Sequence[int] = (),
) -> str:
    """The ``matfusion grid`` line that makes reruns under ``rerun`` (conventions, recipe and
    epoch cap spelled out, so the line is the record's identity)."""
    import shlex

    return (
        f"matfusion grid --models {','.join(models)} --datasets {dataset} "
        f"--seeds {','.join(map(str, seeds))}"
        + (f" --train-rows {','.join(map(str, train_rows))}" if train_rows else "")
        + f" --profile {profile_name} --conventions {shlex.quote(rerun.conventions)} "
        f"--recipe {rerun.recipe}" + (f" --epochs {rerun.epochs}" if rerun.epochs else "")
    )


def seeded_runs(
    profile: Profile,
    *,
    dataset: str = "OQMD_Formation_Enthalpy",
    models: Sequence[str] = FIGURE3_MODELS,
    seeds: Sequence[int] = (0, 1, 2),
    anchor: str = "Si",
    mode: str = "authors",
    store: Any = None,
    train_missing: bool = False,
) -> tuple[dict[str, list[dict]], dict[str, list[dict]], list[str]]:
    """Stored runs and CECV records of ``models`` x ``seeds`` under :func:`rerun_profile`,
    by model, and the labels of what is missing. Only with ``train_missing`` (smoke) is
    anything trained or computed; otherwise a CECV is read, or computed from a checkpoint on
    this machine, never by retraining."""
    from matfusion.experiments import run_cecv

    prof = rerun_profile(profile)
    runs: dict[str, list[dict]] = {m: [] for m in models}
    cecv: dict[str, list[dict]] = {m: [] for m in models}
    missing: list[str] = []
    for seed in seeds:
        for model in models:
            label = f"{model} / {dataset} seed {seed}"
            record = rerun_record(model, dataset, prof, seed, train_missing=train_missing,
                                  store=store)  # fmt: skip
            if record is None:
                missing += [label, f"CECV of {label}"]
                continue
            runs[model].append(record)
            found = run_cecv(record, anchor=anchor, mode=mode, store=store, retrain=train_missing)
            if found is None:
                missing.append(f"CECV of {label}")
            else:
                cecv[model].append(found)
    return runs, cecv, missing


@dataclass(frozen=True)
class SeededCecvReruns:
    """:func:`seeded_runs` for one page section: ``runs`` and ``cecv`` by model, what is
    ``missing``, and ``note``, the page's markdown line on what is stored (with the share
    of runs at the epoch cap) and the command that makes the rest."""

    runs: dict[str, list[dict]]
    cecv: dict[str, list[dict]]
    missing: list[str]
    note: str

    @property
    def spread(self) -> pd.DataFrame:
        """:func:`cecv_over_seeds` of the stored CECV records."""
        return cecv_over_seeds(self.cecv)


def seeded_cecv_reruns(
    profile: Profile,
    *,
    dataset: str,
    models: Sequence[str],
    seeds: Sequence[int] = (0, 1, 2),
    anchor: str = "Si",
    mode: str = "authors",
    train_missing: bool = False,
    store: Any = None,
) -> SeededCecvReruns:
    """:func:`seeded_runs` with the note a page shows above its seeded figures."""
    from matfusion.notebook import missing_runs_note

    runs, cecv, missing = seeded_runs(
        profile, dataset=dataset, models=models, seeds=seeds, anchor=anchor, mode=mode,
        store=store, train_missing=train_missing,
    )  # fmt: skip
    command = rerun_command(models, dataset, seeds, profile.name, rerun_profile(profile))
    note = missing_runs_note(
        missing,
        command + " (then this page computes the CECV from the checkpoints)",
        2 * len(models) * len(seeds),
        what="runs and CECV records",
        records=[r for by_model in runs.values() for r in by_model],
    )
    return SeededCecvReruns(runs, cecv, missing, note)


def cecv_over_seeds(cecv: dict[str, list[dict]]) -> pd.DataFrame:
    """Per model and threshold: the mean CECV over seeds and its range (min, max), with the
    number of seeds (rows: model; columns: (statistic, threshold))."""
    rows = {}
    for model, records in cecv.items():
        if not records:
            continue
        counts = np.array([r["cecv"] for r in records], dtype=float)
        thresholds = records[0]["thresholds"]
        for stat, values in (
            ("mean", counts.mean(0)),
            ("min", counts.min(0)),
            ("max", counts.max(0)),
        ):
            for t, v in zip(thresholds, values, strict=True):
                rows.setdefault(model, {})[(stat, f"{t:.2f}")] = v
        rows[model][("seeds", "")] = len(records)
    frame = pd.DataFrame.from_dict(rows, orient="index")
    if not frame.empty:
        frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame


def seed_pairs(a: list[dict], b: list[dict]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(target, prediction A, prediction B) for each seed both models ran: same test rows."""
    from matfusion.experiments import stored_test_values

    by_seed = {r["config"]["seed"]: r for r in b}
    out = []
    for run in a:
        other = by_seed.get(run["config"]["seed"])
        if other is None:
            continue
        y, pa = stored_test_values(run)
        y_b, pb = stored_test_values(other)
        if len(y) != len(y_b) or not np.allclose(y, y_b):
            raise ValueError(f"seed {run['config']['seed']}: the two runs have other test rows")
        out.append((y, pa, pb))
    return out


def mae_claims(
    runs: dict[str, list[dict]], claims: Sequence[tuple[str, str, str]] = MAE_CLAIMS
) -> pd.DataFrame:
    """One row per claim: the claimed winner's MAE minus the loser's (mean over seeds), its
    95 % interval, the per-seed differences and the verdict (holds / fails / inconclusive;
    "not testable here" where a model has no run)."""
    rows = []
    for text, better, worse in claims:
        pairs = seed_pairs(runs.get(better, []), runs.get(worse, []))
        if not pairs:
            rows.append({"claim": text, "verdict": "not testable here", "seeds": 0})
            continue
        result = compare_mae_runs(pairs)
        rows.append(
            {
                "claim": text,
                "verdict": result.verdict,
                "seeds": result.n_seeds,
                "MAE difference": result.difference,
                "relative": result.relative,
                "95% CI": f"[{result.low:+.4f}, {result.high:+.4f}]",
                "per seed": ", ".join(f"{d:+.4f}" for d in result.seed_differences),
            }
        )
    return pd.DataFrame(rows)


def seeded_summary(
    runs: dict[str, list[dict]], reported: dict[str, float] | None = None
) -> pd.DataFrame:
    """Per model: seeds stored, test MAE as mean and range over seeds, mean and lowest test
    R² (one seed that learned nothing shows in the lowest), the share of seeds that stopped
    at the epoch cap, and the paper's MAE where given."""
    rows = {}
    for model, records in runs.items():
        if not records:
            continue
        mae = np.array([r["metrics"]["test_mae"] for r in records])
        r2 = np.array([r["metrics"]["test_r2"] for r in records])
        at_cap = np.mean([r["epochs_run"] >= r["config"]["train"]["epochs"] for r in records])
        rows[model] = {
            "seeds": len(records),
            "test MAE (mean)": mae.mean(),
            "min": mae.min(),
            "max": mae.max(),
            "test R² (mean)": r2.mean(),
            "test R² (min)": r2.min(),
            "at epoch cap": at_cap,
            "paper MAE": (reported or {}).get(model, np.nan),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def anchor_counts(
    datasets: Sequence[str] = ("OQMD_Formation_Enthalpy", "OQMD_Bandgap"),
    anchor: str = "Si",
    splits: Sequence[str] = ("train", "val", "test"),
) -> pd.DataFrame:
    """Per dataset and split of the full data: compounds containing ``anchor`` and those of
    them with three or more elements (CECV's set), to place a count the paper quotes."""
    from matfusion.featurize import encode_formulas
    from matfusion.studies import anchor_compounds

    rows = []
    for dataset in datasets:
        for split in splits:
            frame = anchor_compounds(dataset, anchor, split=split)
            elements = encode_formulas(frame["formula"].tolist()).elements
            rows.append(
                {
                    "dataset": dataset,
                    "split": split,
                    f"with {anchor}": len(frame),
                    f"with {anchor}, 3+ elements": int(((elements > 0).sum(axis=1) >= 3).sum()),
                }
            )
    return pd.DataFrame(rows)


def _answer_anchor(profile: Profile, anchor: str = "Ge") -> str:
    table = anchor_counts(["OQMD_Formation_Enthalpy"], anchor=anchor, splits=["test"])
    si = anchor_counts(["OQMD_Formation_Enthalpy"], anchor="Si", splits=["test"])
    n, n3 = int(table.iloc[0, 2]), int(table.iloc[0, 3])
    s3 = int(si.iloc[0, 3])
    return (
        f"The formation-enthalpy test split has {n:,} {anchor} compounds, {n3:,} of them with "
        f"three or more elements (Si: {s3:,}). CECV counts clusters of these compounds, so "
        "it cannot exceed that number and the curves are not comparable with the Si curves "
        "count for count; compare the models by their position in the LSTM-DCNN-K1 band. "
        "No Ge CECV is stored, so how far each curve moves is for the student's rerun to show."
    )


def _answer_band_gap(profile: Profile) -> str:
    from matfusion.verdicts import VerdictContext

    context = VerdictContext(profile)
    runs = {m: context.seeded(m, "OQMD_Bandgap") for m in FIGURE3_MODELS}
    table = seeded_summary(runs)
    if table.empty:
        raise ValueError("no band-gap rerun is stored yet")
    parts = [
        f"{m} {row['test MAE (mean)']:.4f} eV (R² {row['test R² (mean)']:.2f}, "
        f"{int(row['seeds'])} seed{'s' if row['seeds'] > 1 else ''})"
        for m, row in table.iterrows()
    ]
    weak = [m for m, row in table.iterrows() if row["test R² (mean)"] < 0.1]
    return (
        "Test MAE on OQMD band gap (the reruns of chapter 04): "
        + "; ".join(parts)
        + "."
        + (
            f" {', '.join(weak)} reach a test R² below 0.1: they predict the mean band gap, so "
            "their CECV curves say little about chemical environments and the band they span "
            "is no reference."
            if weak
            else ""
        )
    )


def _exercises() -> tuple[Any, ...]:
    from matfusion.chapters.exercises import Exercise

    return (
        Exercise(
            "CECV counts clusters of compounds that contain the anchor element. Change the "
            "anchor from Si to Ge: how many compounds enter CECV, and why must every curve "
            "move?",
            {"anchor": "Ge"},
            _answer_anchor,
            look_at="Train the models and compute their CECV",
        ),
        Exercise(
            "Rerun the design path on OQMD band gap instead of formation enthalpy. Do the "
            "references still span a band the fusions can sit in?",
            {"dataset": "OQMD_Bandgap"},
            _answer_band_gap,
            look_at="Position inside the reference band",
        ),
    )


#: This chapter's exercises (see :mod:`matfusion.chapters.exercises`).
EXERCISES = _exercises()


# --- The chapter's tables and prose numbers (glued into its markdown) -------------------

#: What the glued sentences say where a number cannot be computed.
NOT_STORED = "not stored yet"
#: Figure 3's design checks on one seed: (text, model, other, thresholds "below" or "all",
#: "<" fewer clusters or ">" more).
DESIGN_CHECKS: tuple[tuple[str, str, str, str, str], ...] = (
    ("ldcnn_k1", "LDCNN", "DCNN-K1", "below", "<"),
    ("attres_ldcnn", "L-ATT-RES-DCNN", "LDCNN", "all", ">"),
    ("lgdcnn_attres", "L-G-DCNN", "L-ATT-RES-DCNN", "below", "<"),
)


def anchor_set_numbers(
    cecv_records: dict[str, dict[str, Any]], train_records: dict[str, dict[str, Any]]
) -> dict[str, str]:
    """How many test compounds contain the anchor, how many of them (three or more elements)
    enter CECV, per element count, and the training rows: the numbers of the first CECV
    record, as glue texts (placeholders without one)."""
    if not cecv_records:
        return {k: NOT_STORED for k in ("n_anchor", "n_anchor_cecv", "per_count", "train_rows")}
    first = next(iter(cecv_records))
    groups = cecv_records[first]["compounds_per_element_count"]
    entered = sum(groups.values())
    return {
        "n_anchor": f"{entered + cecv_records[first]['skipped_small']:,}",
        "n_anchor_cecv": f"{entered:,}",
        "per_count": ", ".join(f"{n}: {k:,}" for n, k in groups.items()),
        "train_rows": f"{train_records[first]['sizes']['train']:,}"
        if first in train_records
        else NOT_STORED,
    }


def si_count_numbers(counts: pd.DataFrame, reported: int) -> dict[str, str]:
    """Where the paper's count of Si compounds (``reported``) matches an :func:`anchor_counts`
    table (the formation-enthalpy test split is the third row), as glue texts."""
    fe_test = counts[(counts["dataset"] == "OQMD_Formation_Enthalpy") & (counts["split"] == "test")]
    matches = counts[(counts.iloc[:, 2:] == reported).any(axis=1)]
    return {
        "si_reported": f"{reported:,}",
        "si_fe_test": f"{int(fe_test.iloc[0, 2]):,}" if len(fe_test) else NOT_STORED,
        "si_fe_test_3": f"{int(fe_test.iloc[0, 3]):,}" if len(fe_test) else NOT_STORED,
        "si_match": ", ".join(f"the {r.split} split of {r.dataset}" for r in matches.itertuples())
        or "no split",
    }


def reference_position(
    cecv_table: pd.DataFrame, references: Sequence[str] = ("LSTM", "DCNN-K1")
) -> pd.DataFrame:
    """Each non-reference model's CECV placed in the band of the two references: 1 = as many
    clusters as the first (LSTM), 0 = as many as the second (DCNN-K1); NaN where they tie.
    Empty when a reference has no CECV."""
    high, low = references
    if not {high, low} <= set(cecv_table.index):
        return pd.DataFrame()
    span = (cecv_table.loc[high] - cecv_table.loc[low]).replace(0, np.nan)
    position = cecv_table.sub(cecv_table.loc[low], axis=1).div(span, axis=1)
    return position.drop(index=list(references)).astype(float).round(2)


def _split_thresholds(columns: Sequence[str], at: float = 0.15) -> tuple[list[str], list[str]]:
    return [c for c in columns if float(c) < at], [c for c in columns if float(c) > at]


def design_numbers(
    mae: pd.Series,
    cecv_table: pd.DataFrame,
    position: pd.DataFrame,
    profile: Profile,
    design_path: Sequence[str] = ("LDCNN", "L-ATT-RES-DCNN", "L-G-DCNN", "L-G-DCNN-V1"),
) -> dict[str, str]:
    """The one-seed numbers of "Does our run tell the paper's story?" as glue texts: the test
    MAEs along the design path and whether each step lowers it, each fusion's mean position
    in the reference band below and above t = 0.15, whether DCNN-K1 has at least as many
    clusters as the LSTM everywhere, and at how many thresholds each of
    :data:`DESIGN_CHECKS` is true (placeholders where a run or CECV is missing)."""
    out: dict[str, str] = {}
    out["story_scale"] = (
        "These are smoke-sized runs (a few hundred rows, two epochs, narrow models): the "
        "numbers below exercise the code and say nothing about the claims."
        if profile.name == "smoke"
        else f"These are one-seed runs of the {profile.name} profile."
    )
    path = [m for m in design_path if m in mae.index and pd.notna(mae[m])]
    if len(path) < 2:
        out["path_maes"] = "too few design-path runs are stored"
        out["path_steps"] = NOT_STORED
    else:
        out["path_maes"] = ", ".join(f"{m} {mae[m]:.4f}" for m in path)
        lower = sum(bool(mae[b] < mae[a]) for a, b in zip(path, path[1:], strict=False))
        out["path_steps"] = f"{lower} of {len(path) - 1}"
    below, above = _split_thresholds(list(cecv_table.columns))
    rows = [m for m in design_path if m in position.index]
    out["positions"] = (
        "; ".join(
            f"{m} {position.loc[m, below].mean():.2f} below and "
            f"{position.loc[m, above].mean():.2f} above"
            for m in rows
        )
        or NOT_STORED
    )
    if {"LSTM", "DCNN-K1"} <= set(cecv_table.index):
        more = bool((cecv_table.loc["DCNN-K1"] >= cecv_table.loc["LSTM"]).all())
        out["k1_more"] = "yes" if more else "no"
    else:
        out["k1_more"] = NOT_STORED
    for key, a, b, where, op in DESIGN_CHECKS:
        cols = below if where == "below" else list(cecv_table.columns)
        if {a, b} <= set(cecv_table.index):
            diff = cecv_table.loc[a, cols].astype(float) - cecv_table.loc[b, cols].astype(float)
            ok = (diff < 0) if op == "<" else (diff > 0)
            out[f"check_{key}"] = f"true at {int(ok.sum())} of {len(cols)} thresholds"
        else:
            out[f"check_{key}"] = "not checked (a CECV is missing)"
    return out


def errors_table(
    train_records: dict[str, dict[str, Any]], paper_mae: pd.Series, profile_name: str
) -> pd.DataFrame:
    """Our test MAE per model beside the paper's (``paper_mae``, by model), with the
    difference, training rows and the run's source."""
    from matfusion.experiments import results_table
    from matfusion.notebook import with_difference

    table = (
        results_table(list(train_records.values()))
        if train_records
        else pd.DataFrame(columns=["model", "test_mae", "n_train", "source"])
    ).set_index("model")
    out = with_difference(table["test_mae"].astype(float), paper_mae,
                          ours_label=f"ours ({profile_name})")  # fmt: skip
    out["n_train"] = table["n_train"]
    out["source"] = table["source"]
    return out


def paper_design_mae() -> pd.Series:
    """The formation-enthalpy test MAEs the paper quotes (LDCNN, L-G-DCNN, L-G-DCNN-V1)."""
    from matfusion.paper import reported_value

    models = ("LDCNN", "L-G-DCNN", "L-G-DCNN-V1")
    return pd.Series(
        {m: float(reported_value(f"OQMD formation enthalpy test MAE {m}")) for m in models}
    )


def plot_cecv_over_seeds(spread: pd.DataFrame, paper_lstm: Sequence[float], anchor: str):
    """Mean CECV over seeds per model with its min-max band, and the paper's LSTM curve."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    thresholds = [float(t) for t in spread["mean"].columns]
    for model in spread.index:
        seeds = int(spread.loc[model, ("seeds", "")])
        line = ax.plot(thresholds, spread.loc[model, "mean"], marker="o",
                       label=f"{model} ({seeds} seeds)")  # fmt: skip
        ax.fill_between(
            thresholds,
            spread.loc[model, "min"].astype(float),
            spread.loc[model, "max"].astype(float),
            color=line[0].get_color(),
            alpha=0.2,
        )
    ax.plot(thresholds, paper_lstm, "k--", label="LSTM, as reported by the paper")
    ax.set_xlabel("clustering threshold t")
    ax.set_ylabel(f"CECV (clusters of {anchor} compounds)")
    ax.set_yscale("log")
    ax.set_title("Figure 3 rerun: mean over seeds, band = min-max")
    ax.legend(fontsize=8)
    return fig


def conventions_display(effects: pd.DataFrame | None, profile_name: str) -> tuple[Any, str]:
    """The conventions-at-initialisation table as shown (a count a switch cannot reach is
    marked), and the sentence under it; without stored effects, None and the command that
    computes them."""
    if effects is None:
        return None, (
            f"The conventions table is not stored for the {profile_name} profile: "
            "matfusion.chapters.conventions.conventions_at_init(get_profile("
            f"'{profile_name}')) computes it (a few minutes)."
        )
    shown = effects.pivot(index="switched", columns="model", values="cecv")
    shown = shown.reindex(list(dict.fromkeys(effects["switched"])))
    reaches = effects.pivot(index="switched", columns="model", values="reaches_efm")
    reaches.loc["none"] = True  # the starting point: nothing switched
    table = shown.astype("string").where(
        reaches.reindex(shown.index).astype(bool), shown.astype("string") + " (not reached)"
    )
    table.index.name = f"switched (CECV at t = {effects.attrs['threshold']})"
    return table, (
        f"{effects.attrs['n_compounds']:,} test compounds; CECV of the anchor compounds with "
        "three or more elements, random weights."
    )


#: Training-set sizes of the CECV-against-size sweep (the paper trains on about 240,000
#: formation-enthalpy rows; 60,000 is what these 2-core machines afford).
CECV_SIZES = (3000, 20000, 60000)


@dataclass
class CecvBySize:
    """CECV of Figure 3's models at several training-set sizes, one seed, the rerun
    settings: ``cecv`` (rows: (model, training rows); columns: thresholds), ``mae`` (rows:
    training rows; columns: model), what is missing and the command that makes it."""

    cecv: pd.DataFrame
    mae: pd.DataFrame
    missing: list[str]
    command: str

    @property
    def total(self) -> int:
        """Runs and CECV records the section reads, stored or missing."""
        return len(self.missing) + int(self.mae.notna().sum().sum()) + len(self.cecv)

    def at(self, threshold: str) -> pd.DataFrame:
        """CECV at one threshold (e.g. "0.05"): rows training rows, columns model."""
        if self.cecv.empty:
            return pd.DataFrame()
        return self.cecv[threshold].unstack("model")

    def positions(self) -> pd.DataFrame:
        """Per training size and fused model: its mean position in the LSTM (1) to DCNN-K1
        (0) band below and above t = 0.15 (the design wants >= 0.5 below, <= 0.5 above)."""
        rows = {}
        for size, table in self.cecv.groupby(level="size"):
            position = reference_position(table.droplevel("size"))
            if position.empty:
                continue
            small, large = _split_thresholds(list(position.columns))
            for model in position.index:
                rows[(size, model)] = {
                    "below t = 0.15": position.loc[model, small].mean(),
                    "above t = 0.15": position.loc[model, large].mean(),
                }
        frame = pd.DataFrame.from_dict(rows, orient="index")
        if not frame.empty:
            frame.index = pd.MultiIndex.from_tuples(frame.index, names=["size", "model"])
        return frame

    def plot(self, paper_lstm: Sequence[float], anchor: str, thresholds: Sequence[str]) -> Any:
        """CECV against training rows, one panel per threshold, the paper's LSTM (trained on
        the full set) as a dashed line."""
        import matplotlib.pyplot as plt

        all_thresholds = list(self.cecv.columns)
        fig, axes = plt.subplots(1, len(thresholds), figsize=(4.2 * len(thresholds), 3.8),
                                 squeeze=False)  # fmt: skip
        for ax, threshold in zip(axes[0], thresholds, strict=True):
            table = self.at(threshold)
            for model in table.columns:
                values = table[model].dropna()
                ax.plot(values.index, values.to_numpy(), marker="o", label=model)
            paper = paper_lstm[all_thresholds.index(threshold)]
            ax.axhline(paper, color="black", ls="--", lw=1, label="LSTM, paper (full set)")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("training rows")
            ax.set_ylabel(f"CECV (clusters of {anchor} compounds)")
            ax.set_title(f"t = {threshold}")
        axes[0][-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        fig.tight_layout()
        return fig


def cecv_by_size(
    profile: Profile,
    *,
    dataset: str = "OQMD_Formation_Enthalpy",
    models: Sequence[str] = FIGURE3_MODELS,
    sizes: Sequence[int] | None = None,
    seed: int = 0,
    anchor: str = "Si",
    mode: str = "authors",
    train_missing: bool = False,
    store: Any = None,
) -> CecvBySize:
    """The stored runs and CECV of ``models`` at each training size under
    :func:`rerun_profile` (smoke: two tiny sizes, trained here), never retrained: a CECV
    is read, or computed from a checkpoint on this machine."""
    from matfusion.experiments import run_cecv
    from matfusion.grid import Cell, collect_records

    prof = rerun_profile(profile)
    sizes = tuple(sizes or ((64, 128) if profile.name == "smoke" else CECV_SIZES))
    cecv_rows, mae_rows, missing = {}, {}, []
    for size in sizes:
        cells = [Cell(model, dataset, None, seed, size) for model in models]
        records, lacking = collect_records(cells, profile=prof, train_missing=train_missing,
                                           store=store)  # fmt: skip
        missing += [text for c in lacking for text in (c.label(), f"CECV of {c.label()}")]
        for cell, record in zip([c for c in cells if c not in lacking], records, strict=True):
            mae_rows.setdefault(size, {})[cell.model] = record["metrics"]["test_mae"]
            found = run_cecv(record, anchor=anchor, mode=mode, store=store,
                             retrain=train_missing)  # fmt: skip
            if found is None:
                missing.append(f"CECV of {cell.label()}")
                continue
            thresholds = [f"{t:.2f}" for t in found["thresholds"]]
            cecv_rows[(cell.model, size)] = dict(zip(thresholds, found["cecv"], strict=True))
    cecv = pd.DataFrame.from_dict(cecv_rows, orient="index")
    if not cecv.empty:
        cecv.index = pd.MultiIndex.from_tuples(cecv.index, names=["model", "size"])
    mae = pd.DataFrame.from_dict(mae_rows, orient="index").reindex(columns=list(models))
    mae.index.name = "training rows"
    command = rerun_command(models, dataset, [seed], profile.name, prof, sizes)
    return CecvBySize(cecv, mae, missing, command)


def large_runs(
    dataset: str,
    anchor: str,
    mode: str,
    models: Sequence[str] = ("LSTM", "DCNN-K1", "L-G-DCNN"),
    store: Any = None,
) -> tuple[dict[str, dict], dict[str, dict]]:
    """The stored ``large``-profile CECV records and training runs of ``models``, by model
    (a model appears only with both)."""
    from matfusion.results import ResultsStore

    store = store or ResultsStore()
    cecv, train = {}, {}
    for model in models:
        found = store.records(experiment="cecv", profile="large", model=model,
                              dataset=dataset, anchor=anchor, mode=mode)  # fmt: skip
        runs = store.records(experiment="train", profile="large", model=model, dataset=dataset)
        if found and runs:
            cecv[model], train[model] = found[0], runs[0]
    return cecv, train


def _mean_gap(curve: Any, paper: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(curve, dtype=float) / paper - 1)) * 100)


def large_numbers(
    large_table: pd.DataFrame,
    train_large: dict[str, dict],
    cecv_table: pd.DataFrame,
    paper_lstm: Sequence[float],
    profile_name: str,
    n_compounds: int | None,
) -> dict[str, str]:
    """The glue texts of the ``large`` section: training rows and test MAEs of the stored
    runs, the compounds CECV clusters, the LSTM's mean relative distance from the paper's
    curve at ``large`` and under ``profile_name``, and whether L-G-DCNN has fewer clusters
    than the LSTM at every threshold (placeholders without runs)."""
    if large_table.empty:
        keys = ("large_rows", "large_mae", "large_compounds", "lstm_gap_large",
                "lstm_gap_profile", "lgdcnn_below_lstm")  # fmt: skip
        return {k: NOT_STORED for k in keys}
    paper = np.asarray(paper_lstm, dtype=float)
    has = set(large_table.index)
    return {
        "large_rows": ", ".join(f"{m} {r['sizes']['train']:,}" for m, r in train_large.items()),
        "large_mae": ", ".join(
            f"{m} {r['metrics']['test_mae']:.4f}" for m, r in train_large.items()
        ),
        "large_compounds": f"{n_compounds:,}" if n_compounds is not None else NOT_STORED,
        "lstm_gap_large": f"{_mean_gap(large_table.loc['LSTM'], paper):.0f} %"
        if "LSTM" in has
        else NOT_STORED,
        "lstm_gap_profile": f"{_mean_gap(cecv_table.loc['LSTM'], paper):.0f} %"
        if "LSTM" in cecv_table.index
        else f"{NOT_STORED} under the {profile_name} profile",
        "lgdcnn_below_lstm": (
            "yes" if bool((large_table.loc["L-G-DCNN"] < large_table.loc["LSTM"]).all()) else "no"
        )
        if {"LSTM", "L-G-DCNN"} <= has
        else NOT_STORED,
    }
