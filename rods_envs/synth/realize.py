"""Realise a skeleton on a world: bind every value, execute forward, and write the task record.

Literals of one group are rebound to one entity of the new world; a ``*`` in a pick is a list
element, and the realiser tries candidates in random order until the consuming call succeeds
(so "cancel the pending order" finds an order that can be cancelled). Each chosen element gets a
selector, a field whose value singles it out in its list, for the user to describe it by.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..domain import Domain
from ..plan import lookup
from ..state import copy_state
from ..tool import ToolError
from .patterns import STAR, expand, first_star
from .phrasing import MissingValue, ParamView, Phrasebook
from .skeleton import Lit, Pick, Skeleton, leaves

TRIES = 8


class Unrealizable(Exception):
    """The skeleton cannot be realised on this world; ``reason`` says why (for the counters)."""

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
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _selector(items: list, k: int, noun: str, rng: np.random.Generator) -> Selector:
    element = items[k]
    if isinstance(element, dict):
        unique = [f for f, v in element.items() if isinstance(v, (str, int)) and not isinstance(v, bool)
                  and sum(1 for other in items if isinstance(other, dict) and other.get(f) == v) == 1]
        plain = [f for f in unique if not f.endswith("id")]
        chosen = plain or unique
        if chosen:
            f = chosen[int(rng.integers(len(chosen)))]
            return Selector(noun, f, element[f], k + 1)
        return Selector(noun, None, None, k + 1)
    return Selector(noun, "", element, k + 1)


def _entity(world: dict, pattern: tuple, key) -> Any:
    node = world
    for step in pattern[: first_star(pattern)]:
        node = node[step]
    return node.get(key) if isinstance(node, dict) else None


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
    def __init__(self, domain: Domain, phrasebook: Phrasebook):
        self.domain, self.phrasebook = domain, phrasebook
        self._matches: dict[tuple, list] = {}

    def _expand(self, world: dict, pattern: tuple, key) -> list:
        """Matches of ``pattern`` in ``world`` with its first ``*`` pinned to ``key`` (if given).
        Memoised: worlds are reused from a pool and never modified."""
        memo = (id(world), pattern, key)
        if memo not in self._matches:
            fixed = {} if key is None else {first_star(pattern): key}
            self._matches[memo] = expand(world, pattern, fixed)
        return self._matches[memo]

    def realise(self, skeleton: Skeleton, world: dict, rng: np.random.Generator, task_id: str) -> dict:
        state = copy_state(world)
        rebound: dict[tuple, Any] = {}
        chosen: dict[tuple, int] = {}          # (node, list prefix) -> element index
        selectors: dict[tuple, Selector] = {}
        results: list[Any] = []
        calls, views = [], []

        def group_keys(lit: Lit) -> list:
            i = first_star(lit.pattern)
            return sorted({path[i] for path, _ in self._expand(world, lit.pattern, None)}, key=str)

        def literal(lit: Lit) -> Any:
            if lit.group is None:
                return lit.value
            matches = self._expand(world, lit.pattern, rebound[lit.group])
            if not matches:
                raise Unrealizable("no counterpart in the new world")
            return matches[int(rng.integers(len(matches)))][1]

        def concrete_path(pick: Pick) -> tuple:
            prefix = _prefix(pick.path)
            if prefix is None:
                return pick.path
            k = chosen[(pick.node, prefix)]
            return prefix[:-1] + (k,) + tuple(pick.path[len(prefix):])

        def resolve(tree: Any) -> Any:
            if isinstance(tree, Lit):
                return bound_literals[id(tree)]
            if isinstance(tree, Pick):
                try:
                    return lookup(results[tree.node], concrete_path(tree))
                except (KeyError, IndexError, TypeError):
                    raise Unrealizable("a picked field is missing") from None
            if isinstance(tree, dict):
                return {k: resolve(v) for k, v in tree.items()}
            if isinstance(tree, list):
                return [resolve(v) for v in tree]
            return tree

        def encode(tree: Any) -> Any:
            if isinstance(tree, Lit):
                return bound_literals[id(tree)]
            if isinstance(tree, Pick):
                return {"$ref": f"c{tree.node + 1}", "path": list(concrete_path(tree))}
            if isinstance(tree, dict):
                return {k: encode(v) for k, v in tree.items()}
            if isinstance(tree, list):
                return [encode(v) for v in tree]
            return tree

        def open_choices(node_index: int, paths) -> list[tuple]:
            out = []
            for producer, path in paths:
                prefix = _prefix(path)
                if prefix is not None and (producer, prefix) not in chosen and (producer, prefix) not in out:
                    out.append((producer, prefix))
            return out

        def list_at(producer: int, prefix: tuple) -> list:
            try:
                items = lookup(results[producer], prefix[:-1])
            except (KeyError, IndexError, TypeError):
                raise Unrealizable("a picked list is missing") from None
            if not isinstance(items, list) or not items:
                raise Unrealizable("a picked list is empty")
            return items

        for n, node in enumerate(skeleton.nodes):
            tool = self.domain.tools.get(node.tool)
            if tool is None:
                raise Unrealizable("unknown tool")
            lits = [leaf for leaf in leaves(node.args) if isinstance(leaf, Lit)]
            fresh = {}                       # entity groups first bound by this call
            fresh_pattern = {}
            for lit in lits:
                if lit.group is not None and lit.group not in rebound and lit.group not in fresh:
                    fresh[lit.group] = group_keys(lit)
                    fresh_pattern[lit.group] = lit.pattern
                    if not fresh[lit.group]:
                        raise Unrealizable("no counterpart in the new world")
            node_picks = [p for p in leaves(node.args) if isinstance(p, Pick)]
            pending = open_choices(n, [(p.node, p.path) for p in node_picks])
            # Choices made here (entities, list elements) are tried best-first, most like the
            # seed's, until the call succeeds.
            profiles = {g: next(l.profile for l in lits if l.group == g) for g in fresh}
            ranked_groups = {g: _ranked(keys, lambda k, g=g: _entity(world, fresh_pattern[g], k), profiles[g], rng)
                             for g, keys in fresh.items()}
            ranked_picks = {}
            for key in pending:
                items = list_at(*key)
                seen = next((p.profile for p in node_picks if (p.node, _prefix(p.path)) == key), ())
                ranked_picks[key] = _ranked(list(range(len(items))), lambda k, items=items: items[k], seen, rng)
            tries = TRIES if (pending or fresh) else 1
            for attempt in range(tries):
                for group, order in ranked_groups.items():
                    rebound[group] = order[attempt % len(order)]
                for key, order in ranked_picks.items():
                    chosen[key] = order[attempt % len(order)]
                last = attempt == tries - 1
                try:
                    bound_literals = {id(leaf): literal(leaf) for leaf in lits}
                except Unrealizable:
                    if last:
                        raise
                    continue
                args = resolve(node.args)
                try:
                    result = tool(state, args)   # a refused call leaves the state as it was
                    break
                except ToolError:
                    if last:
                        raise Unrealizable(f"{node.tool} refused") from None
            results.append(json.loads(json.dumps(result)))
            for key in pending:
                items = list_at(*key)
                selectors[key] = _selector(items, chosen[key], _singular(key[1][-2] if len(key[1]) > 1 else "item"), rng)
            answer_path = None
            if node.answer is not None:
                for key in open_choices(n, [(n, node.answer)]):
                    items = list_at(*key)
                    chosen[key] = int(rng.integers(len(items)))
                    selectors[key] = _selector(items, chosen[key], _singular(key[1][-2] if len(key[1]) > 1 else "item"), rng)
                answer_path = concrete_path(Pick(n, node.answer))
                try:
                    value = lookup(results[n], answer_path)
                except (KeyError, IndexError, TypeError):
                    raise Unrealizable("the answer field is missing") from None
                if isinstance(value, (dict, type(None))) or (isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value)):
                    raise Unrealizable("the answer is not a scalar")
            calls.append({"id": f"c{n + 1}", "turn": node.turn, "tool": node.tool, "args": encode(node.args)})
            views.append(self._view(skeleton, n, node, bound_literals, selectors, answer_path))

        try:
            turns = self.phrasebook.turns(skeleton, views, rng)
        except MissingValue as exc:
            raise Unrealizable(str(exc)) from None
        record = {"id": task_id, "domain": skeleton.domain, "initial_state": world,
                  "turns": turns, "plan": calls, "lineage": skeleton.lineage}
        return record

    def _view(self, skeleton, n, node, bound, selectors, answer_path) -> dict:
        tool = self.domain.tools[node.tool]
        params: dict[str, ParamView] = {}
        for name, tree in node.args.items():
            semantic = tool.parameters["properties"].get(name, {}).get("x-semantic") or name
            first = next(iter(leaves(tree)), None)
            if isinstance(first, Lit):
                params[name] = ParamView(name, semantic, "withheld" if first.withheld else "stated",
                                         bound[id(first)] if not isinstance(tree, list) else [bound[id(x)] for x in leaves(tree)])
            elif isinstance(first, Pick):
                prefix = _prefix(first.path)
                selector = selectors.get((first.node, prefix)) if prefix else None
                producer = skeleton.nodes[first.node]
                params[name] = ParamView(name, semantic, "selected" if selector else "derived", None,
                                         selector, producer.tool, self.domain.tools[producer.tool].writes)
            else:
                params[name] = ParamView(name, semantic, "stated", tree)
        answer = None
        if answer_path is not None:
            key = next(((n, tuple(node.answer[: i + 1])) for i, s in enumerate(node.answer) if s == STAR), None)
            answer = {"field": str(answer_path[-1]) if answer_path else "result",
                      "path": list(answer_path), "selector": selectors.get(key) if key else None}
        return {"node": n, "tool": node.tool, "turn": node.turn, "writes": tool.writes,
                "params": params, "answer": answer}
