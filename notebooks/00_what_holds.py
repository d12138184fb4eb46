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
# # What holds: the papers' claims, checked
#
# Every claim of the two papers that this book checks, one row each: the claim in the
# paper's words, our verdict, the evidence that decided it, the scale of our runs and how
# many seeds (or folds, or repeats) stand behind it. Each claim links to the section of its
# chapter that shows the evidence; the chapters print the same rows, from the same registry
# (`matfusion.verdicts`), so a verdict is computed once.
#
# **How a verdict is reached.** A verdict rests on an interval, never on one run:
#
# * **holds**: the 95 % interval of the effect (a difference of test errors) lies on the side
#   the paper claims, and every seed, fold or repeat agrees in sign: at least two of them;
# * **fails**: the same, on the other side;
# * **inconclusive**: the interval includes zero, the seeds disagree, or there is only one
#   seed per cell. With one seed a difference of a few percent can flip with the next seed,
#   so such rows give the one-seed ordering as evidence, not as a verdict;
# * **not testable here**: what the claim needs is not in this project's data or runs
#   (for example VASP densities), or the compared models learned nothing at our scale
#   (test R² below 0.1: they predict little more than a constant).
#
# Intervals come from a paired bootstrap over the test compounds with the seeds' mean errors
# (paper A's reruns), from the spread of the five Matbench folds (a t interval), or from a
# paired bootstrap over the materials of five repeats of 5-fold cross-validation (paper B).
# Our runs use a small share of the papers' data (the scale column says how much): a verdict
# here is about the claim at that scale.

# %% tags=["parameters"]
profile = "standard"
progress = True  # unused here: the page only reads stored runs

# %% tags=["hide-input"]
from IPython.display import HTML, display
from myst_nb import glue

from matfusion.notebook import profile_banner, show_markdown
from matfusion.profiles import get_profile
from matfusion.verdicts import decide_all, findings_html, plot_verdicts, verdict_counts

prof = get_profile(profile)
show_markdown(profile_banner(prof, {"Runs": "read from the store only; nothing is trained"}))
findings = decide_all(prof)
counts = verdict_counts(findings)
for verdict, n in counts.items():
    glue(f"n_{verdict.replace(' ', '_')}", int(n), display=False)
glue("n_claims", len(findings), display=False)
for paper in ("A", "B"):
    glue(f"n_paper_{paper}", int((findings["paper"] == paper).sum()), display=False)

# %% tags=["remove-input"]
fig = plot_verdicts(findings)

# %% [markdown]
# Of the {glue:text}`n_claims` claims checked, {glue:text}`n_holds` hold,
# {glue:text}`n_fails` fail, {glue:text}`n_inconclusive` are inconclusive and
# {glue:text}`n_not_testable_here` are not testable here.
#
# ## Paper A: L-G-DCNN and CECV
#
# {glue:text}`n_paper_A` claims. The claims of Figures 3, 7a and 11 and of Table 2 rest on
# reruns with three seeds (Table 2's on OQMD formation enthalpy), the authors' conventions
# and training to a validation plateau; Matbench's on its five folds; the other chapters'
# runs have one seed per cell so far (the runs column says how many stand behind each row).

# %% tags=["remove-input"]
display(HTML(findings_html(findings[findings["paper"] == "A"], links=True)))

# %% [markdown]
# ## Paper B: charge-density CNNs
#
# {glue:text}`n_paper_B` claims, from five repeats of 5-fold cross-validation (and the repeats of
# leave-one-element-out stored so far) of CNNs that see the whole density cube, on valence
# densities: the `standard` settings of paper B.

# %% tags=["remove-input"]
display(HTML(findings_html(findings[findings["paper"] == "B"], links=True)))

# %% [markdown]
# ## Rerun this chapter
#
# One command reruns this page with other parameters; the box lists them with their defaults,
# the exact command and the measured time per profile.

# %% tags=["remove-input"] mystnb={"markdown_format": "gfm"}
from matfusion.chapters.rerun_box import rerun_box

show_markdown(rerun_box("00_what_holds"))
