"""Plan skeletons: a gold plan with its concrete values abstracted, ready to be realised anew.

A skeleton node is a tool, a turn and argument *bindings*:
- ``Lit``: a value the user states. With a world ``pattern`` and ``group`` it is rebound to a
  counterpart in the new world (all literals of one group to the same entity); without, it is
  kept as it is (a name for something new, a reason from an enum).
- ``Pick``: a value read from an earlier node's result at ``path``; a ``*`` in the path is a
  list element chosen when the plan is realised (and described to the user by a selector).
Nodes may also name an ``answer``: a result path whose value the user asks to be told.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ..plan import REF, is_ref
from .patterns import STAR, WorldIndex, first_star


class once:
    """A property computed on first use and kept in the instance (as ``functools.cached_property``
    does, without its lock: realising reads these on every try of every call)."""

    def __init__(self, fn):
        self.fn, self.name = fn, fn.__name__

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.fn(obj)
        return value


@dataclass(frozen=True)
class Lit:
    value: Any
    pattern: tuple | None = None
    group: tuple | None = None        # (pattern prefix, seed entity): rebound together
    withheld: bool = False            # the user holds it back until asked
    profile: tuple = ()               # the seed entity's plain fields: analogous entities go first

    @once
    def star(self) -> int | None:
        """Where the entity key sits in ``pattern`` (realising asks for it on every try)."""
        return None if self.pattern is None else first_star(self.pattern)


@dataclass(frozen=True)
class Pick:
    node: int
    path: tuple
    profile: tuple = ()               # the seed's chosen list element's plain fields
    slot: int = 0                     # picks of one list with different slots take different elements

    @once
    def prefix(self) -> tuple | None:
        """``path`` up to and including its first ``*``: the list an element is chosen from."""
        i = first_star(self.path)
        return None if i is None else tuple(self.path[: i + 1])

    @once
    def choice(self) -> tuple | None:
        """The key of this pick's list choice in a realisation, if it makes one."""
        return None if self.prefix is None else (self.node, self.prefix, self.slot)


@dataclass(frozen=True)
class Node:
    tool: str
    turn: int
    args: dict                         # param -> binding tree (Lit / Pick leaves in dicts, lists)
    answer: tuple | None = None

    # The bindings, found once per node: a node is realised on many worlds. (Nodes are frozen
    # and their argument trees never edited in place; mutations build new nodes.)
    @once
    def lits(self) -> tuple:
        return tuple(leaf for leaf in self.bindings if type(leaf) is Lit)

    @once
    def picks(self) -> tuple:
        return tuple(leaf for leaf in self.bindings if type(leaf) is Pick)

    @once
    def bindings(self) -> tuple:
        found: list = []
        _collect(self.args, found)
        return tuple(found)


@dataclass(frozen=True)
class Skeleton:
    domain: str
    nodes: tuple[Node, ...]
    turns: int
    lineage: dict = field(default_factory=dict)

    def with_nodes(self, nodes, **changes) -> "Skeleton":
        return replace(self, nodes=tuple(nodes), **changes)

    def consumers(self, index: int) -> list[int]:
        return [j for j, n in enumerate(self.nodes) if any(p.node == index for p in picks(n.args))]


def leaves(tree: Any) -> list:
    """The bindings (Lit, Pick) in an argument tree, depth first."""
    found: list = []
    _collect(tree, found)
    return found


def _collect(tree: Any, found: list) -> None:
    # Not ``plan.parts``: no generator per level (realising reads bindings on every try).
    kind = type(tree)
    if kind is Lit or kind is Pick:
        found.append(tree)
    elif kind is dict:
        for v in tree.values():
            _collect(v, found)
    elif kind is list:
        for v in tree:
            _collect(v, found)


def picks(args: dict) -> list[Pick]:
    return [leaf for leaf in leaves(args) if isinstance(leaf, Pick)]


def literals(args: dict) -> list[Lit]:
    return [leaf for leaf in leaves(args) if isinstance(leaf, Lit)]


def map_leaves(tree: Any, fn) -> Any:
    if isinstance(tree, (Lit, Pick)):
        return fn(tree)
    if isinstance(tree, dict):
        return {k: map_leaves(v, fn) for k, v in tree.items()}
    if isinstance(tree, list):
        return [map_leaves(v, fn) for v in tree]
    return tree


def _generalise(path: list) -> tuple:
    return tuple(STAR if isinstance(step, int) else step for step in path)


def profile(entity: Any) -> tuple:
    """The plain (non-id, scalar) fields of an entity, as sorted items."""
    if not isinstance(entity, dict):
        return ()
    return tuple(sorted((k, v) for k, v in entity.items() if isinstance(v, (str, int, float, bool))
                        and not str(k).endswith("id")))


def lift_literal(value: Any, index: WorldIndex, near: set) -> Lit:
    """A literal with the world pattern it came from, preferring entities already in use."""
    places = index.locate(value)
    if not places:
        return Lit(value)
    path, pattern = next(((p, q) for p, q in places if _group(p, q) in near), places[0])
    i = first_star(pattern)
    entity = index.world
    for step in path[: i + 1]:
        entity = entity[step]
    return Lit(value, pattern, _group(path, pattern), profile=profile(entity))


def _group(path: tuple, pattern: tuple) -> tuple | None:
    i = first_star(pattern)
    return None if i is None else (pattern[: i + 1], path[i])


def _at(value: Any, path: list) -> Any:
    for step in path:
        value = value[step]
    return value


def lift(task) -> Skeleton:
    """The skeleton of a task: refs become picks, stated values become rebindable literals."""
    index = WorldIndex(task.record["initial_state"])
    ids = {call["id"]: i for i, call in enumerate(task.calls)}
    nodes: list[Node] = []
    near: set = set()

    results = task.gold.results

    def bind(value: Any) -> Any:
        if is_ref(value):
            path = value.get("path", [])
            star = next((i for i, step in enumerate(path) if isinstance(step, int)), None)
            seen = () if star is None else profile(_at(results[value[REF]], path[: star + 1]))
            return Pick(ids[value[REF]], _generalise(path), seen, 0 if star is None else path[star])
        if isinstance(value, dict):
            return {k: bind(v) for k, v in value.items()}
        if isinstance(value, list):
            return [bind(v) for v in value]
        lit = lift_literal(value, index, near)
        if lit.group is not None:
            near.add(lit.group)
        return lit

    facts = {(t, f["value"]) if not isinstance(f["value"], (dict, list)) else (t, None)
             for t, turn in enumerate(task.turns) for f in turn["facts"]}
    answers = {ref[REF]: ref["path"] for turn in task.turns for ref in turn["answers"]}
    for call in task.calls:
        args = bind(call["args"])
        args = map_leaves(args, lambda leaf: replace(leaf, withheld=(call["turn"], leaf.value) in facts)
                          if isinstance(leaf, Lit) else leaf)
        answer = answers.get(call["id"])
        nodes.append(Node(call["tool"], call["turn"], args, None if answer is None else _generalise(answer)))
    return Skeleton(task.domain, tuple(nodes), len(task.turns), {"seed": task.id, "mutations": []})
