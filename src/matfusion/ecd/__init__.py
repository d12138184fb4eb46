"""Paper B: electronic-charge-density CNNs for elastic moduli (Zhao et al., arXiv:2003.13425).

Submodules, one concern each: ``data`` (the Fm-3m elasticity set and LOEO splits),
``density`` (charge-density providers on a fixed grid), ``models`` (the five models),
``fitting`` (inputs, folds, the torch fitting and part checkpoints), ``experiments`` (CV,
LOEO, external and provider-comparison runs into the results store), ``tables`` (summaries
and captions from stored runs), ``settings`` (profile sizes),
``dft`` (our own GPAW moduli for validation), ``reported`` (the paper's figures as the chapters
compare with them).
"""

from __future__ import annotations
