# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # What the models learned (paper A, Figures 6, 8, 9, 10, 12, S3 and S9)
#
# The paper opens its models up in six ways: parity plots with the predicted uncertainty,
# element feature matrices (EFM) of well-known perovskites, predictions along the Si-O
# binary line, per-element contributions on a periodic table, UMAP maps of the EFMs of Si
# compounds, and the element pairs whose correlation changes most when LSTM is fused into
# L-G-DCNN. This chapter redraws each from our runs and checks the paper's reading of it.
#
# The models are the runs of the earlier chapters (same profile, same seed), read back from
# the results store; the analyses are stored as well (experiment `interpret`), so the page is
# redrawn without checkpoints when the records are committed. Only the shear-modulus models
# of Figure 9 are new. The last table lists every run used here, with its training-row count
# and where it came from.

# %% tags=["parameters"]
profile = "standard"
band_gap_dataset = "OQMD_Bandgap"  # most figures: parity, EFMs, sweeps, UMAPs, worst pairs
enthalpy_dataset = "OQMD_Formation_Enthalpy"  # the second parity plot and element correlations
shear_dataset = "mp_shear_modulus"  # the element-contribution comparison
anchor = "Si"
perovskites = ["SrTiO3", "BaTiO3", "KNbO3", "CsPbI3"]  # compounds whose EFMs Figure 6c compares
oxide_partners = ["Si", "Al", "Ti", "Zn"]  # A in A_x O_(1-x); the first is Figure 8
umap_max_compounds = None  # None: every anchor compound (smoke: 400)
n_worst = 56  # worst-predicted compounds whose element pairs are compared (Figure 10)
min_pauling = 3.0  # "strongly electronegative": Pauling electronegativity at least this
train_missing = None  # None: train missing runs only under smoke; other profiles read the store
progress = True

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from matfusion import studies
from matfusion.analysis.interpret import electronegative_elements, group_contrast
from matfusion.analysis.plots import (
    plot_binary_sweeps,
    plot_correlation_matrix,
    plot_efm_heatmaps,
    plot_embedding_panels,
    plot_parity,
    plot_periodic_table,
)
from matfusion.chapters.cells import INTERPRETABILITY_MODELS
from matfusion.data import dataset_summary, get_dataset
from matfusion.experiments import results_table
from matfusion.grid import grid_cells
from matfusion.notebook import (
    analysis_within_reach,
    profile_banner,
    retrain_command,
    setup_plots,
    show_markdown,
    stored_runs,
    with_difference,
)
from matfusion.paper import reported_floats
from matfusion.profiles import get_profile

prof = get_profile(profile)
setup_plots()
if umap_max_compounds is None and prof.name == "smoke":
    umap_max_compounds = 400
if train_missing is None:
    train_missing = prof.name == "smoke"
show_markdown(
    profile_banner(
        prof,
        {
            "Anchor element": anchor,
            "Missing runs": "trained now" if train_missing else "read from the store only",
        },
    )
)

# %% [markdown]
# ## The runs
#
# Every figure below reads runs of the earlier chapters from the results store (only the
# `smoke` profile trains what is missing). A figure whose runs are not all there says so in
# one line; the note names them and the command that trains them.

# %%
SECTION_MODELS = {
    band_gap_dataset: list(INTERPRETABILITY_MODELS["band_gap"]),
    enthalpy_dataset: list(INTERPRETABILITY_MODELS["enthalpy"]),
    shear_dataset: list(INTERPRETABILITY_MODELS["shear"]),
}
cells = [c for d, ms in SECTION_MODELS.items() for c in grid_cells(ms, [d])]
records, missing = stored_runs(cells, prof, train_missing=train_missing)
present = [c for c in cells if c not in missing]
RUNS = {(c.model, c.dataset): rec for c, rec in zip(present, records, strict=True)}


