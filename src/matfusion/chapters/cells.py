"""The training cells each chapter of paper A reads, as data.

The chapters take their default model lists from here, and :mod:`matfusion.compute_plan`
prices the same lists, so the cost on the "Running at scale" page is the cost of exactly the
runs the chapters look up. A :class:`CellGroup` is one ``matfusion grid`` call: models x
datasets x folds x seeds x training-set sizes under one recipe.
"""

from __future__ import annotations

from dataclasses import dataclass

from matfusion.chapters.rational_design import FIGURE3_MODELS, RERUN
from matfusion.profiles import Profile

__all__ = [
    "BAND_GAP_MODELS",
    "CECV_ABLATION_MODELS",
    "CONVERGENCE_DATASETS",
    "CONVERGENCE_MODELS",
    "DESIGN_PATH",
    "DESIGN_REFERENCES",
    "EXTENDED_COMPARED",
    "EXTENDED_MODELS",
    "INTERPRETABILITY_DATASETS",
    "INTERPRETABILITY_MODELS",
    "MATBENCH_MODELS",
    "RATIONAL_DESIGN_MODELS",
    "REFERENCE_MODELS",
    "SAMPLE_EFFICIENCY_MODELS",
    "SAMPLE_EFFICIENCY_SIZES",
    "UNPRICED_CHAPTERS",
    "CellGroup",
    "chapter_cell_groups",
]

#: Figure S2's ten reference models (chapter 02): global, local, then fusions.
REFERENCE_MODELS: tuple[str, ...] = (
    *("RNN", "LSTM", "GRU"),
    *("DCNN", "DCNN-K1", "DPCNN", "CNN"),
    *("LDCNN", "LDPCNN", "LCNN"),
)
#: Figure 3's references and the design path from them to L-G-DCNN (chapter 03).
DESIGN_REFERENCES: tuple[str, ...] = ("LSTM", "DCNN-K1")
DESIGN_PATH: tuple[str, ...] = ("LDCNN", "L-ATT-RES-DCNN", "L-G-DCNN", "L-G-DCNN-V1")
#: Figure 3's seven models (chapter 03): the references, DCNN, then the design path.
RATIONAL_DESIGN_MODELS: tuple[str, ...] = (*DESIGN_REFERENCES, "DCNN", *DESIGN_PATH)
#: Figure 11a's five models on OQMD band gap (chapter 04).
BAND_GAP_MODELS: tuple[str, ...] = ("DCNN-K1", "LSTM", "DCNN", "LDCNN", "L-G-DCNN")
#: The ablation models whose CECV chapter 04 draws (Figure 7).
CECV_ABLATION_MODELS: tuple[str, ...] = (
    *("LSTM", "DCNN-K1", "Model-2", "Model-3", "Model-5", "Model-6"),
    *("L-G-DCNN-2B", "L-G-DCNN-6B"),
)
#: Chapter 05's runs: models per section (its parameters name each section's dataset).
INTERPRETABILITY_MODELS: dict[str, tuple[str, ...]] = {
    "band_gap": ("L-G-DCNN", "LSTM", "DCNN-K1", "DCNN", "RNN"),
    "enthalpy": ("L-G-DCNN",),
    "shear": ("DCNN-K1", "DCNN", "LSTM", "L-G-DCNN"),
}
#: Chapter 05's default dataset of each section (its parameters ``<section>_dataset``).
INTERPRETABILITY_DATASETS: dict[str, str] = {
    "band_gap": "OQMD_Bandgap",
    "enthalpy": "OQMD_Formation_Enthalpy",
    "shear": "mp_shear_modulus",
}
#: Figure 4's models we compare on the 18 extended sets (chapter 06's win counts and claims).
EXTENDED_COMPARED: tuple[str, ...] = ("L-G-DCNN", "L-G-DCNN-V1", "CrabNet", "Roost", "RF-Magpie")
#: Every model chapter 06 runs: the compared five, then Figure 4's one-hot column (the
#: registry's ``L-G-DCNN-onehot``, ``same_as`` ablation Model-1, so the runs are shared with
#: chapter 07). The one-hot column is shown, not counted: the project's copy of Figure 4 has
#: no numbers for it, so there is nothing to count its wins against.
EXTENDED_MODELS: tuple[str, ...] = (*EXTENDED_COMPARED, "L-G-DCNN-onehot")
#: Table 1's models we run on the Matbench tasks (chapter 08).
MATBENCH_MODELS: tuple[str, ...] = ("L-G-DCNN", "L-G-DCNN-V1", "CrabNet", "RF-Magpie")
#: Chapter 09: models and training-set sizes of the learning curve on OQMD band gap.
SAMPLE_EFFICIENCY_MODELS: tuple[str, ...] = ("L-G-DCNN", "CrabNet", "RF-Magpie")
SAMPLE_EFFICIENCY_SIZES: tuple[int, ...] = (100, 300, 1000, 3000, 10000)
#: Chapter 09's default dataset (its parameter ``dataset``).
SAMPLE_EFFICIENCY_DATASET = "OQMD_Bandgap"
#: Chapter 09's time-to-accuracy race: full runs of these models on these sets.
CONVERGENCE_MODELS: tuple[str, ...] = ("L-G-DCNN", "CrabNet")
CONVERGENCE_DATASETS: tuple[str, ...] = ("aflow__ael_bulk_modulus_vrh", "aflow__Egap")
#: Chapters that train nothing through the grid, and why (shown on the page).
UNPRICED_CHAPTERS: dict[str, str] = {
    "00_what_holds": "reads the verdicts of the other chapters",
    "01_data_overview": "describes the data; trains nothing",
    "10_ecd_data": "paper B: prepares the charge-density data; trains nothing",
    "11_ecd_cv_loeo": "paper B: CNN sweeps run by `matfusion ecd`, not priced here",
    "12_ecd_dft_validation": "paper B: a GPAW batch (`matfusion dft`), not training",
}
#: The seeds of chapters 03's and 04's reruns.
RERUN_SEEDS: tuple[int, ...] = (0, 1, 2)


