"""Where a value lives in a world, as a pattern that finds its counterparts in other worlds.

A user states values that belong to the world: an email is ``customers.cus_2.email``, a VM id is
a key of ``vms``. Replacing the entity keys and list positions of such a path with ``*`` gives a
pattern (``customers.*.email``) whose matches in a new world are that world's candidates. Values
found nowhere in the world (a new VM's name, a reason from an enum) are *free*: they are kept.
"""

from __future__ import annotations

from typing import Any, Iterator

STAR = "*"
KEY = "<key>"          # a pattern ending in KEY matches the keys of a table, not a field


def _is_table(node: Any) -> bool:
    """A dict of entities, whose keys are ids and so generalise: every value a record, the records
    sharing some field. (A state's top level holds tables, which share no keys, so it is not one.)"""
    if not isinstance(node, dict) or not node or not all(isinstance(v, dict) for v in node.values()):
        return False
    return bool(set.intersection(*(set(v) for v in node.values())))


def _walk(node: Any, path: tuple) -> Iterator[tuple[tuple, Any, tuple]]:
    """(concrete path, value, pattern) for every scalar leaf and every table key."""
    if isinstance(node, dict):
        table = _is_table(node)
        for key, value in node.items():
            step = STAR if table else key
            if table:
                yield path + (key,), key, (step, KEY)
            for p, v, pattern in _walk(value, path + (key,)):
                yield p, v, (step,) + pattern
    elif isinstance(node, list):
        for i, value in enumerate(node):
            for p, v, pattern in _walk(value, path + (i,)):
                yield p, v, (STAR,) + pattern
    elif isinstance(node, (str, int)) and not isinstance(node, bool):
        yield path, node, ()


class WorldIndex:
    """Every locatable value of a world, with its concrete paths and patterns."""

    def __init__(self, world: dict):
        self.world = world
        self.places: dict[Any, list[tuple[tuple, tuple]]] = {}
        for path, value, pattern in _walk(world, ()):
            if pattern and pattern[-1] == KEY:
                path = path + (KEY,)
            self.places.setdefault((type(value), value), []).append((path, pattern))

    def locate(self, value: Any) -> list[tuple[tuple, tuple]]:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            return []
        return self.places.get((type(value), value), [])


def first_star(pattern: tuple) -> int | None:
    return pattern.index(STAR) if STAR in pattern else None


def expand(world: dict, pattern: tuple, fixed: dict[int, Any]) -> list[tuple[tuple, Any]]:
    """Every (concrete path, value) matching ``pattern`` in ``world``; ``fixed`` pins the value
    of some ``*`` positions (by index in the pattern)."""
    out: list[tuple[tuple, Any]] = []

    def go(node: Any, i: int, path: tuple) -> None:
        if i == len(pattern):
            if isinstance(node, (str, int)) and not isinstance(node, bool):
                out.append((path, node))
            return
        step = pattern[i]
        if step == KEY:
            out.append((path + (KEY,), path[-1]))
            return
        if step == STAR:
            if i in fixed:
                keys = [fixed[i]]
            elif isinstance(node, dict):
                keys = list(node)
            elif isinstance(node, list):
                keys = list(range(len(node)))
            else:
                return
            for key in keys:
                try:
                    child = node[key]
                except (KeyError, IndexError, TypeError):
                    continue
                if pattern[i + 1:i + 2] == (KEY,):
                    out.append((path + (key, KEY), key))
                else:
                    go(child, i + 1, path + (key,))
            return
        if isinstance(node, dict) and step in node:
            go(node[step], i + 1, path + (step,))

    go(world, 0, ())
    return out