def section_runs(
    pairs: dict[str, tuple[str, str]], analyses: list[tuple[str, list[str]]]
) -> dict | None:
    """The runs a figure needs by label, or None with a one-line note when one is not stored,
    or when a stored analysis it reads (kind, labels) is missing and computing it would
    retrain a model (no checkpoint on this machine)."""
    lacking = [f"{m} / {d}" for m, d in pairs.values() if (m, d) not in RUNS]
    if lacking:
        show_markdown(f"Left out: it needs {', '.join(lacking)}, not stored (see the note above).")
        return None
    runs = {label: RUNS[pair] for label, pair in pairs.items()}
    for kind, labels in analyses:
        used = [runs[label] for label in labels]
        if not train_missing and not analysis_within_reach(used, "interpret", kind=kind):
            show_markdown(
                f"Left out: its `{kind}` analysis is not stored and the checkpoints it needs are "
                "not on this machine; "
                + "; ".join(f"`{retrain_command(r)}`" for r in used)
                + " brings them back, and this page then computes it."
            )
            return None
    return runs


# %% [markdown]
# ## Parity with uncertainty (Figure 6a,b)
#
# L-G-DCNN on the OQMD band gap and formation enthalpy test sets; colour is the predicted
# uncertainty (the model's aleatoric output), the side panels the distributions of the DFT
# values (top) and of the predictions (right).

# %% tags=["hide-input"]
parity_runs = section_runs(
    {
        "band gap": ("L-G-DCNN", band_gap_dataset),
        "formation enthalpy": ("L-G-DCNN", enthalpy_dataset),
    },
    [("parity", ["band gap"]), ("parity", ["formation enthalpy"])],
)
rmse, n_test = {}, {}
for label, record in (parity_runs or {}).items():
    dataset = get_dataset(record["config"]["dataset"])
    frame = studies.parity(record)
    rmse[label] = float(np.sqrt(np.mean((frame["target"] - frame["prediction"]) ** 2)))
    n_test[label] = len(frame)
    plot_parity(
        frame["target"],
        frame["prediction"],
        frame["uncertainty"],
        unit=dataset.unit,
        title=f"L-G-DCNN, {dataset.name} test ({len(frame):,} compounds)",
    )
    plt.show()
reported_rmse = pd.Series(
    {
        "band gap": reported_floats("OQMD band gap parity RMSE L-G-DCNN")[0],
        "formation enthalpy": reported_floats("OQMD formation enthalpy parity RMSE L-G-DCNN")[0],
    }
)
rmse_table = with_difference(
    pd.Series(rmse, dtype=float), reported_rmse, ours_label=f"RMSE ours ({prof.name})"
)
if parity_runs:
    rmse_table["n_train"] = pd.Series({k: r["sizes"]["train"] for k, r in parity_runs.items()})
    rmse_table["test compounds"] = pd.Series(n_test)
    full_train = dataset_summary().set_index("name")["n_train"]
    capped = [r["config"]["max_train_rows"] is not None for r in parity_runs.values()]
    show_markdown(
        "Our L-G-DCNN runs were trained on "
        + " and ".join(
            f"{r['sizes']['train']:,} rows ({label}; the {r['config']['dataset']} training split "
            f"has {full_train[r['config']['dataset']]:,})"
            for label, r in parity_runs.items()
        )
        + "; the paper trains on the full split"
        + (
            ", so the differences below set a run on capped training data against the paper's "
            "full-data model."
            if any(capped)
            else "."
        )
    )
rmse_table.style.format(
    {c: "{:.4g}" for c in rmse_table.select_dtypes("float").columns}, na_rep="–"
).format("{:+.0f} %", subset=["difference %"], na_rep="–")

# %% [markdown]
# ## EFMs of four perovskites (Figure 6c)
#
# Each panel is one compound's EFM at the last layer before the output head: one row per
# element (ordered by atomic number), one column per feature. The same compound looks
# different to the band-gap and the formation-enthalpy model: the EFM is property-specific.

# %% tags=["hide-input"]
efm_runs = section_runs(
    {
        "L-G-DCNN (band gap)": ("L-G-DCNN", band_gap_dataset),
        "L-G-DCNN (formation enthalpy)": ("L-G-DCNN", enthalpy_dataset),
    },
    [("efm_maps", ["L-G-DCNN (band gap)", "L-G-DCNN (formation enthalpy)"])],
)
if efm_runs:
    efms, efm_elements = studies.efm_maps(efm_runs, perovskites)
    plot_efm_heatmaps(efms, efm_elements)
    plt.show()
    similarity = {
        compound: float(
            np.corrcoef(*(np.asarray(maps[compound]).ravel() for maps in efms.values()))[0, 1]
        )
        for compound in perovskites
    }
    show_markdown(
        "Correlation between the two models' EFMs of the same compound: "
        + ", ".join(f"{c} {r:.2f}" for c, r in similarity.items())
        + ". A value near 1 would mean the two property models encode a compound alike; the "
        "lower it is, the more property-specific the learned features."
    )

