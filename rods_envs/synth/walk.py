"""Skill-aligned resampling: new plans that match a seed's signature, walked on the API graph and
executed forward on the new world as they grow.

The walk starts at a tool whose inputs the user can state, then follows API-graph edges, each
call consuming a value the previous one produced, until the seed's depth is reached; more calls
branch off without deepening the plan. Every proposed call is executed at once, so a refused one
is replaced by another proposal instead of sinking the whole plan. The calls are then cut into the
seed's number of turns, in order. Targets: the seed's depth and turn count, a call count within
one of the seed's, and the same set of tool categories.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import replace

import numpy as np

from ..domain import Domain
from ..tool import SEMANTIC
from .mutations import LiteralPool, answer_fields, answer_for, bind_rest, fields_of_type
from .realize import Realisation, Realiser
from .skeleton import Node, Pick, Skeleton

PROPOSALS = 6   # proposals per position before the walk gives up


_LINKS: dict[tuple[int, str], list] = {}


def _links(domain: Domain, producer) -> list[tuple]:
    """(tool, [(parameter, result path)]) for every API-graph successor of ``producer``: where a
    produced value can flow. Fixed by the schemas, so computed once per tool."""
    memo = (id(domain), producer.name)
    if memo not in _LINKS:
        links = []
        for name in domain.api_graph.successors(producer.name):
            tool = domain.tools[name]
            options = [(param, path) for param, schema in tool.parameters["properties"].items()
                       if schema.get(SEMANTIC) in producer.produces and schema.get("type") in ("string", "integer")
                       for path in fields_of_type(producer.result, schema[SEMANTIC])]
            if options:
                links.append((tool, options))
        _LINKS[memo] = links
    return _LINKS[memo]


_REACH: dict[tuple, bool] = {}


def _reaches(domain: Domain, tool, levels: int, categories: frozenset) -> bool:
    """Is there a chain of ``levels`` more links from ``tool`` through tools of ``categories``?
    The spine of a walk only takes tools that can still reach the seed's depth."""
    if levels <= 0:
        return True
    memo = (id(domain), tool.name, levels, categories)
    if memo not in _REACH:
        _REACH[memo] = any(nxt.category in categories and _reaches(domain, nxt, levels - 1, categories)
                           for nxt, _ in _links(domain, tool))
    return _REACH[memo]


def _child(domain: Domain, parent: Node, parent_index: int, pool: LiteralPool, rng,
           categories: frozenset, levels: int = 0) -> Node | None:
    """A call of one of ``categories`` consuming something ``parent`` produced, along an
    API-graph edge, from which ``levels`` more links can follow."""
    links = [link for link in _links(domain, domain.tools[parent.tool])
             if link[0].category in categories and _reaches(domain, link[0], levels, categories)]
    for k in rng.permutation(len(links)):
        tool, options = links[int(k)]
        param, path = options[int(rng.integers(len(options)))]
        args = bind_rest(tool, {param: Pick(parent_index, path)}, pool, rng)
        if args is not None:
            return Node(tool.name, 0, args, None)
    return None


def _root(domain: Domain, pool: LiteralPool, rng, categories: frozenset, levels: int = 0) -> Node | None:
    """A call of one of ``categories`` whose every input the user can state, from which
    ``levels`` more links can follow."""
    tools = [tool for tool in domain.tools.values()
             if tool.category in categories and _reaches(domain, tool, levels, categories)]
    for k in rng.permutation(len(tools)):
        tool = tools[int(k)]
        args = bind_rest(tool, {}, pool, rng)
        if args is not None:
            return Node(tool.name, 0, args, None)
    return None


def _grow(run: Realisation, propose) -> bool:
    for _ in range(PROPOSALS):
        node = propose()
        if node is not None and run.add(node) is None:
            return True
    return False


def _cuts(domain: Domain, nodes: list[Node], turns: int, rng) -> list[int] | None:
    """Where to cut ``nodes`` into ``turns`` turns: uniformly at random among the cuts that leave
    every turn a write or a closing read that can owe the user an answer (counted, not listed)."""
    tools = [domain.tools[n.tool] for n in nodes]
    writes = list(itertools.accumulate((t.writes for t in tools), initial=0))
    closes = [bool(answer_fields(t.result)) for t in tools]
    n = len(nodes)

    def fine(a: int, b: int) -> bool:
        return writes[b] > writes[a] or closes[b - 1]

    @functools.cache
    def ways(start: int, left: int) -> int:      # cuttings of nodes[start:] into ``left`` fine turns
        if left == 1:
            return int(fine(start, n))
        return sum(ways(end, left - 1) for end in range(start + 1, n) if fine(start, end))

    if ways(0, turns) == 0:
        return None
    cuts, start = [], 0
    for left in range(turns, 1, -1):
        ends = [end for end in range(start + 1, n) if fine(start, end) and ways(end, left - 1)]
        weights = np.array([ways(end, left - 1) for end in ends], dtype=float)
        start = ends[int(rng.choice(len(ends), p=weights / weights.sum()))]
        cuts.append(start)
    return cuts


def walk_like(signature: dict, categories: set, domain: Domain, pool: LiteralPool, realiser: Realiser,
              world: dict, rng: np.random.Generator, lineage: dict) -> tuple[Skeleton, Realisation] | None:
    depth, turns = signature["depth"], signature["turns"]
    categories = frozenset(categories)
    low = max(depth, turns, signature["calls"] - 1)
    calls = int(rng.integers(low, max(low, signature["calls"] + 1) + 1))
    run = Realisation(realiser, world, rng)
    depths: list[int] = []

    def wanted() -> frozenset:
        # Once the calls left are as few as the categories not yet used, only those will do.
        missing = categories - {domain.tools[n.tool].category for n in run.nodes}
        return frozenset(missing) if len(missing) >= calls - len(run.nodes) else categories

    if not _grow(run, lambda: _root(domain, pool, rng, wanted(), depth - 1)):
        return None
    depths.append(1)
    while len(run.nodes) < depth:          # the spine reaches the seed's depth
        last, levels = len(run.nodes) - 1, depth - len(run.nodes) - 1
        if not _grow(run, lambda: _child(domain, run.nodes[last], last, pool, rng, categories, levels)):
            return None
        depths.append(len(run.nodes))
    while len(run.nodes) < calls:          # branches that do not deepen the plan
        parents = [i for i, d in enumerate(depths) if d < depth]
        if parents and rng.random() < 0.6:
            parent = parents[int(rng.integers(len(parents)))]
            if not _grow(run, lambda: _child(domain, run.nodes[parent], parent, pool, rng, wanted())):
                return None
            depths.append(depths[parent] + 1)
        else:
            if not _grow(run, lambda: _root(domain, pool, rng, wanted())):
                return None
            depths.append(1)
    nodes = run.nodes
    cuts = _cuts(domain, nodes, turns, rng)
    if cuts is None:
        return None
    bounds = [0, *cuts, len(nodes)]
    placed = []
    for t in range(turns):
        segment = nodes[bounds[t]:bounds[t + 1]]
        writes = any(domain.tools[n.tool].writes for n in segment)
        for k, node in enumerate(segment):
            tool = domain.tools[node.tool]
            must = k == len(segment) - 1 and not writes       # a turn of reads owes an answer
            answer = answer_for(tool, rng) if not tool.writes and (must or rng.random() < 0.2) else None
            placed.append(replace(node, turn=t, answer=answer))
    if {domain.tools[n.tool].category for n in placed} != categories:
        return None
    return Skeleton(domain.name, tuple(placed), turns, lineage), run
