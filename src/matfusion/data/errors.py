"""Exceptions of the data layer, in one module so every data module can raise them without
import cycles (each is also re-exported where the contract names it)."""

from __future__ import annotations


class DataIntegrityError(RuntimeError):
    """A downloaded or cached file does not have the pinned sha256 (or is otherwise unsafe)."""


class MissingDataError(FileNotFoundError):
    """A data file is neither available locally nor downloadable."""


class FormulaError(ValueError):
    """A chemical formula cannot be parsed into a valid composition."""


class DataValidationError(ValueError):
    """A table of (formula, target) rows failed validation.

    ``problems`` holds one human-readable line per bad row (all of them, not only the ones
    shown in the message), ``n_bad`` their count.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = list(problems or [])
        self.n_bad: int = len(self.problems)
