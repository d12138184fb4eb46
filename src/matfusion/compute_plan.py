"""What a full reproduction costs: training samples per chapter, and the hours they take at
*measured* throughput.

A cell's training samples are its epoch cap times the training rows of its split:
``samples = epochs x n_train``. The cap is what the cell's recipe allows (the ``crabnet``
recipe of ``paper`` has no early stopping, so it is the budget spent; ``plateau`` and the
peers' early stopping can only end sooner). Hours are ``samples / rate / 3600``, with the
rate a model's training samples per second from a file under ``benchmarks/results/`` (CPU:
per CPU-second of one thread, so the hours are one-thread core-hours) or from a GPU run
(``scripts/gpu_paper_runs.py``, CUDA records in the store). A model with no measurement is
"not measured": no number is guessed. Run ``python -m matfusion.compute_plan --refresh-rows``
to recount the cached training rows (``data/training_rows.json``) after the data changes.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matfusion.profiles import Profile, get_profile

if TYPE_CHECKING:  # the chapters' lists import pandas: loaded when a plan is made
    from matfusion.chapters.cells import CellGroup

__all__ = [
    "CRABNET_DEFAULT_EPOCHS",
    "NOT_MEASURED",
    "TRAINING_ROWS_PATH",
    "ChapterCost",
    "PlannedCell",
    "Rate",
    "chapter_costs",
    "cmd_plan",
    "epoch_cap",
    "measured_rates",
    "plan_cells",
    "plan_markdown",
    "training_rows",
]

NOT_MEASURED = "not measured"
#: The cached training-row counts (data, recounted by ``--refresh-rows``).
TRAINING_ROWS_PATH = Path(__file__).parent / "data" / "training_rows.json"
#: CrabNet 2.0.8's epochs when none are given (``_get_epochs_checkin_stepsize``), as the
#: ``paper`` profile runs it (with CrabNet's own early stopping).
CRABNET_DEFAULT_EPOCHS = 300
#: GPU measurement files: ``benchmarks/results/*cuda*.json`` (what ``gpu_paper_runs.py``
#: writes by default).
GPU_PATTERN = "*cuda*.json"


@dataclass(frozen=True)
class Rate:
    """One throughput measurement: training samples/s of ``model`` on ``device``."""

    model: str
    device: str
    samples_per_s: float
    source: str


@dataclass(frozen=True)
class PlannedCell:
    """One training run with the sizes its cost depends on."""

    chapter: str
    what: str
    model: str
    dataset: str
    fold: int | None
    seed: int
    train_rows: int | None
    recipe: str
    conventions: str
    n_train: int
    epochs: int

    @property
    def samples(self) -> int:
        """Training samples at the epoch cap."""
        return self.epochs * self.n_train

    @property
    def key(self) -> tuple[Any, ...]:
        """What makes two chapters' cells one run (models the registry calls the same
        network share their runs)."""
        return (same_network(self.model), self.dataset, self.fold, self.seed, self.train_rows,
                self.recipe, self.conventions, self.epochs)  # fmt: skip


@dataclass
class ChapterCost:
    """One chapter's cells and their cost; ``*_hours`` sum the cells with a rate."""

    chapter: str
    cells: list[PlannedCell]
    new: list[PlannedCell] = field(default_factory=list)
    cpu_hours: float = 0.0
    cpu_unmeasured: list[PlannedCell] = field(default_factory=list)
    gpu_hours: float = 0.0
    gpu_unmeasured: list[PlannedCell] = field(default_factory=list)

    @property
    def samples(self) -> int:
        return sum(c.samples for c in self.cells)


# --- training rows ------------------------------------------------------------------------


def _rows_key(dataset: str, fold: int | None) -> str:
    return dataset if fold is None else f"{dataset}/{fold}"


