"""Small helpers that keep the chapter notebooks thin and their pages honest."""

from __future__ import annotations

import platform
import time
from typing import Any

import pandas as pd

from matfusion.profiles import Profile


def setup_plots() -> None:
    """One plotting style for the whole book."""
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid")
    mpl.rcParams.update({"figure.dpi": 110, "savefig.bbox": "tight", "figure.figsize": (7, 4)})


def profile_banner(
    profile: Profile, extra: dict[str, Any] | None = None, *, paper_a_runs: bool = True
) -> str:
    """A markdown note stating how this page was produced (shown at the top of a chapter).

    ``paper_a_runs=False`` leaves out the paper-A training settings and the note on reused
    runs, for chapters that train no paper-A model (data overview, paper B); those pass
    their own settings in ``extra``.
    """
    lines = [f"**Run profile: `{profile.name}`** ({profile.description})."]
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
