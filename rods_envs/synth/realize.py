"""Realise a plan on a world: bind every value, execute forward, and write the task record.

A ``Realisation`` grows one call at a time (``add``), so a walk can try another tool when a call
is refused, and a skeleton is realised by adding its nodes in order. Literals of one group are
rebound to one entity of the new world; a ``*`` in a pick is a list element. Such choices are
tried best-first (most like the seed's entity or element) until the call succeeds. Every chosen
element gets a selector, a field whose value singles it out in its list, for the user to
describe it by.
"""

from __future__ import annotations

import marshal
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..checker import Gold, gold_from_run
from ..domain import Domain
from ..plan import lookup
from ..state import copy_state, freeze, thaw
from ..tool import ToolError
from .draws import in_random_order
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


def _selector(items: list, k: int, prefix: tuple, rng, asked: str | None = None,
              by_value: bool = True) -> Selector:
    """How to single out ``items[k]``: a field whose value no other element shares (never the
    field being asked for), else its position."""
    noun = _singular(prefix[-2]) if len(prefix) > 1 else "item"
    element = items[k]
    if isinstance(element, dict):
        candidates = {f: v for f, v in element.items() if isinstance(v, (str, int)) and not isinstance(v, bool)
                      and f != asked and str(v).strip()}
        shared = set()       # fields whose value another element has too
        for j, other in enumerate(items):
            if j != k and isinstance(other, dict):
                shared.update(f for f, v in candidates.items() if f not in shared and f in other and other[f] == v)
        unique = [f for f in candidates if f not in shared]
        plain = [f for f in unique if not f.endswith("id")]
        chosen = plain or unique
        if chosen:
            f = chosen[int(rng.integers(len(chosen)))]
            return Selector(noun, f, element[f], k + 1)
        return Selector(noun, None, None, k + 1)
    if not by_value or sum(1 for other in items if other == element) > 1:
        return Selector(noun, None, None, k + 1)
    return Selector(noun, "", element, k + 1)


def tellable(value: Any) -> bool:
    """Can the user be told ``value``: a scalar, or a list of scalars?"""
    return value is not None and not isinstance(value, dict) and not (
        isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value))


def _likeness(entity: Any, wanted: tuple) -> int:
    """How many of the plain fields ``wanted`` (sorted items) ``entity`` shares."""
    if not isinstance(entity, dict):
        return 0
    get = entity.get
    return sum(1 for k, v in wanted if get(k) == v)


def _buckets(candidates: list, score) -> list[list]:
    """``candidates`` grouped by ``score``, highest first, each group in candidate order
    (None: one group)."""
    if score is None:
        return [candidates]
    by_score: dict = {}
    for candidate in candidates:
        by_score.setdefault(score(candidate), []).append(candidate)
    return [by_score[k] for k in sorted(by_score, reverse=True)]


def _take(buckets: list[list], rng, limit: int) -> list:
    """The first ``limit`` candidates, best bucket first, each bucket shuffled apart and only as
    far as needed (a call tries at most ``limit`` of them)."""
    out: list = []
    for bucket in buckets:
        for k in in_random_order(rng, len(bucket)):
            if len(out) == limit:
                return out
            out.append(bucket[k])
    return out


def _ranked(candidates: list, entity_of, seen: tuple, rng, limit: int | None = None) -> list:
    """``candidates`` shuffled, then ordered by how many plain fields they share with ``seen``
    (the first ``limit`` of them)."""
    score = (lambda candidate: _likeness(entity_of(candidate), seen)) if seen else None
    return _take(_buckets(candidates, score), rng, len(candidates) if limit is None else limit)