def count_training_rows() -> dict[str, Any]:
    """Rows of every training split as :func:`matfusion.data.load_split` returns them
    (duplicates averaged, as training sees them): slow (the OQMD sets), hence cached."""
    from matfusion.data import CRABNET_VERSION, DATASETS, load_split

    rows = {
        _rows_key(name, fold): len(load_split(name, "train", fold, verbose=False))
        for name, info in DATASETS.items()
        for fold in info.folds
    }
    return {"source": f"crabnet=={CRABNET_VERSION}", "split": "train", "rows": rows}


def training_rows(dataset: str, fold: int | None = None, path: Path | None = None) -> int:
    """Training rows of ``dataset`` (``fold`` of a Matbench task) from the cache."""
    cached = json.loads((path or TRAINING_ROWS_PATH).read_text())["rows"]
    key = _rows_key(dataset, fold)
    if key not in cached:
        raise KeyError(
            f"no cached training rows for {key}; run `python -m matfusion.compute_plan "
            "--refresh-rows`"
        )
    return int(cached[key])


# --- epochs and cells ---------------------------------------------------------------------


def same_network(model: str) -> str:
    """The registered model whose network ``model`` is (``same_as``), else ``model``."""
    from matfusion.models import MODELS

    seen = model
    while seen in MODELS and MODELS[seen].same_as:
        seen = str(MODELS[seen].same_as)
    return seen


def epoch_cap(model: str, n_train: int, profile: Profile) -> int:
    """The most epochs a run of ``model`` on ``n_train`` rows takes under ``profile``: the
    profile's epochs, else its recipe's rule; a peer's own settings (CrabNet: its default
    300, Roost: aviary's 100); a random forest fits once (1)."""
    from matfusion.baselines import get_peer, is_peer
    from matfusion.train.recipes import get_recipe

    if is_peer(model):
        epochs = get_peer(model).settings_for(profile, profile.seed, None).get("epochs", 1)
        if epochs is None and model == "CrabNet":
            return CRABNET_DEFAULT_EPOCHS
        return int(epochs or 1)
    if profile.epochs is not None:
        return int(profile.epochs)
    recipe = get_recipe(profile.recipe)
    return int(recipe.epochs(n_train, recipe.batch_size(n_train)))


def _group_profile(profile: Profile, group: CellGroup) -> Profile:
    changes = {"recipe": group.recipe, "epochs": group.epochs, "conventions": group.conventions}
    return replace(profile, **{k: v for k, v in changes.items() if v is not None})


def plan_cells(
    chapter: str, groups: Iterable[CellGroup], profile: Profile, rows_path: Path | None = None
) -> list[PlannedCell]:
    """The cells of ``groups`` (via :func:`matfusion.grid.grid_cells`, which checks every
    name) with their training rows and epoch caps; a cell listed twice counts once."""
    from matfusion.grid import grid_cells

    out: dict[tuple[Any, ...], PlannedCell] = {}
    for group in groups:
        prof = _group_profile(profile, group)
        cells = grid_cells(group.models, group.datasets, folds=group.folds, seeds=group.seeds,
                           train_rows=group.train_rows)  # fmt: skip
        for cell in cells:
            full = training_rows(cell.dataset, cell.fold, rows_path)
            cap = cell.train_rows if cell.train_rows is not None else prof.max_train_rows
            n = full if cap is None else min(full, cap)
            planned = PlannedCell(
                chapter=chapter,
                what=group.what,
                model=cell.model,
                dataset=cell.dataset,
                fold=cell.fold,
                seed=prof.seed if cell.seed is None else cell.seed,
                train_rows=cell.train_rows,
                recipe=prof.recipe,
                conventions=prof.conventions,
                n_train=n,
                epochs=epoch_cap(cell.model, n, prof),
            )
            out.setdefault(planned.key, planned)
    return list(out.values())


# --- measured throughput ------------------------------------------------------------------


