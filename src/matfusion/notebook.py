"""Small helpers that keep the chapter notebooks thin and their pages honest."""

from __future__ import annotations

import html
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from matfusion.profiles import Profile, get_profile

if TYPE_CHECKING:
    from matfusion.grid import Cell
    from matfusion.results import ResultsStore


#: pandas display options of every chapter: a table is shown whole, never cut to ``...``
#: (its rows, its columns, the text of its cells); the book's CSS lets a wide or long table
#: scroll inside its own box instead.
PANDAS_DISPLAY = {
    "display.max_rows": None,
    "display.max_columns": None,
    "display.max_colwidth": None,
    "display.width": None,
    "styler.render.max_rows": None,
    "styler.render.max_columns": None,
}


def setup_display() -> None:
    """Show every table whole (:data:`PANDAS_DISPLAY`)."""
    for option, value in PANDAS_DISPLAY.items():
        pd.set_option(option, value)


def setup_plots() -> None:
    """One plotting and table style for the whole book (every chapter calls it first)."""
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid")
    mpl.rcParams.update({"figure.dpi": 110, "savefig.bbox": "tight", "figure.figsize": (7, 4)})
    setup_display()


def profile_banner(
    profile: Profile,
    extra: dict[str, Any] | None = None,
    *,
    paper_a_runs: bool = True,
    description: str | None = None,
) -> str:
    """A markdown note stating how this page was produced (shown at the top of a chapter).

    ``paper_a_runs=False`` leaves out the paper-A training settings and the note on reused
    runs, for chapters that train no paper-A model (data overview, paper B); those pass
    their own settings in ``extra``. ``description`` replaces the profile's own (paper A's)
    description: paper B's chapters pass their sizes, so no paper-A setting is on their page.
    """
    if description is not None and paper_a_runs:
        raise ValueError("a description of other sizes is for pages without paper-A runs")
    lines = [f"**Run profile: `{profile.name}`** ({description or profile.description})."]
    if paper_a_runs:
        lines.append(
            f"Recipe `{profile.recipe}`, epochs "
            f"{profile.epochs if profile.epochs is not None else 'recipe default'}, training "
            f"rows {profile.max_train_rows or 'all'}, evaluation rows "
            f"{profile.max_eval_rows or 'all'}, model width {profile.d_model}, "
            f"seed {profile.seed}."
        )
    lines.append(
        f"Executed {time.strftime('%Y-%m-%d %H:%M %Z')} on {platform.machine()} "
        f"({platform.processor() or 'cpu'}), Python {platform.python_version()}."
    )
    if paper_a_runs and profile.reuse_profiles:
        lines.append(
            "Where this profile has no stored run of its own, a stored run of the "
            + ", ".join(f"`{p}`" for p in profile.reuse_profiles)
            + " profile stands in; tables of runs say which in their `source` column."
        )
    for key, value in (extra or {}).items():
        lines.append(f"{key}: {value}.")
    return "\n\n".join(lines)


def paper_b_banner(profile: Profile, ecd: Any, extra: dict[str, Any] | None = None) -> str:
    """:func:`profile_banner` of a paper-B chapter: the run profile's name with paper B's
    sizes ``ecd`` (an :class:`~matfusion.ecd.settings.EcdProfile`) as its description, and
    none of paper A's settings."""
    return profile_banner(
        profile,
        extra,
        paper_a_runs=False,
        description=f"paper B's `{ecd.name}` sizes: {ecd.description}",
    )


def show_markdown(text: str) -> None:
    """Display markdown in a notebook (falls back to print outside IPython)."""
    try:
        from IPython.display import Markdown, display

        display(Markdown(text))
    except ImportError:  # pragma: no cover - plain python
        print(text)


def with_difference(
    ours: pd.Series, reported: pd.Series, *, ours_label: str = "ours", paper_label: str = "paper"
) -> pd.DataFrame:
    """Ours beside the paper's, with the difference and the relative difference in percent."""
    table = pd.DataFrame({ours_label: ours, paper_label: reported})
    table["difference"] = table[ours_label] - table[paper_label]
    table["difference %"] = 100 * table["difference"] / table[paper_label]
    return table