# %% [markdown]
# ### The paper's reading of Figure 6c, in numbers
#
# The paper: *"compositionally and structurally similar materials such as SrTiO3 and BaTiO3
# have a similar EFM ... KNbO3 ... is comparable ... The EFM of halide perovskite CsPbI3 is
# considerably different from that of its oxide counterparts. A consistent trend is observed
# from the OQMD band gap model."* Each pair of compounds is measured in two spaces: the
# compound embedding (cosine distance between the EFMs averaged over elements, the vectors
# of the UMAP maps below) and the element-correlation space the CECV clusters in (largest
# entry-wise difference of the element-correlation matrices, rows by site A, B, X). The
# reading holds in a space when SrTiO3–BaTiO3 is the nearest pair and CsPbI3 is farther from
# every oxide than any two oxides are from each other.

# %% tags=["hide-input"]
from matfusion.chapters.interpretability import (  # noqa: E402
    perovskite_distances,
    perovskite_reading,
)

display_distances = None
if efm_runs and set(perovskites) >= {"SrTiO3", "BaTiO3", "CsPbI3"}:
    readings, distance_tables = [], {}
    for label, efm_set in efms.items():
        distance_tables[label] = perovskite_distances(efm_set, efm_elements)
        for measure in ("embedding", "correlation"):
            r = perovskite_reading(distance_tables[label], measure=measure)
            readings.append({"model": label, "space": measure, **r})
    show_markdown(
        "\n".join(
            f"* {r['model']}, {r['space']} space: SrTiO3 close to BaTiO3 "
            + ("holds" if r["close_holds"] else "does **not** hold")
            + f" (their distance {r['close_distance']:.3g}, nearest pair {r['nearest_pair']}); "
            "CsPbI3 apart "
            + ("holds" if r["apart_holds"] else "does **not** hold")
            + f" (nearest to an oxide {r['apart_min']:.3g}, oxides at most "
            f"{r['others_max']:.3g} apart)."
            for r in readings
        )
        + "\n\nOne run per model (seed 0): a verdict, not a spread over seeds."
    )
    display_distances = pd.concat(
        {k: v[["embedding", "correlation"]] for k, v in distance_tables.items()}, axis=1
    )
else:
    show_markdown("*The paper's reading of Figure 6c*: not checked here, its runs are missing.")
display_distances.round(3) if display_distances is not None else None

# %% [markdown]
# ## Band gap along A_x O_(1-x) (Figure 8)
#
# Predictions of the two reference models (LSTM, DCNN-K1), DCNN and L-G-DCNN along
# Si_x O_(1-x), with the predicted uncertainty as a band and the dataset's DFT values of
# Si-O compounds as dots. The paper reads three things off it: fusion shrinks the
# uncertainty; LSTM predicts too low and DCNN-K1 too high; DCNN and L-G-DCNN come closer to
# DFT.

# %% tags=["hide-input"]
sweep_models = ["LSTM", "DCNN-K1", "DCNN", "L-G-DCNN"]
sweep_runs = section_runs(
    {m: (m, band_gap_dataset) for m in sweep_models},
    [("binary_sweep", sweep_models), ("binary_sweep", ["L-G-DCNN"])],
)
unit = get_dataset(band_gap_dataset).unit
sweep_table = None
if sweep_runs:
    sweep_rows = []
    for k, partner in enumerate(oxide_partners):
        runs = sweep_runs if k == 0 else {"L-G-DCNN": sweep_runs["L-G-DCNN"]}
        sweeps = studies.binary_sweeps(runs, partner, "O")
        points = studies.dataset_binary_points(band_gap_dataset, partner, "O")
        if k == 0:
            plot_binary_sweeps(sweeps, points, a=partner, b="O", unit=unit)
            plt.show()
        for label, sweep in sweeps.items():
            near = (
                np.interp(points["x"], sweep["x"], sweep["prediction"])
                if len(points)
                else np.array([])
            )
            sweep_rows.append(
                {
                    "system": f"{partner}-O",
                    "model": label,
                    "mean uncertainty": sweep["uncertainty"].mean(),
                    "DFT points": len(points),
                    "mean (prediction - DFT)": float(np.mean(near - points["target"]))
                    if len(points)
                    else np.nan,
                    "MAE vs DFT": float(np.mean(np.abs(near - points["target"])))
                    if len(points)
                    else np.nan,
                }
            )
    sweep_table = pd.DataFrame(sweep_rows).set_index(["system", "model"])
    if sweep_table.isna().any().any():
        show_markdown("A dash: the dataset has no DFT value on that oxide line to compare with.")