@dataclass(frozen=True)
class CellGroup:
    """One ``matfusion grid`` call of a chapter.

    ``folds`` None: every fold of a Matbench task (extended sets have one split); ``seeds``
    None entries mean the profile's seed; ``train_rows`` None entries the full split.
    ``recipe``, ``epochs`` and ``conventions`` None keep the profile's (the reruns set them).
    """

    what: str
    models: tuple[str, ...]
    datasets: tuple[str, ...]
    folds: tuple[int, ...] | None = None
    seeds: tuple[int | None, ...] = (None,)
    train_rows: tuple[int | None, ...] = (None,)
    recipe: str | None = None
    epochs: int | None = None
    conventions: str | None = None


def _rerun(what: str, models: tuple[str, ...], dataset: str) -> CellGroup:
    """Chapters 03/04's converged reruns (:data:`~matfusion.chapters.rational_design.RERUN`)."""
    return CellGroup(
        what,
        models,
        (dataset,),
        seeds=RERUN_SEEDS,
        recipe=RERUN["recipe"],
        epochs=RERUN["epochs"],
        conventions=RERUN["conventions"],
    )


def chapter_cell_groups(profile: Profile) -> dict[str, tuple[CellGroup, ...]]:
    """Every chapter's default cells under ``profile`` (non-smoke defaults), by chapter stem.

    The dataset lists that are the paper's own (Figure 4's 18 sets, Table 2's, Table 1's
    tasks) come from :mod:`matfusion.paper`, as the chapters take them."""
    from matfusion.paper import reported, reported_ablation

    extended = tuple(reported("extended_benchmarks_mae")["dataset"])
    ablation = reported_ablation()
    matbench = tuple(reported("matbench_mae")["task"])
    return {
        "02_reference_models": (
            CellGroup("Figure S2", REFERENCE_MODELS, tuple(profile.reference_datasets)),
        ),
        "03_rational_design": (
            CellGroup("Figure 3", RATIONAL_DESIGN_MODELS, ("OQMD_Formation_Enthalpy",)),
            _rerun("Figure 3 rerun", FIGURE3_MODELS, "OQMD_Formation_Enthalpy"),
        ),
        "04_cecv_band_gap": (
            CellGroup("Figure 11a", BAND_GAP_MODELS, ("OQMD_Bandgap",)),
            CellGroup(
                "Figure 7 (ablation CECV)", CECV_ABLATION_MODELS, ("OQMD_Formation_Enthalpy",)
            ),
            _rerun("Figure 11a rerun", BAND_GAP_MODELS, "OQMD_Bandgap"),
        ),
        "05_interpretability": tuple(
            CellGroup(f"{section} figures", models, (INTERPRETABILITY_DATASETS[section],))
            for section, models in INTERPRETABILITY_MODELS.items()
        ),
        "06_extended_benchmarks": (CellGroup("Figure 4", EXTENDED_MODELS, extended),),
        "07_ablations": (CellGroup("Table 2", tuple(ablation.columns), tuple(ablation.index)),),
        "08_matbench": (CellGroup("Table 1", MATBENCH_MODELS, matbench, folds=(0, 1, 2, 3, 4)),),
        "09_sample_efficiency": (
            CellGroup(
                "learning curve",
                SAMPLE_EFFICIENCY_MODELS,
                (SAMPLE_EFFICIENCY_DATASET,),
                train_rows=SAMPLE_EFFICIENCY_SIZES,
            ),
            CellGroup("time to accuracy", CONVERGENCE_MODELS, CONVERGENCE_DATASETS),
        ),
    }
