"""Realise a plan on a world: bind every value, execute forward, and write the task record.

A ``Realisation`` grows one call at a time (``add``), so a walk can try another tool when a call
is refused, and a skeleton is realised by adding its nodes in order. Literals of one group are
rebound to one entity of the new world; a ``*`` in a pick is a list element. Such choices are
tried best-first (most like the seed's entity or element) until the call succeeds. Every chosen
element gets a selector, a field whose value singles it out in its list, for the user to
describe it by.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..domain import Domain
from ..plan import lookup
from ..checker import Gold, gold_from_run
from ..state import copy_state, freeze, thaw
from ..tool import ToolError
from .patterns import STAR, expand, first_star
from .phrasing import MissingValue, ParamView, Phrasebook
from .skeleton import Lit, Node, Pick, Skeleton, leaves

TRIES = 8


class Unrealizable(Exception):
    """The plan cannot be realised on this world; ``reason`` says why (for the counters)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Selector:
    noun: str
    field: str | None
    value: Any
    ordinal: int


def _prefix(path: tuple) -> tuple | None:
    """The part of a pick path up to (and including) its first list element."""
    i = first_star(path)
    return None if i is None else path[: i + 1]


def _singular(word: str) -> str:
    word = str(word).replace("_", " ")
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _selector(items: list, k: int, prefix: tuple, rng: np.random.Generator, asked: str | None = None,
              by_value: bool = True) -> Selector:
    """How to single out ``items[k]``: a field whose value no other element shares (never the
    field being asked for), else its position."""
    noun = _singular(prefix[-2]) if len(prefix) > 1 else "item"
    element = items[k]
    if isinstance(element, dict):
        unique = [f for f, v in element.items() if isinstance(v, (str, int)) and not isinstance(v, bool)
                  and f != asked and str(v).strip()
                  and sum(1 for other in items if isinstance(other, dict) and other.get(f) == v) == 1]
        plain = [f for f in unique if not f.endswith("id")]
        chosen = plain or unique
        if chosen:
            f = chosen[int(rng.integers(len(chosen)))]
            return Selector(noun, f, element[f], k + 1)
        return Selector(noun, None, None, k + 1)
    if not by_value or sum(1 for other in items if other == element) > 1:
        return Selector(noun, None, None, k + 1)
    return Selector(noun, "", element, k + 1)


def _ranked(candidates: list, entity_of, seen: tuple, rng: np.random.Generator) -> list:
    """``candidates`` shuffled, then ordered by how many plain fields they share with ``seen``."""
    order = [candidates[int(i)] for i in rng.permutation(len(candidates))]
    if not seen:
        return order
    wanted = dict(seen)

    def likeness(candidate) -> int:
        entity = entity_of(candidate)
        return sum(1 for k, v in wanted.items() if isinstance(entity, dict) and entity.get(k) == v)
    return sorted(order, key=likeness, reverse=True)


class Realiser:
    """Shared by a synthesizer's realisations: the domain, the phrasebook, memoised matches."""

    def __init__(self, domain: Domain, phrasebook: Phrasebook):
        self.domain, self.phrasebook = domain, phrasebook
        self._matches: dict[tuple, list] = {}

    def expand(self, world: dict, pattern: tuple, key) -> list:
        """Matches of ``pattern`` in ``world`` with its first ``*`` pinned to ``key`` (if given).
        Memoised: worlds come from a pool and are never modified."""
        memo = (id(world), pattern, key)
        if memo not in self._matches:
            fixed = {} if key is None else {first_star(pattern): key}
            self._matches[memo] = expand(world, pattern, fixed)
        return self._matches[memo]

    def realise(self, skeleton: Skeleton, world: dict, rng: np.random.Generator,
                keep_values: bool = False) -> "Realisation":
        """``skeleton``'s calls run on ``world``; ``keep_values``: the world is the seed's own,
        so stated values stay as they were."""
        run = Realisation(self, world, rng, keep_values)
        for node in skeleton.nodes:
            problem = run.add(node)
            if problem:
                raise Unrealizable(problem)
        return run