(
    sweep_table.style.format("{:.3f}", na_rep="–").format("{:d}", subset=["DFT points"])
    if sweep_table is not None
    else None
)

# %% tags=["hide-input"]
others = {}
for partner in oxide_partners[1:] if sweep_runs else []:
    sweep = studies.binary_sweeps({"L-G-DCNN": sweep_runs["L-G-DCNN"]}, partner, "O")["L-G-DCNN"]
    others[f"{partner}$_x$O$_{{1-x}}$"] = sweep
if others:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for label, sweep in others.items():
        ax.plot(sweep["x"], sweep["prediction"], label=label)
        ax.fill_between(
            sweep["x"],
            sweep["prediction"] - sweep["uncertainty"],
            sweep["prediction"] + sweep["uncertainty"],
            alpha=0.15,
        )
    ax.set_xlabel("x (fraction of the metal)")
    ax.set_ylabel(f"L-G-DCNN band gap ({unit})")
    ax.set_title("Other oxide lines, L-G-DCNN")
    ax.legend(fontsize=8)
    plt.show()

# %% tags=["remove-input"]
if sweep_table is None:
    show_markdown("*The paper's reading of Figure 8*: not checked here, its runs are missing.")
else:
    si = sweep_table.loc["Si-O"]
    lines = []
    fused_unc = si.loc["L-G-DCNN", "mean uncertainty"]
    ref_unc = si.loc[["LSTM", "DCNN-K1"], "mean uncertainty"].min()
    lines.append(
        "* *Fusion lowers the uncertainty along the line*: "
        + ("holds" if fused_unc < ref_unc else "does **not** hold")
        + f" here (mean predicted uncertainty L-G-DCNN {fused_unc:.3f} vs the lower reference "
        f"{ref_unc:.3f} {unit})."
    )
    if si["DFT points"].iloc[0] > 0:
        bias = si["mean (prediction - DFT)"]
        lines.append(
            "* *LSTM predicts too low, DCNN-K1 too high*: "
            + ("holds" if bias["LSTM"] < 0 < bias["DCNN-K1"] else "does **not** hold")
            + f" here (mean prediction minus DFT at the dataset's Si-O compounds: LSTM "
            f"{bias['LSTM']:+.3f}, DCNN-K1 {bias['DCNN-K1']:+.3f} {unit})."
        )
        mae = si["MAE vs DFT"]
        best_ref = mae[["LSTM", "DCNN-K1"]].min()
        lines.append(
            "* *DCNN and L-G-DCNN come closer to DFT than the references*: "
            + ("holds" if max(mae["DCNN"], mae["L-G-DCNN"]) < best_ref else "does **not** hold")
            + " here (MAE at the Si-O points: "
            + ", ".join(f"{m} {v:.3f}" for m, v in mae.items())
            + ")."
        )
    else:
        lines.append("* The dataset has no Si-O binary with a DFT value to compare with.")
    show_markdown("\n".join(lines))

# %% [markdown]
# ## Element contributions on the periodic table (Figure 9)
#
# The output head averages one value per element, so every prediction splits exactly into
# per-element contributions (in GPa here; a compound's prediction is the mean of its
# elements' contributions). Averaging each element's contribution over the shear-modulus
# test compounds that contain it gives one number per element and model. The paper maps
# the differences to L-G-DCNN: Δ1 = L-G-DCNN − DCNN-K1, Δ2 = L-G-DCNN − DCNN,
# Δ3 = L-G-DCNN − LSTM, and reads Δ1 as the darkest (DCNN-K1's contributions are the least
# like the fused model's).

