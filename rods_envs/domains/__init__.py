"""The native domains, by name."""

from __future__ import annotations

from importlib import import_module

from ..domain import Domain

NAMES = ("retail", "travel", "files", "cloudops")
DOMAINS: dict[str, Domain] = {name: import_module(f"{__name__}.{name}").DOMAIN for name in NAMES}


def get_domain(name: str) -> Domain:
    try:
        return DOMAINS[name]
    except KeyError:
        raise KeyError(f"unknown domain {name!r}; known: {', '.join(DOMAINS)}") from None