class Realiser:
    """Shared by a synthesizer's realisations: the domain, the phrasebook, and what can be
    worked out once per world (worlds come from a pool and are never modified)."""

    def __init__(self, domain: Domain, phrasebook: Phrasebook):
        self.domain, self.phrasebook = domain, phrasebook
        self._matches: dict[tuple, list] = {}
        self._keys: dict[tuple, list] = {}
        self._ranked: dict[tuple, list] = {}
        self._blobs: dict[int, tuple[dict, bytes]] = {}   # holds the world, so its id stays its own

    def blob(self, world: dict) -> bytes:
        """``world`` frozen, once: each realisation starts from a thawed copy."""
        entry = self._blobs.get(id(world))
        if entry is None:
            entry = self._blobs[id(world)] = (world, freeze(world))
        return entry[1]

    def known_blob(self, world: dict) -> bytes | None:
        """``world`` frozen, if it is a world realised on (an equal copy of it, thawed)."""
        entry = self._blobs.get(id(world))
        return entry[1] if entry is not None and entry[0] is world else None

    def expand(self, world: dict, pattern: tuple, key) -> list:
        """Matches of ``pattern`` in ``world`` with its first ``*`` pinned to ``key`` (if given)."""
        memo = (id(world), pattern, key)
        found = self._matches.get(memo)
        if found is None:
            self.blob(world)      # keeps the world alive, so no other world can take its id
            fixed = {} if key is None else {first_star(pattern): key}
            found = self._matches[memo] = expand(world, pattern, fixed)
        return found

    def entity_keys(self, world: dict, lit: Lit) -> list:
        """The keys of the entities ``lit``'s pattern can be rebound to in ``world``, sorted."""
        memo = (id(world), lit.pattern)
        keys = self._keys.get(memo)
        if keys is None:
            i = lit.star
            keys = self._keys[memo] = sorted({p[i] for p, _ in self.expand(world, lit.pattern, None)}, key=str)
        return keys

    def ranked_entities(self, world: dict, lit: Lit, rng, limit: int) -> list:
        """The first ``limit`` entity keys for ``lit``, shuffled, then most like the seed's
        entity first."""
        memo = (id(world), lit.pattern, lit.profile)
        buckets = self._ranked.get(memo)
        if buckets is None:       # the keys grouped by likeness: fixed per world and profile
            keys = self.entity_keys(world, lit)
            if lit.profile:
                table = world
                for step in lit.pattern[: lit.star]:
                    table = table[step]
                get = table.get if isinstance(table, dict) else (lambda key: None)
                buckets = _buckets(keys, lambda key: _likeness(get(key), lit.profile))
            else:
                buckets = [keys]
            buckets = self._ranked[memo] = buckets
        return _take(buckets, rng, limit)

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
        self.state = thaw(realiser.blob(world))
        self.nodes: list[Node] = []
        self.results: list[Any] = []
        self.args: list[Any] = []            # each node's arguments, encoded for the task record
        self.rebound: dict[tuple, Any] = {}  # entity group -> key in the new world
        self.chosen: dict[tuple, int] = {}   # (node, list prefix, slot) -> element index
        self.selectors: dict[tuple, Selector] = {}
        self.literals: list[dict] = []       # per node: id(Lit) -> value
        self.after: list[bytes | None] = []  # per node: the state after it, if it writes
        self.changed: list[bool] = []        # per node: did it change the state (as far as is known)?
        self.looked_up: list[tuple] = []     # lookups since the last write, which need no repeat
        # Calls refused since the last call that went through. A tool is a function of the state
        # and its arguments and a refusal leaves the state as it was, so the same call would be
        # refused again: retries and later proposals skip it instead of running it.
        self.refused: set = set()
        self._last = realiser.blob(world)    # the state as of the last write, frozen
        self._thawed: dict[int, dict] = {}   # node -> the state after it, thawed once
        self._lent = False                   # is ``state`` itself in ``_thawed`` (see _state_after)?
        self._undo: list[tuple] = []         # per node: what ``pop`` restores
        self.dead_ends: set = set()          # (position, call) taken back by ``pop``: not again

    # -- binding ----------------------------------------------------------------------------------
    def _literal(self, lit: Lit) -> Any:
        if lit.group is None or self.keep_values:
            return lit.value
        matches = self.realiser.expand(self.world, lit.pattern, self.rebound[lit.group])
        if len(matches) == 1:
            return matches[0][1]
        if not matches:
            raise Unrealizable("no counterpart in the new world")
        self._varied = True
        return matches[int(self.rng.integers(len(matches)))][1]

    def concrete(self, pick: Pick) -> tuple:
        prefix = pick.prefix
        if prefix is None:
            return pick.path
        return prefix[:-1] + (self.chosen[pick.choice],) + tuple(pick.path[len(prefix):])

    def _bind(self, tree: Any, bound: dict) -> tuple[Any, Any]:
        """(the value to call with, the value as the task record writes it) for an argument tree."""
        kind = type(tree)
        if kind is Lit:
            value = bound[id(tree)]
            return value, value
        if kind is Pick:
            path = self.concrete(tree)
            try:
                value = lookup(self.results[tree.node], path)
            except (KeyError, IndexError, TypeError):
                raise Unrealizable("a picked field is missing") from None
            return value, {"$ref": f"c{tree.node + 1}", "path": list(path)}
        if kind is dict:
            args, encoded = {}, {}
            for k, v in tree.items():
                args[k], encoded[k] = self._bind(v, bound)
            return args, encoded
        if kind is list:
            pairs = [self._bind(v, bound) for v in tree]
            return [a for a, _ in pairs], [e for _, e in pairs]
        return tree, tree

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
        lits = node.lits
        rebound, chosen = self.rebound, self.chosen
        fresh: dict[tuple, list] = {}            # entity groups this call binds first
        pending: dict[tuple, list] = {}          # list choices this call makes first
        try:
            if not self.keep_values:
                for lit in lits:
                    group = lit.group
                    if group is not None and group not in rebound and group not in fresh:
                        if not self.realiser.entity_keys(self.world, lit):
                            return "no counterpart in the new world"
                        fresh[group] = self.realiser.ranked_entities(self.world, lit, self.rng, TRIES)
            for pick in node.picks:
                key = pick.choice
                if key is not None and key not in chosen and key not in pending:
                    items = self._list(pick.node, pick.prefix)
                    pending[key] = _ranked(range(len(items)), items.__getitem__, pick.profile, self.rng, TRIES)
        except Unrealizable as exc:
            return exc.reason
        tries = TRIES if (fresh or pending) else 1
        # Try k binds the k-th choice of every order (cycling), so after as many tries as the
        # orders' common period the same calls come round again; unless a literal was drawn at
        # random among several values, the tries stop there.
        period = math.lcm(*map(len, fresh.values()), *map(len, pending.values()))
        self._varied = False
        problem = None
        for attempt in range(tries):
            if attempt >= period and not self._varied:
                break
            for group, order in fresh.items():
                rebound[group] = order[attempt % len(order)]
            for key, order in pending.items():
                chosen[key] = order[attempt % len(order)]
            if pending and not self._distinct(pending):
                problem = "not enough distinct list elements"
                continue
            try:
                bound = {id(lit): self._literal(lit) for lit in lits}
                args, encoded = self._bind(node.args, bound)
            except Unrealizable as exc:
                problem = exc.reason
                continue
            if not tool.writes and (node.tool, encoded) in self.looked_up:
                problem = "repeats a lookup"
                continue
            call = (node.tool, marshal.dumps(args))
            if call in self.refused:
                problem = f"{node.tool} refused"
                continue
            if (len(self.nodes), call) in self.dead_ends:
                problem = "a dead end"
                continue
            if self._lent and tool.writes:    # the live state is a gold state now: write on a copy
                self.state, self._lent = thaw(self._last), False
            try:
                result = tool.attempt(self.state, args)   # a refused call leaves the state as it was
            except ToolError:
                self.refused.add(call)
                problem = f"{node.tool} refused"
                continue
            self._undo.append((tuple(fresh), tuple(pending), self.looked_up, self._last, call))
            self.refused = set()
            self.looked_up = [] if tool.writes else self.looked_up + [(node.tool, encoded)]
            self.nodes.append(node)
            self.results.append(copy_state(result))   # later calls must not change it
            self.literals.append(bound)
            self.args.append(encoded)
            after = freeze(self.state) if tool.writes else None
            self.after.append(after)
            # Equal bytes are equal states; unequal ones may still be equal states (``settle``).
            self.changed.append(after is not None and after != self._last)
            self._last = after or self._last
            for key in pending:
                self.selectors[key] = _selector(self._list(*key[:2]), chosen[key], key[1], self.rng)
            return None
        for group in fresh:
            del rebound[group]
        for key in pending:
            del chosen[key]
        return problem

    def pop(self) -> Node:
        """Take back the last call added: the state and every choice it made are as before it,
        and the same call is not added at that position again."""
        fresh, pending, self.looked_up, last, call = self._undo.pop()
        n = len(self.nodes) - 1
        self.dead_ends.add((n, call))
        for group in fresh:
            del self.rebound[group]
        for key in pending:
            del self.chosen[key]
            self.selectors.pop(key, None)
        if self.after[n] is not None:      # it wrote: go back to the state frozen before it
            self.state, self._lent = thaw(last), False
        self._last = last
        self.refused = set()
        self._thawed.pop(n, None)
        for kept in (self.results, self.literals, self.args, self.after, self.changed):
            kept.pop()
        return self.nodes.pop()

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
            writes = [n for n, node in enumerate(skeleton.nodes) if node.turn == t and self.after[n] is not None]
            state = self._state_after(writes[-1]) if writes else state
            states.append(state)
        return gold_from_run(task, {f"c{n + 1}": r for n, r in enumerate(self.results)}, states)

    def _state_after(self, n: int) -> dict:
        if n not in self._thawed:
            if self.after[n] is self._last:   # the last write: the live state is that state
                self._thawed[n], self._lent = self.state, True
            else:
                self._thawed[n] = thaw(self.after[n])
        return self._thawed[n]

    def settle(self) -> None:
        """Make ``changed`` exact: equal states can freeze to different bytes (marshal notes
        shared objects), so a write that changed nothing is found by comparing the states."""
        before = self.world
        for n, blob in enumerate(self.after):
            if blob is not None:
                after = self._state_after(n)
                self.changed[n] = after != before
                before = after

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
        if not tellable(value):
            raise Unrealizable("the answer is not a scalar")
        name = next((str(step) for step in reversed(path) if not isinstance(step, int)), "result")
        field = _singular(name) if path and isinstance(path[-1], int) else name   # ["lines", 0] asks for a line
        return {"field": field, "path": list(path), "selector": selector}

    def _view(self, skeleton: Skeleton, n: int, node: Node, answer: dict | None) -> dict:
        tool = self.domain.tools[node.tool]
        bound = self.literals[n]
        properties = tool.parameters["properties"]
        params: dict[str, ParamView] = {}
        for name, tree in node.args.items():
            semantic = properties.get(name, {}).get("x-semantic") or name
            found = leaves(tree)
            first = found[0] if found else None
            if type(first) is Lit:
                value = [bound[id(x)] for x in found] if isinstance(tree, list) else bound[id(first)]
                params[name] = ParamView(name, semantic, "withheld" if first.withheld else "stated", value)
            elif type(first) is Pick:
                chosen = [self.selectors.get(p.choice) for p in found if type(p) is Pick and p.prefix]
                chosen = [s for s in chosen if s is not None]
                selector = (chosen if isinstance(tree, list) else chosen[0]) if chosen else None
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
