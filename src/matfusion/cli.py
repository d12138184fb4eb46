"""The ``matfusion`` command line: list data and models, train, predict, build the book."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence


def _cmd_datasets(args: argparse.Namespace) -> int:
    from matfusion.data import dataset_summary

    table = dataset_summary()
    if args.kind:
        table = table[table["kind"] == args.kind]
    if args.json:
        print(table.to_json(orient="records", indent=1))
    else:
        print(table.to_string(index=False))
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from matfusion.baselines import PEERS
    from matfusion.models import MODELS

    width = max(len(n) for n in [*MODELS, *PEERS])
    for name, spec in MODELS.items():
        print(f"{name:<{width}}  {spec.group:<18} {spec.description}")
    for name, peer in PEERS.items():
        print(f"{name:<{width}}  {peer.group:<18} {peer.description}")
    return 0


def _check_seed_option(value: int | None) -> None:
    """A negative seed is refused here, before numpy refuses it deep inside a run."""
    if value is not None and value < 0:
        raise ValueError(f"--seed: {value} is not a non-negative whole number")


def _cmd_train(args: argparse.Namespace) -> int:
    from matfusion.experiments import run_training
    from matfusion.profiles import get_profile
    from matfusion.train import resolve_device

    _check_seed_option(args.seed)
    device = resolve_device(args.device)  # cuda without a GPU: one line, exit 2
    profile = get_profile(
        args.profile,
        max_train_rows=args.max_train_rows,
        max_eval_rows=args.max_eval_rows,
        recipe=args.recipe,
        conventions=args.conventions,
        d_model=args.d_model,
    )
    if args.full_data:
        from dataclasses import replace

        profile = replace(profile, max_train_rows=None, max_eval_rows=None)
    record = run_training(
        args.model,
        args.dataset,
        profile=profile,
        fold=args.fold,
        seed=args.seed,
        epochs=args.epochs,
        force=args.force,
        progress=not args.quiet,
        device=device,
        autocast=args.bf16,
    )
    metrics = record["metrics"]
    origin = "cache hit: stored record" if record.get("cache_hit") else "trained"
    print(
        f"{args.model} on {args.dataset} ({origin}; profile {record['config']['profile']}, "
        f"n_train {record['sizes']['train']}, epochs {record['epochs_run']})"
    )
    print(
        f"test MAE {metrics['test_mae']:.4g}  RMSE {metrics['test_rmse']:.4g}  "
        f"R2 {metrics['test_r2']:.4f}   (val MAE {metrics['val_mae']:.4g})"
    )
    if record.get("checkpoint"):
        print(f"checkpoint: {record['checkpoint']}")
    if args.json:
        print(json.dumps({k: v for k, v in record.items() if k != "history"}, indent=1))
    return 0


def _cmd_grid(args: argparse.Namespace) -> int:
    from matfusion.experiments import results_table
    from matfusion.grid import (
        cells_to_train,
        grid_cells,
        parse_folds,
        parse_seeds,
        parse_sizes,
        run_grid,
    )
    from matfusion.profiles import get_profile
    from matfusion.train import resolve_device

    # an unknown name or setting fails before any listing
    profile = get_profile(args.profile, conventions=args.conventions, recipe=args.recipe)
    lists_only = args.dry_run or args.status
    if args.device == "auto" and args.executor == "slurm" and not lists_only:
        raise ValueError(
            "--device auto: with --executor slurm name the tasks' device (cpu or cuda); "
            "this machine cannot tell what the nodes have"
        )
    # a GPU is checked for only where cells train now (SLURM tasks train on their nodes)
    device = resolve_device(args.device, check=not lists_only and args.executor != "slurm")
    on = {"device": device, "autocast": args.bf16}
    cells = grid_cells(
        args.models.split(","),
        args.datasets.split(","),
        parse_folds(args.folds),
        parse_seeds(args.seeds),
        parse_sizes(args.train_rows),
    )
    if args.dry_run:
        todo = set(cells_to_train(cells, profile=profile, epochs=args.epochs, **on))
        for cell in cells:
            print(f"{'to train' if cell in todo else 'stored  '}  {cell.label()}")
        print(
            f"{len(cells)} cells: {len(cells) - len(todo)} stored, {len(todo)} to train "
            f"(profile {profile.name})"
        )
        return 0
    if args.status:
        from matfusion.executors import jobs_folder
        from matfusion.grid import print_grid_status

        folder = jobs_folder(args.jobs_dir)
        print_grid_status(cells, profile=profile, epochs=args.epochs, folder=folder, **on)
        return 0
    if args.executor == "slurm":
        from matfusion.grid import submit_grid_command

        return submit_grid_command(
            cells,
            profile=profile,
            epochs=args.epochs,
            cluster_file=args.cluster,
            jobs_dir=args.jobs_dir,
            wait=args.wait,
            **on,
        )
    if args.wait:
        raise ValueError("--wait: only with --executor slurm (local runs finish before exit)")
    records = run_grid(cells, profile=profile, epochs=args.epochs, progress=not args.quiet, **on)
    table = results_table(records)
    print(table[["model", "dataset", "fold", "n_train", "test_mae", "test_r2", "source"]])
    return 0


def _cmd_dft(args: argparse.Namespace) -> int:
    from matfusion.ecd.dft import batch_command

    return batch_command(args)


def _cmd_predict(args: argparse.Namespace) -> int:
    from matfusion.predict import predict_formulas

    rows = predict_formulas(args.checkpoint, args.formulas)
    failed = 0
    for row in rows:
        if row["error"]:
            failed += 1
            print(f"{row['formula']}\terror: {row['error']}")
        else:
            print(f"{row['formula']}\t{row['prediction']:.6g}\t+/- {row['uncertainty']:.3g}")
    return 1 if failed == len(rows) else 0


def _parse_thresholds(text: str) -> list[float]:
    """``--thresholds`` as numbers in [0, 2], checked before the checkpoint is loaded.

    CECV accepts any threshold >= 0 (at 0 every compound is its own cluster); correlations
    lie in [-1, 1], so entries differ by at most 2 and a larger threshold means nothing."""
    thresholds = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise ValueError(f"--thresholds: {part.strip()!r} is not a number") from None
        if not 0.0 <= value <= 2.0:
            raise ValueError(
                f"--thresholds: {part.strip()} is outside [0, 2] "
                "(thresholds compare correlations, which differ by at most 2)"
            )
        thresholds.append(value)
    return thresholds


def _cmd_peer_cecv(args: argparse.Namespace) -> int:
    """``matfusion cecv --peer CrabNet``: retrain the peer as its grid run and store its CECV."""
    from matfusion.experiments import run_peer_cecv

    if not args.dataset:
        raise ValueError("--peer needs --dataset (the peer is trained on it)")
    _check_seed_option(args.seed)
    anchor = None if args.anchor.lower() == "none" else args.anchor
    record = run_peer_cecv(
        args.peer, args.dataset, profile=args.profile, fold=args.fold, seed=args.seed,
        anchor=anchor, mode=args.mode, thresholds=tuple(_parse_thresholds(args.thresholds)),
        order=args.order, force=args.force, progress=not args.quiet,
    )  # fmt: skip
    assert record is not None
    spec = record["config"]["cecv"]
    source = "stored" if record["cache_hit"] else "computed now"
    print(
        f"{args.peer} on {record['config']['dataset']} [test], profile "
        f"{record['config']['profile']}, anchor {args.anchor}, mode {spec['mode']}, "
        f"rows in {spec['order']} order ({source}: {record['key']})"
    )
    print(
        "compounds per element count: "
        + ", ".join(f"{n}: {k}" for n, k in record["compounds_per_element_count"].items())
    )
    print("threshold  " + "  ".join(f"{t:>5.2f}" for t in record["thresholds"]))
    print("CECV       " + "  ".join(f"{c:>5d}" for c in record["cecv"]))
    if args.out:
        from pathlib import Path

        Path(args.out).write_text(json.dumps(record, indent=1, default=str))
        print(f"written: {args.out}")
    return 0


def _cmd_cecv(args: argparse.Namespace) -> int:
    if (args.checkpoint is None) == (args.peer is None):
        raise ValueError("give either --checkpoint (our model) or --peer (e.g. CrabNet)")
    if args.peer is not None:
        return _cmd_peer_cecv(args)
    from matfusion.analysis.cecv import model_cecv
    from matfusion.data import element_table, load_split
    from matfusion.experiments import load_trained
    from matfusion.featurize import encode_formulas
    from matfusion.models import encoding_order

    thresholds = _parse_thresholds(args.thresholds)
    model, _scaler, meta = load_trained(args.checkpoint)
    dataset = args.dataset or meta["config"]["dataset"]
    frame = load_split(dataset, args.split, fold=args.fold, verbose=False)
    encoded = encode_formulas(
        frame["formula"].tolist(),
        element_table(meta["config"]["embedding"]),
        order=encoding_order(model),
    )
    result = model_cecv(
        model,
        encoded,
        anchor=None if args.anchor.lower() == "none" else args.anchor,
        layer=args.layer,
        thresholds=thresholds,
        mode=args.mode,
    )
    print(f"{model.name} on {dataset} [{args.split}], anchor {args.anchor}, mode {args.mode}")
    print(
        "compounds per element count: "
        + ", ".join(f"{n}: {k}" for n, k in result.group_sizes.items())
    )
    print("threshold  " + "  ".join(f"{t:>5.2f}" for t in result.thresholds))
    print("CECV       " + "  ".join(f"{c:>5d}" for c in result.counts))
    if args.out:
        from pathlib import Path

        doc = {
            "checkpoint": str(args.checkpoint),
            "model": model.name,
            "dataset": dataset,
            "split": args.split,
            "anchor": args.anchor,
            "layer": args.layer or model.default_efm_layer,
            **result.as_dict(),
        }
        Path(args.out).write_text(json.dumps(doc, indent=1))
        print(f"written: {args.out}")
    return 0


def _cmd_density(args: argparse.Namespace) -> int:
    from matfusion.ecd.cli import density_command
    from matfusion.ecd.density import PROVIDERS, DensityError

    PROVIDERS[args.provider]  # an unknown name: one line with close matches, before any work
    try:
        info = density_command(args.structure, args.provider, args.grid, args.out)
    except DensityError as err:
        raise ValueError(str(err)) from None
    except MemoryError:  # not caught by main(): one line, not a traceback
        raise ValueError(f"out of memory (grid {args.grid}); use a smaller --grid") from None
    except OSError as err:  # e.g. PermissionError on a file pymatgen or numpy opens
        raise ValueError(f"{type(err).__name__}: {err}") from None
    kind = "all-electron" if info["all_electron"] else "valence (as stored in the file)"
    print(f"{info['formula']}: {args.provider} density, grid {'x'.join(map(str, info['shape']))}")
    print(f"integrated electrons {info['electrons']:.4f} ({kind}), cell {info['volume']:.3f} A^3")
    if info["out"]:
        print(f"written: {info['out']}")
    return 0


def _cmd_ecd(args: argparse.Namespace) -> int:
    from matfusion.ecd.cli import sweep_command
    from matfusion.ecd.models import ECD_MODELS

    for name in (args.models or "").split(","):
        if name:
            ECD_MODELS[name]  # an unknown name: one line with close matches, before any run
    return sweep_command(args)


def _cmd_migrate(args: argparse.Namespace) -> int:
    from matfusion.migrations import migrate_store
    from matfusion.results import ResultsStore

    store = ResultsStore(args.results)
    report = migrate_store(store, dry_run=args.dry_run)
    verb = "would move" if args.dry_run else "moved"
    for old, new in report.migrated:
        print(f"{verb} {old.relative_to(store.root)} -> {new.relative_to(store.root)}")
    for path, why in report.failed:
        print(f"cannot migrate {path}: {why}", file=sys.stderr)
    print(("dry run: " if args.dry_run else "") + report.summary())
    return 1 if report.failed else 0


def _cmd_run(args: argparse.Namespace) -> int:
    """One chapter under papermill with other parameters; a chapter that raises is one line
    naming its partial notebook and exit code 1 (bad input stays exit 2, via main)."""
    from pathlib import Path

    from matfusion.book import (
        NotebookExecutionError,
        parse_parameter_value,
        require_nbconvert,
        rerun_plan,
        run_chapter,
    )

    parameters: dict[str, object] = {}
    for name, text in args.parameter or []:
        if name in parameters:
            raise ValueError(f"parameter {name} given twice")
        parameters[name] = parse_parameter_value(text)
    source, profile, _ = rerun_plan(args.chapter, parameters, args.profile)  # bad input: exit 2
    if args.html:
        require_nbconvert()
    print(f"[matfusion run] executing {source.name} (profile {profile}) ...", flush=True)
    try:
        rerun = run_chapter(
            args.chapter, parameters, profile=args.profile, out_dir=Path(args.out), html=args.html
        )
    except NotebookExecutionError as err:
        where = f"; partial notebook: {err.failed}" if err.failed else ""
        print(f"matfusion run: error: {err.summary}{where}", file=sys.stderr)
        return 1
    given = ", ".join(f"{k}={v!r}" for k, v in rerun.parameters.items())
    print(f"{rerun.source.name} done in {rerun.seconds:.0f} s ({given})")
    print(f"written: {rerun.notebook}")
    if rerun.html:
        print(f"written: {rerun.html}")
    return 0


def _cmd_book(args: argparse.Namespace) -> int:
    from matfusion.book import build_book, execute_notebooks

    if not args.no_execute:
        execute_notebooks(profile=args.profile, only=args.only)
    if not args.no_build:
        html = build_book()
        print(f"book: {html / 'index.html'}")
    return 0


def _add_model_options(p: argparse.ArgumentParser) -> None:
    """``--recipe``, ``--conventions``, ``--device`` and ``--bf16``: how our models are
    trained and built, and on what."""
    from matfusion.models import CONVENTIONS
    from matfusion.train import DEVICES, RECIPES

    # names are checked by the registries (one line with close matches), not by argparse
    p.add_argument("--recipe", help=f"override the profile's recipe: {' | '.join(RECIPES)}")
    p.add_argument(
        "--conventions",
        help=f"paper A's open choices: {' | '.join(sorted(CONVENTIONS))}, optionally with "
        "switched fields, e.g. matfusion-v1+element_order=fraction_desc (default: the "
        "profile's; authors = the authors' code)",
    )
    p.add_argument(
        "--device",
        choices=DEVICES,
        default="cpu",
        help="cpu (default: the stored runs' device), cuda, or auto (cuda when torch sees a "
        "GPU); a GPU run is its own record, CrabNet and Roost train on it too",
    )
    p.add_argument(
        "--bf16",
        action="store_true",
        help="train our models under bfloat16 autocast (its own record; off by default)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="matfusion",
        description="Executable companion to L-G-DCNN (paper A) and ECD CNNs (paper B).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("datasets", help="list registered datasets with row counts")
    p.add_argument("--kind", choices=["extended", "matbench"], help="only this kind")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_cmd_datasets)

    p = sub.add_parser("models", help="list registered models")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser(
        "train",
        help="train a registered model on a registered dataset (cached in results/)",
        description="Train a model; an identical earlier run is answered from results/.",
    )
    p.add_argument("--model", required=True, help="registered model name, e.g. L-G-DCNN")
    p.add_argument("--dataset", required=True, help="dataset name, e.g. aflow__Egap")
    p.add_argument("--profile", default="standard", help="smoke | standard | large | paper")
    p.add_argument("--epochs", type=int, help="override the profile's epochs")
    p.add_argument("--fold", type=int, help="Matbench fold (0-4)")
    p.add_argument("--seed", type=int, help="random seed (default: the profile's)")
    _add_model_options(p)
    p.add_argument("--max-train-rows", type=int, help="subsample the training split")
    p.add_argument("--max-eval-rows", type=int, help="subsample validation and test splits")
    p.add_argument("--full-data", action="store_true", help="use full splits")
    p.add_argument("--d-model", type=int, help="model width (paper: 512)")
    p.add_argument("--force", action="store_true", help="retrain even if a record exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="also print the record as JSON")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser(
        "grid",
        help="train a grid of models x datasets x folds x seeds, skipping stored cells",
        description="Resumable: finished cells are read from results/, others are trained.",
    )
    p.add_argument("--models", required=True, help="comma list, e.g. L-G-DCNN,LSTM")
    p.add_argument("--datasets", required=True, help="comma list of dataset names")
    p.add_argument("--folds", help="Matbench folds, e.g. 0-4 or 0,2 (default: all)")
    p.add_argument("--seeds", help="comma list of seeds (default: the profile's)")
    p.add_argument(
        "--train-rows",
        help="comma list of training-set sizes, e.g. 100,300,1000 (default: the profile's cap)",
    )
    p.add_argument("--profile", default="standard", help="smoke | standard | large | paper")
    p.add_argument("--epochs", type=int, help="override the profile's epochs")
    _add_model_options(p)
    p.add_argument("--dry-run", action="store_true", help="list the cells and stop")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    from matfusion.executors import add_executor_arguments

    add_executor_arguments(p)
    p.set_defaults(func=_cmd_grid)

    p = sub.add_parser(
        "dft",
        help="paper B's GPAW moduli: check materials and WBM cells, one task per structure",
        description="Compute (or submit to SLURM) the structures not yet in dft_moduli.csv, "
        "each writing its own row file, then merge them into the CSV (resumable; "
        "`matfusion ecd dft` is the same command).",
    )
    p.add_argument("--check", help="check materials, comma list (default: NaCl,MgO,Al)")
    p.add_argument("--external", type=int, default=0, help="how many WBM cells to add")
    p.add_argument(
        "--magnetic",
        action="store_true",
        help="external cells with Cr, Mn, Fe, Co or Ni instead, spin-polarised",
    )
    p.add_argument("--redo", default="", help="ids to compute again (comma-separated)")
    p.add_argument("--merge", action="store_true", help="only merge finished row files")
    p.add_argument(
        "--check-cutoff",
        action="store_true",
        help="give stored rows without ecut_eos_eV the cutoff check (one SCF each at the fitted "
        "volume); rows that fail it are named for --redo",
    )
    p.add_argument(
        "--check-spin",
        action="store_true",
        help="give stored rows with a d metal run without spin the spin check (one "
        "spin-polarised SCF each at the fitted volume); rows that keep a moment are left out",
    )
    p.add_argument("--csv", help="moduli CSV to extend (default: the stored dft_moduli.csv)")
    add_executor_arguments(p)
    p.set_defaults(func=_cmd_dft)

    p = sub.add_parser(
        "predict",
        help="predict formulas with a trained checkpoint",
        description="Prediction and uncertainty per formula; a bad formula is reported on its own "
        "line (its position and reason) and the others are still predicted.",
    )
    p.add_argument("--checkpoint", required=True, help="path printed by `matfusion train`")
    p.add_argument("formulas", nargs="+", help='formulas, e.g. "SrTiO3" "Fe2O3"')
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser(
        "cecv",
        help="CECV of a trained model over a dataset split",
        description="Cluster the element-correlation matrices of compounds containing an "
        "anchor element at each threshold (paper A's CECV).",
    )
    p.add_argument("--checkpoint", help="path printed by `matfusion train`")
    p.add_argument(
        "--peer",
        help="instead of a checkpoint: a peer (CrabNet) retrained as its grid run under "
        "--profile and --seed, its CECV stored in results/peer_cecv/",
    )
    p.add_argument("--profile", default="standard", help="with --peer: the run's profile")
    p.add_argument("--seed", type=int, help="with --peer: random seed (default: the profile's)")
    p.add_argument(
        "--order",
        choices=["atomic_number", "fraction_desc"],
        help="with --peer: EFM row order (default: the profile's conventions)",
    )
    p.add_argument("--force", action="store_true", help="with --peer: recompute a stored one")
    p.add_argument("--quiet", action="store_true", help="with --peer: no progress bar")
    p.add_argument("--dataset", help="dataset name (default: the one the model was trained on)")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--fold", type=int, help="Matbench fold")
    p.add_argument("--anchor", default="Si", help="element the compounds must contain, or none")
    p.add_argument(
        "--thresholds", default="0.05,0.10,0.15,0.20,0.25,0.30,0.35,0.40", help="comma list"
    )
    p.add_argument("--layer", help="layer whose EFM is used (default: last before the head)")
    p.add_argument("--mode", default="authors", choices=["authors", "signed", "absolute"])
    p.add_argument("--out", help="write the result as JSON here")
    p.set_defaults(func=_cmd_cecv)

    p = sub.add_parser(
        "density",
        help="charge density of a structure (or CHGCAR) on a cubic grid, saved as .npy",
        description="Density in electrons/A^3 on a grid over the cell's fractional axes; "
        "grid mean x cell volume = electron count (printed).",
    )
    p.add_argument(
        "structure", help="CIF, POSCAR or pymatgen JSON (a CHGCAR for --provider chgcar)"
    )
    p.add_argument(
        "--provider", default="promolecular", help="promolecular (default) | gpaw | chgcar"
    )
    p.add_argument("--grid", type=int, default=60, help="points per axis, 2 to 256 (paper: 60)")
    p.add_argument(
        "--out", required=True, help="output file in .npy format, written exactly as named"
    )
    p.set_defaults(func=_cmd_density)

    p = sub.add_parser(
        "ecd",
        help="paper B's sweeps: CV, leave-one-element-out, external set, density comparisons "
        "(resumable)",
        description="Run (or resume) paper B's sweeps; `external` trains on the whole set "
        "and predicts the external (WBM) structures; `compare` is the CV once per density "
        "source (provider and valence setting: promolecular, GPAW all-electron, GPAW "
        "valence; --sources picks them), `compare-loeo` the LOEO runs once per source "
        "(--only and --models pick what one process runs, e.g. one source each); "
        "`matfusion ecd dft ...` is `matfusion dft ...`.",
    )
    from matfusion.ecd.cli import add_sweep_arguments

    add_sweep_arguments(p)
    p.set_defaults(func=_cmd_ecd)

    p = sub.add_parser(
        "migrate",
        help="move stored records to the current record versions (no retraining)",
        description="Rewrite the keys and configs of records made by an older matfusion to "
        "the current identity, keeping their results (see matfusion.migrations).",
    )
    p.add_argument("--results", help="results folder (default: $MATFUSION_RESULTS or results/)")
    p.add_argument("--dry-run", action="store_true", help="list what would move and stop")
    p.set_defaults(func=_cmd_migrate)

    p = sub.add_parser(
        "plan",
        help="training samples and CPU/GPU hours per chapter, from measured throughput",
        description="Per chapter: the training cells it reads, their samples (epoch cap x "
        "training rows) and the hours at the rates measured in benchmarks/results "
        "(one-thread CPU core-hours; GPU-hours where a GPU rate exists, else 'not measured').",
    )
    p.add_argument("--profile", default="paper", help="smoke | standard | large | paper")
    p.add_argument("--chapter", help="one chapter: its number (06) or part of its name")
    from matfusion.compute_plan import cmd_plan

    p.set_defaults(func=cmd_plan)

    p = sub.add_parser(
        "book",
        help="execute the notebooks with papermill and build the Jupyter Book",
        description="Execute notebooks/ under a profile (papermill), then build _build/html.",
    )
    p.add_argument("--profile", default="standard", help="smoke | standard | large | paper")
    p.add_argument("--only", action="append", help="execute only notebooks matching this")
    p.add_argument("--no-execute", action="store_true", help="build from executed notebooks")
    p.add_argument("--no-build", action="store_true", help="execute only")
    p.set_defaults(func=_cmd_book)

    p = sub.add_parser(
        "run",
        help="execute one chapter with other parameters into reruns/<chapter>-<profile>.ipynb",
        description="Execute one chapter notebook with papermill, replacing names of its cell "
        "tagged `parameters` (each chapter's last section lists them). CHAPTER is its number "
        "(03), its name (03_rational_design) or a part of the name matching one chapter.",
    )
    p.add_argument("chapter", metavar="CHAPTER", help="number, name or unique part of a name")
    p.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help="replace a parameter; VALUE is a Python literal (5, True, None, \"['LSTM']\") "
        "where it parses as one, else text (-p anchor Ge); repeatable",
    )
    p.add_argument(
        "--profile", help="smoke | standard | large | paper (default standard; or -p profile)"
    )
    p.add_argument("--out", default="reruns", help="output folder (default: reruns/)")
    p.add_argument("--html", action="store_true", help="also write an HTML copy (nbconvert)")
    p.set_defaults(func=_cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; a user's fault is one ``matfusion <cmd>: error: ...`` line on
    stderr and exit code 2, Ctrl-C one ``interrupted`` line and 130, never a traceback."""
    from matfusion.results import RecordExistsError

    command = ""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["ecd", "dft"]:  # paper B's commands under one name: `matfusion ecd dft`
        argv = argv[1:]
    try:
        args = build_parser().parse_args(argv)
        command = args.command
        return args.func(args)
    except KeyboardInterrupt:
        # Ctrl-C is the user's choice, not a fault: one line, the shell's code for SIGINT.
        print(f"matfusion{' ' + command if command else ''}: interrupted", file=sys.stderr)
        return 130
    except (KeyError, ValueError, FileNotFoundError, RuntimeError, RecordExistsError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"matfusion {command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