# %% tags=["hide-input"]
contribution_models = ["DCNN-K1", "DCNN", "LSTM", "L-G-DCNN"]
shear_runs = section_runs(
    {m: (m, shear_dataset) for m in contribution_models},
    [("average_contribution", contribution_models)],
)
shear_unit = get_dataset(shear_dataset).unit
delta_summary = None
if shear_runs:
    contributions = studies.average_contributions(shear_runs)
    deltas = {
        f"Δ{k} = L-G-DCNN − {m}": (contributions["L-G-DCNN"] - contributions[m]).abs()
        for k, m in enumerate(["DCNN-K1", "DCNN", "LSTM"], start=1)
    }
    fig, axes = plt.subplots(2, 2, figsize=(15, 8))
    plot_periodic_table(
        contributions["L-G-DCNN"],
        ax=axes[0, 0],
        cmap="viridis",
        title="L-G-DCNN: average contribution",
        label=shear_unit,
    )
    shared_range = (0.0, max(float(v.max()) for v in deltas.values()))
    for ax, (label, values) in zip(axes.ravel()[1:], deltas.items(), strict=True):
        plot_periodic_table(
            values, ax=ax, title=f"|{label}|", label=shear_unit, value_range=shared_range
        )
    plt.tight_layout()
    plt.show()
    delta_summary = pd.DataFrame(
        {"mean |Δ|": {k: v.mean() for k, v in deltas.items()}, "max |Δ|": {
            k: v.max() for k, v in deltas.items()}, "element of max": {
            k: v.idxmax() for k, v in deltas.items()}}
    )  # fmt: skip
delta_summary.round(2) if delta_summary is not None else None

# %% tags=["remove-input"]
if delta_summary is not None:
    shear_table = results_table(list(shear_runs.values())).set_index("model")
    d1, d2, d3 = (delta_summary["mean |Δ|"].iloc[i] for i in range(3))
    show_markdown(
        f"Test MAE on {shear_dataset} ({shear_unit}): "
        + ", ".join(f"{m} {shear_table.loc[m, 'test_mae']:.1f}" for m in contribution_models)
        + f"; averages over {len(contributions)} elements.\n\n"
        "* *Δ1 (DCNN-K1) differs most from L-G-DCNN*: "
        + ("holds" if d1 > max(d2, d3) else "does **not** hold")
        + f" here (mean |Δ| {d1:.2f}, {d2:.2f}, {d3:.2f} {shear_unit} for Δ1, Δ2, Δ3)."
    )
else:
    show_markdown(
        "*Δ1 (DCNN-K1) differs most from L-G-DCNN* (the paper): not checked here, its runs "
        "are missing."
    )

# %% [markdown]
# ## UMAP of the EFMs of Si compounds (Figures 10 and S3)
#
# Each Si compound of the band-gap test split becomes one vector (its EFM averaged over its
# elements) and UMAP draws the set in 2-D, once per model. Colour is the model's prediction
# or the DFT band gap. RNN against LSTM is the paper's Figure S3 (global extractors), LSTM
# against L-G-DCNN its Figure 10 (before and after fusion). The number under each map is the
# mean band-gap difference between a compound and its 10 nearest neighbours on the map: the
# smaller, the better the map keeps compounds of similar band gap together; the same number
# for a map whose band gaps are shuffled gives the scale.

# %% tags=["hide-input"]
umap_models = ["RNN", "LSTM", "L-G-DCNN"]
umap_runs = section_runs(
    {m: (m, band_gap_dataset) for m in umap_models}, [("efm_umap", umap_models)]
)
spread = None
if umap_runs:
    maps = studies.efm_umaps(umap_runs, anchor=anchor, max_compounds=umap_max_compounds)
    coords = {m: maps[[f"{m}_x", f"{m}_y"]].to_numpy() for m in umap_models}
    for pair in (["RNN", "LSTM"], ["LSTM", "L-G-DCNN"]):
        colours = {}
        for m in pair:
            colours[f"{m} | predicted"] = maps[f"{m}_pred"].to_numpy()
            colours[f"{m} | DFT"] = maps["target"].to_numpy()
        plot_embedding_panels(coords, colours, label=f"band gap ({unit})")
        plt.show()
    spread = pd.Series(
        {m: studies.neighbour_spread(coords[m], maps["target"]) for m in umap_models},
        name=f"neighbour spread of DFT band gap ({unit})",
    )
    # Scale: the same map with the band gaps shuffled (no structure at all).
    shuffled = np.random.default_rng(0).permutation(maps["target"].to_numpy())
    spread["shuffled values (no structure)"] = studies.neighbour_spread(coords["LSTM"], shuffled)
    show_markdown(f"{len(maps):,} compounds with {anchor} from the {band_gap_dataset} test split.")
