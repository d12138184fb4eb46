"""One registry idiom for every kind of named thing (models, peers, datasets, recipes,
profiles, density providers, ECD models).

Records, notebooks and the command line refer to these things by name, so each kind is a
:class:`Registry`: registration order is kept (the book lists things in the paper's order), a
name can be registered once only (two specs behind one name would make a stored record
ambiguous), and an unknown name is one :class:`UnknownNameError` line that names the kind,
suggests close matches and lists the valid names, which ``matfusion`` prints as its one-line
error.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol, TypeVar, overload

__all__ = ["Registry", "UnknownNameError", "close_matches", "unknown_name"]

T = TypeVar("T")
D = TypeVar("D")
N = TypeVar("N", bound="Named")
_REQUIRED: Any = object()


class Named(Protocol):
    """Anything registered under its own ``name`` (specs, profiles, recipes)."""

    @property
    def name(self) -> str: ...


class UnknownNameError(KeyError):
    """A name no registry entry has; ``str()`` is the message itself (``KeyError`` would
    quote it), so the CLI and ``pytest.raises(match=...)`` see one clean line."""

    def __init__(self, message: str, *, kind: str = "", name: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.name = name

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def close_matches(name: str, names: Iterable[str], n: int = 3, cutoff: float = 0.5) -> list[str]:
    """Up to ``n`` of ``names`` closest to ``name``, case-insensitively (``dpcn`` finds
    ``DPCNN``, ``crabnet`` finds ``CrabNet``), best first."""
    by_lower: dict[str, str] = {}
    for known in names:
        by_lower.setdefault(known.lower(), known)
    found = difflib.get_close_matches(name.lower(), list(by_lower), n=n, cutoff=cutoff)
    return [by_lower[f] for f in found]


def _quoted(names: list[str]) -> str:
    items = [repr(n) for n in names]
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def unknown_name(kind: str, name: object, valid: Iterable[str]) -> UnknownNameError:
    """The one-line error for a ``kind`` named ``name`` that is not among ``valid``:
    ``unknown model 'L-G-DCN'; did you mean 'L-G-DCNN'? (valid: RNN, LSTM, ...)``. For a
    name looked up in several registries at once (``--model`` takes models and peers)."""
    text = str(name)
    names = list(valid)
    close = close_matches(text, names)
    hint = f"; did you mean {_quoted(close)}?" if close else ""
    return UnknownNameError(
        f"unknown {kind} {text!r}{hint} (valid: {', '.join(names)})", kind=kind, name=text
    )


class Registry(Mapping[str, T]):
    """Named items of one ``kind``, in registration order.

    A read-only :class:`~collections.abc.Mapping` once built (``reg[name]``, ``in``, ``len``,
    iteration over names, ``items()``, ``values()``), so code written against the plain dicts
    it replaces keeps working; only :meth:`register` adds entries, and :meth:`get` raises the
    one-line error unless given a default.
    """

    def __init__(self, kind: str, items: Iterable[tuple[str, T]] = ()) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        for name, item in items:
            self.register(name, item)

    @classmethod
    def named(cls, kind: str, items: Iterable[N]) -> Registry[N]:
        """A registry of ``items`` under their own ``.name`` (the name is stated once)."""
        return cls(kind, ((item.name, item) for item in items))  # type: ignore[misc]

    def register(self, name: str, item: T) -> T:
        """Add ``item`` as ``name``; a name already taken is a ``ValueError``."""
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    def unknown(self, name: object) -> UnknownNameError:
        """The one-line error for ``name``: kind, close matches, valid names."""
        return unknown_name(self.kind, name, self._items)

    @overload
    def get(self, name: str) -> T: ...
    @overload
    def get(self, name: str, default: D) -> T | D: ...
    def get(self, name: str, default: object = _REQUIRED) -> object:
        """The item registered as ``name``. Unlike ``dict.get`` an unknown name is an
        :class:`UnknownNameError` unless a ``default`` is given (``get(name, None)``)."""
        try:
            return self._items[name]
        except (KeyError, TypeError):  # TypeError: an unhashable "name"
            if default is not _REQUIRED:
                return default
            raise self.unknown(name) from None

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        try:
            return name in self._items
        except TypeError:
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> list[str]:
        """Registered names in registration order."""
        return list(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