def missing_runs_note(
    missing_labels: Sequence[str],
    command: str | Sequence[str],
    total: int,
    *,
    what: str = "runs",
    list_limit: int = 6,
    records: Sequence[dict[str, Any]] = (),
) -> str:
    """Markdown saying how many of a page's ``total`` runs are stored, naming the missing ones
    (folded into a collapsed list beyond ``list_limit``) and the command(s) that compute them;
    with the stored training ``records``, also how many ended at their epoch cap still
    improving (:func:`matfusion.analysis.convergence.ended_at_cap`).

    A chapter built from a partial store shows this instead of failing on what it lacks or
    training it for hours; its sections that need a missing run say so in one line.
    """
    from matfusion.analysis.convergence import cap_share

    labels = list(missing_labels)
    if len(labels) > total:
        raise ValueError(f"{len(labels)} missing of only {total} {what}")
    head = f"**{total - len(labels)} of {total} {what} stored.**"
    at_cap, with_epochs = cap_share(records)
    if with_epochs:
        head += (
            f" {at_cap} of the {with_epochs} trained by epochs ended at their epoch cap "
            f"still improving (best validation epoch among the last two): "
            f"{at_cap / with_epochs:.0%}."
        )
    if not labels:
        return head
    commands = [command] if isinstance(command, str) else list(command)
    if not commands:
        raise ValueError("name the command that computes the missing runs")
    them = "it" if len(labels) == 1 else "them"
    if len(commands) == 1:
        how = f"`{commands[0]}` computes {them}"
    else:
        how = f"these commands compute {them}: " + "; ".join(f"`{c}`" for c in commands)
    tail = f" Until then, the parts of this page that need {them} say so."
    if len(labels) <= list_limit:
        return f"{head} Missing: {', '.join(labels)}; {how}.{tail}"
    items = "".join(f"<li>{html.escape(label)}</li>" for label in labels)
    return (
        f"{head} {len(labels)} are missing (listed below); {how}.{tail}\n\n"
        f"<details><summary>The {len(labels)} missing {html.escape(what)}</summary>"
        f"<ul>{items}</ul></details>"
    )


_GRID_FIELDS = ("models", "datasets", "folds", "seeds", "rows")


def _merge(groups: list[dict[str, tuple]], field: str) -> list[dict[str, tuple]]:
    """Join groups of cells that differ only in ``field`` (a product stays a product); a
    group holding None there (the profile's own seed or size) is never joined, since a
    command line cannot list None beside a number."""
    merged: dict[tuple, dict[str, tuple]] = {}
    for group in groups:
        key = tuple(group[k] for k in _GRID_FIELDS if k != field)
        if None in group[field]:
            key += (id(group),)
        if key in merged:
            extra = tuple(v for v in group[field] if v not in merged[key][field])
            merged[key][field] += extra
        else:
            merged[key] = dict(group)
    return list(merged.values())


def grid_commands(cells: Sequence[Cell], profile: str) -> list[str]:
    """The ``matfusion grid`` command(s) that train exactly ``cells``, for
    :func:`missing_runs_note`: datasets missing the same models share a command, and so do
    training-set sizes and seeds. The grid skips stored cells, so a command is safe to rerun."""
    per_dataset: dict[tuple[str, int | None, int | None], tuple[list[str], list[int]]] = {}
    for cell in cells:
        models, folds = per_dataset.setdefault((cell.dataset, cell.seed, cell.train_rows), ([], []))
        if cell.model not in models:
            models.append(cell.model)
        if cell.fold is not None and cell.fold not in folds:
            folds.append(cell.fold)
    groups = [
        {
            "models": tuple(models),
            "datasets": (dataset,),
            "folds": tuple(sorted(folds)),
            "seeds": (seed,),
            "rows": (rows,),
        }
        for (dataset, seed, rows), (models, folds) in per_dataset.items()
    ]
    for field in ("datasets", "rows", "seeds"):
        groups = _merge(groups, field)
    commands = []
    for group in groups:
        command = (
            f"matfusion grid --models {','.join(group['models'])} "
            f"--datasets {','.join(group['datasets'])}"
        )
        if group["folds"]:
            command += f" --folds {','.join(map(str, group['folds']))}"
        if group["seeds"] != (None,):
            command += f" --seeds {','.join(map(str, group['seeds']))}"
        if group["rows"] != (None,):
            command += f" --train-rows {','.join(map(str, group['rows']))}"
        commands.append(f"{command} --profile {profile}")
    return commands


