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

from dataclasses import replace

import numpy as np

from ..domain import Domain
from ..tool import SEMANTIC
from .mutations import LiteralPool, bind_rest, answer_for, fields_of_type
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


def _child(domain: Domain, parent: Node, parent_index: int, pool: LiteralPool, rng) -> Node | None:
    """A call consuming something ``parent`` produced, along an API-graph edge."""
    links = _links(domain, domain.tools[parent.tool])
    for k in rng.permutation(len(links)):
        tool, options = links[int(k)]
        param, path = options[int(rng.integers(len(options)))]
        args = bind_rest(tool, {param: Pick(parent_index, path)}, pool, rng)
        if args is not None:
            return Node(tool.name, 0, args, None)
    return None


def _root(domain: Domain, pool: LiteralPool, rng) -> Node | None:
    """A call whose every input the user can state."""
    tools = list(domain.tools.values())
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


def walk_like(signature: dict, categories: set, domain: Domain, pool: LiteralPool, realiser: Realiser,
              world: dict, rng: np.random.Generator, lineage: dict) -> tuple[Skeleton, Realisation] | None:
    depth, turns = signature["depth"], signature["turns"]
    low = max(depth, turns, signature["calls"] - 1)
    calls = int(rng.integers(low, max(low, signature["calls"] + 1) + 1))
    run = Realisation(realiser, world, rng)
    depths: list[int] = []
    if not _grow(run, lambda: _root(domain, pool, rng)):
        return None
    depths.append(1)
    while len(run.nodes) < depth:          # the spine reaches the seed's depth
        last = len(run.nodes) - 1
        if not _grow(run, lambda: _child(domain, run.nodes[last], last, pool, rng)):
            return None
        depths.append(len(run.nodes))
    while len(run.nodes) < calls:          # branches that do not deepen the plan
        parents = [i for i, d in enumerate(depths) if d < depth]
        if parents and rng.random() < 0.6:
            parent = parents[int(rng.integers(len(parents)))]
            if not _grow(run, lambda: _child(domain, run.nodes[parent], parent, pool, rng)):
                return None
            depths.append(depths[parent] + 1)
        else:
            if not _grow(run, lambda: _root(domain, pool, rng)):
                return None
            depths.append(1)
    nodes = run.nodes
    cuts = sorted(int(c) for c in rng.choice(np.arange(1, len(nodes)), size=turns - 1, replace=False)) \
        if turns > 1 else []
    bounds = [0, *cuts, len(nodes)]
    placed = []
    for t in range(turns):
        segment = nodes[bounds[t]:bounds[t + 1]]
        writes = any(domain.tools[n.tool].writes for n in segment)
        for k, node in enumerate(segment):
            tool = domain.tools[node.tool]
            must = k == len(segment) - 1 and not writes       # a turn of reads owes an answer
            answer = answer_for(tool, rng) if not tool.writes and (must or rng.random() < 0.2) else None
            if must and answer is None:
                return None
            placed.append(replace(node, turn=t, answer=answer))
    if {domain.tools[n.tool].category for n in placed} != categories:
        return None
    return Skeleton(domain.name, tuple(placed), turns, lineage), run
