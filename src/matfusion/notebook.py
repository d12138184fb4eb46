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


def profile_banner(profile: Profile, extra: dict[str, Any] | None = None) -> str:
    """A markdown note stating how this page was produced (shown at the top of a chapter)."""
    lines = [
        f"**Run profile: `{profile.name}`** ({profile.description}).",
        f"Recipe `{profile.recipe}`, epochs "
        f"{profile.epochs if profile.epochs is not None else 'recipe default'}, training rows "
        f"{profile.max_train_rows or 'all'}, evaluation rows {profile.max_eval_rows or 'all'}, "
        f"model width {profile.d_model}, seed {profile.seed}.",
        f"Executed {time.strftime('%Y-%m-%d %H:%M %Z')} on {platform.machine()} "
        f"({platform.processor() or 'cpu'}), Python {platform.python_version()}.",
    ]
    if profile.reuse_profiles:
        lines.append(
            "Stored results of the "
            + ", ".join(f"`{p}`" for p in profile.reuse_profiles)
            + " profile are used where present; the `source` column of each table says so."
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