def analysis_within_reach(
    train_records: Sequence[dict[str, Any]],
    experiment: str,
    *,
    store: ResultsStore | None = None,
    **filters: Any,
) -> bool:
    """Whether an analysis of these training runs (experiment ``cecv`` or ``interpret``) can
    be shown without retraining a model.

    ``run_cecv`` and ``run_analysis`` answer from a stored record, else compute from the
    runs' checkpoints (seconds), else retrain each model whose checkpoint is not on this
    machine (minutes each), which a chapter outside ``smoke`` must not do unasked. True when
    every checkpoint is here or a record of this analysis (``filters``: e.g. ``kind``,
    ``anchor``) of exactly these runs is stored.
    """
    if all(Path(r.get("checkpoint") or "").is_file() for r in train_records):
        return True
    from matfusion.results import ResultsStore

    store = store or ResultsStore()
    keys = {store.key_for(r["config"]) for r in train_records}
    profiles = {r["config"]["profile"] for r in train_records}
    if len(profiles) == 1:
        filters = {"profile": profiles.pop(), **filters}
    for record in store.records(experiment, **filters):
        config = record["config"]
        used = set(config.get("train_keys", {}).values()) or {config.get("train_key")}
        if used == keys:
            return True
    return False


def retrain_command(record: dict[str, Any]) -> str:
    """The ``matfusion train`` command that retrains a stored run to get its checkpoint back
    (records are committed, checkpoints are not), for an analysis that needs the weights."""
    cfg = record["config"]
    command = f"matfusion train --model {cfg['model']} --dataset {cfg['dataset']}"
    if cfg.get("fold") is not None:
        command += f" --fold {cfg['fold']}"
    if cfg["seed"] != get_profile(cfg["profile"]).seed:
        command += f" --seed {cfg['seed']}"
    return command + f" --profile {cfg['profile']} --force"


def stored_runs(
    cells: Sequence[Cell],
    profile: Profile,
    *,
    train_missing: bool,
    epochs: int | None = None,
    progress: bool = False,
) -> tuple[list[dict[str, Any]], list[Cell]]:
    """The runs of ``cells`` (trained only with ``train_missing``) and the cells without one,
    after showing how many are stored, the share that ended at the epoch cap, and the exact
    ``matfusion grid`` command for the missing ones: every chapter's first step."""
    from matfusion.grid import collect_records

    records, missing = collect_records(
        cells, profile=profile, train_missing=train_missing, epochs=epochs, progress=progress
    )
    show_markdown(
        missing_runs_note(
            [c.label() for c in missing],
            grid_commands(missing, profile.name),
            len(cells),
            records=records,
        )
    )
    return records, missing


def runs_and_cecv(
    models: Sequence[str],
    dataset: str,
    *,
    profile: Profile,
    train_missing: bool,
    anchor: str | None,
    mode: str,
    layer: str | None = None,
    epochs: int | None = None,
    progress: bool = False,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The runs of ``models`` on ``dataset`` and their CECV records, by model (the CECV
    chapters' first step), showing a note on what is missing and the command that makes it.

    Without ``train_missing`` a run is only read from the store, and a CECV only read or
    computed from a checkpoint on this machine (seconds), never by retraining a model."""
    from tqdm.auto import tqdm

    from matfusion.experiments import run_cecv
    from matfusion.grid import grid_cells

    cells = grid_cells(models, [dataset])
    records, missing = stored_runs(
        cells, profile, train_missing=train_missing, epochs=epochs, progress=progress
    )
    runs = dict(zip([c.model for c in cells if c not in missing], records, strict=True))
    cecv, no_cecv = {}, []
    for model, record in tqdm(runs.items(), desc="CECV", disable=not progress):
        found = run_cecv(record, anchor=anchor, mode=mode, layer=layer, retrain=train_missing)
        if found is None:
            no_cecv.append(model)
        else:
            cecv[model] = found
    if no_cecv:
        show_markdown(
            missing_runs_note(
                [
                    f"CECV of {m} (no checkpoint here: retrain it, then rerun this page)"
                    for m in no_cecv
                ],
                [retrain_command(runs[m]) for m in no_cecv],
                len(runs),
                what="CECV records",
            )
        )
    return runs, cecv


def cecv_table_or_empty(records: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The CECV table of ``records`` (models x thresholds); with none, an empty table with
    the default thresholds as columns, so the checks that read it find no model."""
    from matfusion.analysis.cecv import DEFAULT_THRESHOLDS, cecv_frame

    if records:
        return cecv_frame(records)
    empty = pd.DataFrame(columns=[f"{t:.2f}" for t in DEFAULT_THRESHOLDS], dtype=float)
    empty.index.name = "model"
    return empty
