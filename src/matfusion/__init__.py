"""matfusion: executable companion to L-G-DCNN (paper A) and ECD CNNs (paper B).

Subpackages by concern: ``data`` (registry, downloads, input checks), ``featurize``
(formulas to arrays), ``models`` (the paper-A model family), ``train`` (recipes, trainer),
``results`` (the provenance store), ``experiments`` (one run = one record), ``book``
(papermill + Jupyter Book) and ``cli``.
"""

__version__ = "0.1.0"