spread.round(3).to_frame() if spread is not None else None

# %% tags=["remove-input"]
if spread is not None:
    show_markdown(
        "* *LSTM maps chemical environments better than RNN* (Figure S3): "
        + ("holds" if spread["LSTM"] < spread["RNN"] else "does **not** hold")
        + f" by the neighbour spread ({spread['LSTM']:.3f} vs {spread['RNN']:.3f}).\n"
        "* *After fusion, compounds of different band gap are better separated* (Figure 10): "
        + ("holds" if spread["L-G-DCNN"] < spread["LSTM"] else "does **not** hold")
        + f" ({spread['L-G-DCNN']:.3f} for L-G-DCNN vs {spread['LSTM']:.3f} for LSTM).\n\n"
        f"For scale, a structureless map scores {spread.iloc[-1]:.3f}"
        + (
            ": all three models already group Si compounds of similar band gap together, and the "
            "differences between them are small."
            if spread[umap_models].max() < 0.5 * spread.iloc[-1]
            else "."
        )
    )
else:
    show_markdown(
        "*The paper's reading of Figures 10 and S3*: not checked here, its runs are missing."
    )

# %% [markdown]
# ### Figure 10's circled compounds
#
# The paper circles in red the Si compounds whose predicted band gap differs strongly from
# the DFT value before fusion, and reads the fused maps as *"the L-G-DCNN not only achieves
# accurate band gap predictions but also accurately captures the chemical environments"*.
# Here the circled compounds are those whose LSTM error exceeds `outlier_factor` times
# LSTM's mean error over the Si compounds (the paper gives no cut-off; DCNN-K1, its other
# circled model, is not in these maps). The reading holds when L-G-DCNN brings most of
# them under the same cut-off and halves their mean error.

# %% tags=["hide-input"]
from matfusion.chapters.interpretability import fusion_fixes_outliers  # noqa: E402

outlier_factor = 3.0
if spread is not None:
    fixes = fusion_fixes_outliers(maps, before="LSTM", after="L-G-DCNN", factor=outlier_factor)
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.8))
    for ax, m in zip(axes, ["LSTM", "L-G-DCNN"], strict=True):
        points = ax.scatter(coords[m][:, 0], coords[m][:, 1], c=maps[f"{m}_pred"], s=4,
                            cmap="viridis")  # fmt: skip
        ax.scatter(coords[m][fixes["mask"], 0], coords[m][fixes["mask"], 1], s=40,
                   facecolors="none", edgecolors="#D55E00", linewidths=0.8,
                   label=f"LSTM error > {fixes['cutoff']:.2f} {unit}")  # fmt: skip
        ax.set_title(f"{m} | predicted")
        ax.set_xlabel("UMAP 1 (arbitrary units)")
        ax.set_ylabel("UMAP 2 (arbitrary units)")
    fig.colorbar(points, ax=axes, label=f"predicted band gap ({unit})")
    axes[0].legend(fontsize=7, loc="best")
    plt.show()
    show_markdown(
        "* *After fusion the circled compounds are predicted accurately* (Figure 10): "
        + ("holds" if fixes["holds"] else "does **not** hold")
        + f" here: {fixes['n_outliers']} of {fixes['n_compounds']:,} Si compounds have an "
        f"LSTM error above {fixes['cutoff']:.2f} {unit}; L-G-DCNN brings {fixes['fixed']} of "
        f"them under it, and its mean error on them is {fixes['mae_after_on_outliers']:.2f} "
        f"{unit} against LSTM's {fixes['mae_before_on_outliers']:.2f} (over all Si compounds: "
        f"{fixes['mae_after_all']:.3f} against {fixes['mae_before_all']:.3f}). One run each."
    )

# %% [markdown]
# ## Element pairs that fusion changes most (Figure 12)
#
# Take the Si compounds (three or more elements) that LSTM predicts worst, compute each
# compound's element-by-element EFM correlation under LSTM and under L-G-DCNN, and rank the
# element pairs by how much their correlation changes, summed over the compounds that
# contain the pair (so a pair that moves in many compounds ranks above a one-off). The paper finds that most of the top
# pairs involve strongly electronegative elements such as O, Cl and F.