def _model_name(label: str) -> str | None:
    """A benchmark row's model: a registered name, or ``"<model> plain"`` (the default
    training: no length bucketing, float32); other variants are not what the runs use."""
    from matfusion.baselines import is_peer
    from matfusion.models import MODELS

    name = label.removesuffix(" plain")
    return name if name in MODELS or is_peer(name) else None


def _cpu_rates(path: Path, data: dict[str, Any]) -> list[Rate]:
    """One-thread CPU-second rates of a benchmark file (``peer_throughput``'s
    ``equal_batch/1_threads`` or ``bucket_throughput``'s one-thread ``equal_batch/rows``)."""
    batch = data.get("equal_batch")
    if not isinstance(batch, dict):
        return []
    if "1_threads" in batch:
        rows, where = batch["1_threads"], "equal_batch/1_threads"
    elif batch.get("threads") == 1 and isinstance(batch.get("rows"), dict):
        rows, where = batch["rows"], f"equal_batch ({batch.get('dataset', '?')})"
    else:
        return []
    out = []
    for label, row in rows.items():
        model = _model_name(label)
        rate = row.get("train_samples_per_cpu_s") if isinstance(row, dict) else None
        if model and isinstance(rate, (int, float)) and rate > 0:
            out.append(Rate(model, "cpu", float(rate), f"{path.name} {where}"))
    return out


def _gpu_file_rates(path: Path, data: Any) -> list[Rate]:
    """GPU rates of a ``gpu_paper_runs.py`` output: per cell, the timed training steps
    (``measured_samples_per_s``) or, for a trained cell, the run's own rate."""
    settings = data.get("settings", {}) if isinstance(data, dict) else {}
    if not str(settings.get("device", "")).startswith("cuda") or settings.get("bf16"):
        return []  # not a GPU, or bfloat16 rates (the runs priced here train in float32)
    gpu = settings.get("gpu") or "CUDA"
    out = []
    for row in data.get("cells", []):
        rate = row.get("measured_samples_per_s") or row.get("train_samples_per_s")
        model = _model_name(str(row.get("model", "")))
        if model and isinstance(rate, (int, float)) and rate > 0:
            out.append(Rate(model, "cuda", float(rate), f"{path.name} ({gpu})"))
    return out