class Realisation:
    def __init__(self, realiser: Realiser, world: dict, rng: np.random.Generator, keep_values: bool = False):
        self.realiser, self.world, self.rng = realiser, world, rng
        self.keep_values = keep_values
        self.domain = realiser.domain
        self.state = copy_state(world)
        self.nodes: list[Node] = []
        self.results: list[Any] = []
        self.args: list[Any] = []            # each node's arguments, encoded for the task record
        self.rebound: dict[tuple, Any] = {}  # entity group -> key in the new world
        self.chosen: dict[tuple, int] = {}   # (node, list prefix, slot) -> element index
        self.selectors: dict[tuple, Selector] = {}
        self.literals: list[dict] = []       # per node: id(Lit) -> value
        self.after: list[bytes | None] = []  # per node: the state after it, if it writes
        self.looked_up: list[tuple] = []     # lookups since the last write, which need no repeat

    # -- binding ----------------------------------------------------------------------------------
    def _entity(self, pattern: tuple, key) -> Any:
        node = self.world
        for step in pattern[: first_star(pattern)]:
            node = node[step]
        return node.get(key) if isinstance(node, dict) else None

    def _literal(self, lit: Lit) -> Any:
        if lit.group is None or self.keep_values:
            return lit.value
        matches = self.realiser.expand(self.world, lit.pattern, self.rebound[lit.group])
        if not matches:
            raise Unrealizable("no counterpart in the new world")
        return matches[int(self.rng.integers(len(matches)))][1]

    def concrete(self, pick: Pick) -> tuple:
        prefix = _prefix(pick.path)
        if prefix is None:
            return pick.path
        return prefix[:-1] + (self.chosen[(pick.node, prefix, pick.slot)],) + tuple(pick.path[len(prefix):])

    def _resolve(self, tree: Any, bound: dict) -> Any:
        if isinstance(tree, Lit):
            return bound[id(tree)]
        if isinstance(tree, Pick):
            try:
                return lookup(self.results[tree.node], self.concrete(tree))
            except (KeyError, IndexError, TypeError):
                raise Unrealizable("a picked field is missing") from None
        if isinstance(tree, dict):
            return {k: self._resolve(v, bound) for k, v in tree.items()}
        if isinstance(tree, list):
            return [self._resolve(v, bound) for v in tree]
        return tree

    def _encode(self, tree: Any, bound: dict) -> Any:
        if isinstance(tree, Lit):
            return bound[id(tree)]
        if isinstance(tree, Pick):
            return {"$ref": f"c{tree.node + 1}", "path": list(self.concrete(tree))}
        if isinstance(tree, dict):
            return {k: self._encode(v, bound) for k, v in tree.items()}
        if isinstance(tree, list):
            return [self._encode(v, bound) for v in tree]
        return tree

    def _list(self, producer: int, prefix: tuple) -> list:
        try:
            items = lookup(self.results[producer], prefix[:-1])
        except (KeyError, IndexError, TypeError):
            raise Unrealizable("a picked list is missing") from None
        if not isinstance(items, list) or not items:
            raise Unrealizable("a picked list is empty")
        return items

    # -- growing ----------------------------------------------------------------------------------
    def add(self, node: Node) -> str | None:
        """Execute ``node`` as the next call; None on success, else why it failed (and nothing
        of it is kept)."""
        tool = self.domain.tools.get(node.tool)
        if tool is None:
            return "unknown tool"
        lits = [leaf for leaf in leaves(node.args) if isinstance(leaf, Lit)]
        node_picks = [leaf for leaf in leaves(node.args) if isinstance(leaf, Pick)]
        fresh: dict[tuple, list] = {}            # entity groups this call binds first
        try:
            for lit in [] if self.keep_values else lits:
                if lit.group is not None and lit.group not in self.rebound and lit.group not in fresh:
                    i = first_star(lit.pattern)
                    keys = sorted({p[i] for p, _ in self.realiser.expand(self.world, lit.pattern, None)}, key=str)
                    if not keys:
                        return "no counterpart in the new world"
                    fresh[lit.group] = _ranked(keys, lambda k, p=lit.pattern: self._entity(p, k), lit.profile, self.rng)
            pending: dict[tuple, list] = {}      # list choices this call makes first
            for pick in node_picks:
                prefix = _prefix(pick.path)
                key = (pick.node, prefix, pick.slot)
                if prefix is not None and key not in self.chosen and key not in pending:
                    items = self._list(pick.node, prefix)
                    pending[key] = _ranked(list(range(len(items))), items.__getitem__, pick.profile, self.rng)
        except Unrealizable as exc:
            return exc.reason
        tries = TRIES if (fresh or pending) else 1
        problem = None
        for attempt in range(tries):
            for group, order in fresh.items():
                self.rebound[group] = order[attempt % len(order)]
            for key, order in pending.items():
                self.chosen[key] = order[attempt % len(order)]
            if not self._distinct(pending):
                problem = "not enough distinct list elements"
                continue
            try:
                bound = {id(lit): self._literal(lit) for lit in lits}
                args = self._resolve(node.args, bound)
            except Unrealizable as exc:
                problem = exc.reason
                continue
            encoded = self._encode(node.args, bound)
            if not tool.writes and (node.tool, encoded) in self.looked_up:
                problem = "repeats a lookup"
                continue
            try:
                result = tool(self.state, args)   # a refused call leaves the state as it was
            except ToolError:
                problem = f"{node.tool} refused"
                continue
            self.looked_up = [] if tool.writes else self.looked_up + [(node.tool, encoded)]
            self.nodes.append(node)
            self.results.append(copy_state(result))   # later calls must not change it
            self.literals.append(bound)
            self.args.append(encoded)
            self.after.append(freeze(self.state) if tool.writes else None)
            for key in pending:
                self.selectors[key] = _selector(self._list(*key[:2]), self.chosen[key], key[1], self.rng)
            return None
        for group in fresh:
            del self.rebound[group]
        for key in pending:
            del self.chosen[key]
        return problem

    def _distinct(self, keys) -> bool:
        """Do the slots of each list hold different elements?"""
        for node, prefix, slot in keys:
            mine = self.chosen[(node, prefix, slot)]
            if any(k[:2] == (node, prefix) and k[2] != slot and v == mine for k, v in self.chosen.items()):
                return False
        return True

    # -- the task record --------------------------------------------------------------------------
    def record(self, skeleton: Skeleton, task_id: str) -> dict:
        """The task: ``skeleton`` gives the turns and answers of the nodes added, in order."""
        calls, views = [], []
        for n, node in enumerate(skeleton.nodes):
            answer = self._answer(n, node) if node.answer is not None else None
            calls.append({"id": f"c{n + 1}", "turn": node.turn, "tool": node.tool, "args": self.args[n]})
            views.append(self._view(skeleton, n, node, answer))
        try:
            turns = self.realiser.phrasebook.turns(skeleton, views, self.rng)
        except MissingValue as exc:
            raise Unrealizable(str(exc)) from None
        return {"id": task_id, "domain": skeleton.domain, "initial_state": self.world,
                "turns": turns, "plan": calls, "lineage": skeleton.lineage}

    def gold(self, skeleton: Skeleton, task) -> Gold:
        """The gold of ``task``, the task ``record(skeleton, ...)`` wrote, from this run of its
        calls: the oracle's run through the environment is checked against it."""
        states, state = [], self.world
        for t in range(skeleton.turns):
            writes = [self.after[n] for n, node in enumerate(skeleton.nodes)
                      if node.turn == t and self.after[n] is not None]
            state = thaw(writes[-1]) if writes else state
            states.append(state)
        return gold_from_run(task, {f"c{n + 1}": r for n, r in enumerate(self.results)}, states)

    def _answer(self, n: int, node: Node) -> dict:
        prefix = _prefix(node.answer)
        selector = None
        if prefix is not None:
            key = (n, prefix, 0)
            if key not in self.chosen:
                items = self._list(n, prefix)
                self.chosen[key] = int(self.rng.integers(len(items)))
                asked = node.answer[-1] if node.answer[-1] != STAR else None
                # An element of a list of plain values is named by position: its value is the answer.
                self.selectors[key] = _selector(items, self.chosen[key], prefix, self.rng, asked,
                                                by_value=node.answer[-1] != STAR)
            selector = self.selectors[key]
        path = self.concrete(Pick(n, node.answer))
        try:
            value = lookup(self.results[n], path)
        except (KeyError, IndexError, TypeError):
            raise Unrealizable("the answer field is missing") from None
        if value is None or isinstance(value, dict) or (
                isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value)):
            raise Unrealizable("the answer is not a scalar")
        name = next((str(step) for step in reversed(path) if not isinstance(step, int)), "result")
        field = _singular(name) if path and isinstance(path[-1], int) else name   # ["lines", 0] asks for a line
        return {"field": field, "path": list(path), "selector": selector}

    def _view(self, skeleton: Skeleton, n: int, node: Node, answer: dict | None) -> dict:
        tool = self.domain.tools[node.tool]
        bound = self.literals[n]
        params: dict[str, ParamView] = {}
        for name, tree in node.args.items():
            semantic = tool.parameters["properties"].get(name, {}).get("x-semantic") or name
            first = next(iter(leaves(tree)), None)
            if isinstance(first, Lit):
                value = [bound[id(x)] for x in leaves(tree)] if isinstance(tree, list) else bound[id(first)]
                params[name] = ParamView(name, semantic, "withheld" if first.withheld else "stated", value)
            elif isinstance(first, Pick):
                found = [self.selectors.get((p.node, _prefix(p.path), p.slot)) for p in leaves(tree)
                         if isinstance(p, Pick) and _prefix(p.path)]
                found = [s for s in found if s is not None]
                selector = (found if isinstance(tree, list) else found[0]) if found else None
                producer = skeleton.nodes[first.node]
                params[name] = ParamView(name, semantic, "selected" if selector else "derived", None,
                                         selector, producer.tool, self.domain.tools[producer.tool].writes)
            else:
                params[name] = ParamView(name, semantic, "stated", tree)
        return {"node": n, "tool": node.tool, "turn": node.turn, "writes": tool.writes,
                "params": params, "answer": answer}


def with_turns(nodes: list[Node], cuts: list[int]) -> list[Node]:
    """``nodes`` labelled with turns: turn t holds nodes cuts[t-1]..cuts[t]-1."""
    bounds = [0, *cuts, len(nodes)]
    return [replace(node, turn=t) for t in range(len(bounds) - 1) for node in nodes[bounds[t]:bounds[t + 1]]]


__all__ = ["Realiser", "Realisation", "Unrealizable", "STAR", "with_turns"]