# %% tags=["hide-input"]
shift_runs = section_runs(
    {"reference": ("LSTM", band_gap_dataset), "fused": ("L-G-DCNN", band_gap_dataset)},
    [("pair_shift", ["reference", "fused"])],
)
pairs = None
if shift_runs:
    pairs, worst = studies.worst_compound_pair_shift(
        shift_runs["reference"], shift_runs["fused"], anchor=anchor, n_worst=n_worst
    )
    top = pairs.head(15).iloc[::-1]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.barh(top["pair"], top["total_abs_change"], color="C0")
    ax.set_xlabel("summed |Δ correlation| over the compounds, LSTM → L-G-DCNN")
    ax.set_title(f"Top element pairs over the {len(worst)} worst LSTM {anchor} compounds")
    plt.show()
pairs.head(10).round(3) if pairs is not None else None

# %% tags=["remove-input"]
if pairs is not None:
    strong = electronegative_elements(min_pauling)
    top10 = pairs.head(10)["pair"].str.split("-")
    electronegative = [any(e in strong for e in pair if e != anchor) for pair in top10]
    share = float(np.mean(electronegative)) if len(electronegative) else float("nan")
    show_markdown(
        f"{sum(electronegative)} of the top {len(top10)} pairs involve an element with Pauling "
        f"electronegativity ≥ {min_pauling} besides {anchor} (by pymatgen's table: "
        f"{', '.join(strong)}). "
        "*Most top pairs involve strongly electronegative elements* (the paper): "
        + ("holds" if share > 0.5 else "does **not** hold")
        + " here."
    )
else:
    show_markdown(
        "*Most top pairs involve strongly electronegative elements* (the paper): not checked "
        "here, its runs are missing."
    )

# %% [markdown]
# ## Learned element vectors recover the periodic table (Figure S9)
#
# Each element of the formation-enthalpy training set is fed to L-G-DCNN on its own and its
# vector at the last layer before the head is read out; the matrix shows the Pearson
# correlation between those vectors in order of atomic number. Blocks and stripes that follow
# the periods and groups are the "periodic structure". The input embedding (mat2vec) already
# carries some of it, so it is shown beside, with a number for each: the mean correlation
# between elements of the same group against that of different groups.

# %% tags=["hide-input"]
correlation_runs = section_runs(
    {"model": ("L-G-DCNN", enthalpy_dataset)}, [("element_correlation", ["model"])]
)
if correlation_runs:
    learned, raw = studies.element_correlations(correlation_runs["model"])
    fig, axes = plt.subplots(1, 2, figsize=(14, 6))
    plot_correlation_matrix(learned, ax=axes[0], title="L-G-DCNN (formation enthalpy)")
    plot_correlation_matrix(raw, ax=axes[1], title="input embedding (mat2vec)")
    plt.tight_layout()
    plt.show()

    contrast = pd.DataFrame(
        {"L-G-DCNN": group_contrast(learned), "mat2vec input": group_contrast(raw)}
    ).T
    contrast["same - different"] = contrast["same_group"] - contrast["different_group"]
    show_markdown(
        f"{len(learned)} elements (the paper: "
        f"{int(reported_floats('Element EFM periodic correlation elements')[0])})."
    )
contrast.round(3) if correlation_runs else None

# %% [markdown]
# ## The runs behind this page
#
# Every training run this page reads, once each: its training-row count (`n_train`), test metrics
# and `source` (trained now, read back from the results store, or a stored run of a larger
# profile standing in).

# %% tags=["hide-input"]
RUN_COLUMNS = ["dataset", "model", "n_train", "epochs_run", "test_mae", "test_r2", "source"]
if RUNS:
    runs_table = results_table(list(RUNS.values())).sort_values(["dataset", "model"])
    runs_table = runs_table[RUN_COLUMNS].reset_index(drop=True)
else:
    show_markdown("No stored run (see the note at the top of the page).")
    runs_table = pd.DataFrame(columns=RUN_COLUMNS)
runs_table.style.format({"test_mae": "{:.4g}", "test_r2": "{:.3f}"})

# %% [markdown]
# ## Rerun this chapter
#
# One command reruns this page with other parameters; the box lists them with their defaults,
# the command, and how long the chapter took.

# %% tags=["remove-input"] mystnb={"markdown_format": "gfm"}
from matfusion.chapters.rerun_box import rerun_box
from matfusion.notebook import show_markdown

show_markdown(rerun_box("05_interpretability"))