def _gpu_record_rates(results: Path) -> list[Rate]:
    """Training records whose provenance names a CUDA device, with their own rate."""
    out = []
    for path in sorted(results.glob("train/*/*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        hardware = (record.get("provenance") or {}).get("hardware") or {}
        rate = record.get("train_samples_per_s")
        config = record.get("config") or {}
        model = config.get("model")
        train = config.get("train") or {}
        if train.get("autocast") or train.get("bucket"):
            continue  # another way of training than the float32, unbucketed runs priced
        if str(hardware.get("device") or "").startswith("cuda") and model and rate:
            gpu = hardware.get("gpu") or "CUDA"
            where = f"results/{path.parent.parent.name}/{path.parent.name}/{path.name}"
            out.append(Rate(str(model), "cuda", float(rate), f"{where} ({gpu})"))
    return out


def _bench_dir(bench_dir: Path | None = None) -> Path:
    from matfusion.config import repo_root

    return bench_dir or repo_root() / "benchmarks" / "results"


def measured_rates(bench_dir: Path | None = None, results: Path | None = None) -> list[Rate]:
    """Every usable measurement: one-thread CPU-second rates from ``bench_dir`` (default
    ``benchmarks/results``), GPU rates from its ``*cuda*.json`` files and from CUDA records
    of the results store. Files of another form (several threads, wall-clock only) give
    nothing: their rates are not one-thread core rates."""
    from matfusion.config import results_dir

    out: list[Rate] = []
    for path in sorted(_bench_dir(bench_dir).glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if path.match(GPU_PATTERN):
            out += _gpu_file_rates(path, data)
        elif isinstance(data, dict):
            out += _cpu_rates(path, data)
    return out + _gpu_record_rates(results or results_dir())


def rate_table(rates: Sequence[Rate]) -> dict[tuple[str, str], tuple[float, list[str]]]:
    """(network, device) -> (median rate, its sources); a model the registry calls the
    same network as another shares its measurements."""
    grouped: dict[tuple[str, str], list[Rate]] = {}
    for rate in rates:
        grouped.setdefault((same_network(rate.model), rate.device), []).append(rate)
    return {
        key: (statistics.median(r.samples_per_s for r in group), [r.source for r in group])
        for key, group in grouped.items()
    }


# --- costs and the page -------------------------------------------------------------------


def chapter_costs(
    profile: str | Profile = "paper",
    chapter: str | None = None,
    rates: Sequence[Rate] | None = None,
    rows_path: Path | None = None,
) -> list[ChapterCost]:
    """Each chapter's cells and hours under ``profile`` (``chapter``: one, by number or
    name part). ``new`` holds the cells no earlier chapter runs: their sum is the total."""
    from matfusion.chapters.cells import chapter_cell_groups

    prof = get_profile(profile) if isinstance(profile, str) else profile
    table = rate_table(measured_rates() if rates is None else rates)
    seen: set[tuple[Any, ...]] = set()
    costs = []
    for stem, groups in chapter_cell_groups(prof).items():
        cost = ChapterCost(stem, plan_cells(stem, groups, prof, rows_path))
        for cell in cost.cells:
            if cell.key not in seen:
                cost.new.append(cell)
                seen.add(cell.key)
            for device in ("cpu", "cuda"):
                found = table.get((same_network(cell.model), device))
                if found is None:
                    (cost.cpu_unmeasured if device == "cpu" else cost.gpu_unmeasured).append(cell)
                elif device == "cpu":
                    cost.cpu_hours += cell.samples / found[0] / 3600
                else:
                    cost.gpu_hours += cell.samples / found[0] / 3600
        costs.append(cost)
    if chapter is not None:
        key = chapter.strip()
        picked = [
            c for c in costs
            if (key.isdigit() and int(key) == int(c.chapter[:2])) or key in c.chapter
        ]  # fmt: skip
        if not picked:
            raise ValueError(
                f"no training cells for chapter {chapter!r}; the priced chapters: "
                f"{', '.join(c.chapter for c in costs)}"
            )
        return picked
    return costs


def _hours(hours: float, unmeasured: list[PlannedCell], cells: list[PlannedCell]) -> str:
    if len(unmeasured) == len(cells):
        return NOT_MEASURED
    text = f"{hours:,.0f}" if hours >= 10 else f"{hours:,.1f}"
    if unmeasured:
        text += f" + {len(unmeasured)} cells {NOT_MEASURED}"
    return text


def _sci(n: float) -> str:
    return f"{n:.2e}" if n else "0"


def plan_markdown(
    profile: str = "paper",
    chapter: str | None = None,
    rates: Sequence[Rate] | None = None,
    rows_path: Path | None = None,
    bench_dir: Path | None = None,
) -> str:
    """The cost tables as Markdown: per chapter, then the rate of each model and where it
    was measured (what ``matfusion plan`` prints and the book includes)."""
    rates = measured_rates(bench_dir) if rates is None else list(rates)
    costs = chapter_costs(profile, chapter, rates, rows_path)
    table = rate_table(rates)
    lines = [
        f"Profile `{profile}`. Per cell, samples = epoch cap x training rows; CPU core-hours = "
        "samples / (one-thread training samples per CPU-second) / 3600; GPU-hours = samples / "
        "(GPU training samples/s) / 3600. A cell several chapters read is counted in each, "
        "trained once: *new cells* are those no earlier chapter needs, and the total sums them.",
        "",
        "| chapter | cells | new cells | samples | CPU core-hours (1 thread) | GPU-hours |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c in costs:
        lines.append(
            f"| {c.chapter} | {len(c.cells)} | {len(c.new)} | {_sci(c.samples)} | "
            f"{_hours(c.cpu_hours, c.cpu_unmeasured, c.cells)} | "
            f"{_hours(c.gpu_hours, c.gpu_unmeasured, c.cells)} |"
        )
    if chapter is None:
        new = [cell for c in costs for cell in c.new]
        cpu = _total(new, table, "cpu")
        gpu = _total(new, table, "cuda")
        lines.append(
            f"| **total (new cells)** | {len(new)} | {len(new)} | "
            f"{_sci(sum(x.samples for x in new))} | {_hours(*cpu, new)} | {_hours(*gpu, new)} |"
        )
        from matfusion.chapters.cells import UNPRICED_CHAPTERS

        lines += ["", "Not priced: " + "; ".join(f"{k} ({v})" for k, v in
                                                    UNPRICED_CHAPTERS.items()) + "."]  # fmt: skip
    unique = [cell for c in costs for cell in c.new]
    models = sorted({same_network(cell.model) for cell in unique})
    lines += [
        "",
        "| network | training samples (new cells) | CPU samples per CPU-second (1 thread) | GPU samples/s "
        "| measured in |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for model in models:
        samples = sum(x.samples for x in unique if same_network(x.model) == model)
        cpu, gpu = table.get((model, "cpu")), table.get((model, "cuda"))
        sources = sorted({s for found in (cpu, gpu) if found for s in found[1]})
        lines.append(
            f"| {model} | {_sci(samples)} | {f'{cpu[0]:,.0f}' if cpu else NOT_MEASURED} | "
            f"{f'{gpu[0]:,.0f}' if gpu else NOT_MEASURED} | "
            f"{'; '.join(sources) if sources else '-'} |"
        )
    used = {source.split(" ")[0] for _, sources in table.values() for source in sources}
    unused = sorted(p.name for p in _bench_dir(bench_dir).glob("*.json") if p.name not in used)
    lines += [
        "",
        "A rate is the median of the model's measurements (models the registry calls the same "
        "network share them). Epoch caps: the recipe's rule for our models (`crabnet`: about "
        "10,000 steps, at least 40 epochs; the chapter 03/04 reruns: `plateau`, cap 300), "
        f"CrabNet's default {CRABNET_DEFAULT_EPOCHS}, Roost's 100, one fit for the random "
        "forest; early stopping can only make a run cheaper.",
    ]
    if unused:
        lines += [
            "",
            "Read but not used (no one-thread CPU-second rate of a model as the runs train "
            "it, nor a GPU rate): " + ", ".join(f"`{name}`" for name in unused) + ".",
        ]
    return "\n".join(lines) + "\n"


def _total(
    cells: list[PlannedCell], table: dict[tuple[str, str], tuple[float, list[str]]], device: str
) -> tuple[float, list[PlannedCell]]:
    hours, unmeasured = 0.0, []
    for cell in cells:
        found = table.get((same_network(cell.model), device))
        if found is None:
            unmeasured.append(cell)
        else:
            hours += cell.samples / found[0] / 3600
    return hours, unmeasured


def write_plan_page(target: Path, profile: str = "paper") -> Path:
    """Write :func:`plan_markdown` to ``target`` (the book's ``_generated`` include)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(plan_markdown(profile))
    return target


def cmd_plan(args: argparse.Namespace) -> int:
    """``matfusion plan``: print :func:`plan_markdown` for ``--profile`` and ``--chapter``."""
    print(plan_markdown(args.profile, args.chapter), end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``--refresh-rows``: recount the training rows into the cache; else print the plan."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refresh-rows", action="store_true")
    parser.add_argument("--profile", default="paper")
    args = parser.parse_args(argv)
    if args.refresh_rows:
        TRAINING_ROWS_PATH.write_text(json.dumps(count_training_rows(), indent=1) + "\n")
        print(f"written: {TRAINING_ROWS_PATH}")
        return 0
    print(plan_markdown(args.profile), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
