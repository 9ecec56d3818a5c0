"""Skill-aligned resampling: new plans that match a seed's signature, from walks on the API graph.

A walk starts at a tool whose inputs the user can state, and follows API-graph edges, each step
consuming a value the previous call produced, until the seed's depth is reached; further calls
branch off the walk without deepening it. The calls are then cut into the seed's number of turns
in order. The target is the seed's depth and turn count, a call count within one of the seed's,
and the same set of tool categories.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..domain import Domain
from ..tool import SEMANTIC
from .mutations import LiteralPool, _bind_rest, _with_answer, fields_of_type
from .skeleton import Node, Pick, Skeleton, map_leaves


def _step(domain: Domain, parent: Node, parent_index: int, pool: LiteralPool, rng) -> Node | None:
    producer = domain.tools[parent.tool]
    successors = list(domain.api_graph.successors(producer.name))
    rng.shuffle(successors)
    for name in successors:
        tool = domain.tools[name]
        options = [(param, path) for param, schema in tool.parameters["properties"].items()
                   if schema.get(SEMANTIC) in producer.produces and schema.get("type") in ("string", "integer")
                   for path in fields_of_type(producer.result, schema[SEMANTIC])]
        if not options:
            continue
        param, path = options[int(rng.integers(len(options)))]
        args = _bind_rest(tool, {param: Pick(parent_index, path)}, pool, rng)
        if args is not None:
            return Node(tool.name, 0, args, None)
    return None


def _root(domain: Domain, pool: LiteralPool, rng) -> Node | None:
    tools = list(domain.tools.values())
    for k in rng.permutation(len(tools)):
        tool = tools[int(k)]
        args = _bind_rest(tool, {}, pool, rng)
        if args is not None:
            return Node(tool.name, 0, args, None)
    return None


def walk_like(signature: dict, categories: set, domain: Domain, pool: LiteralPool,
              rng: np.random.Generator, lineage: dict) -> Skeleton | None:
    depth, turns = signature["depth"], signature["turns"]
    low = max(depth, turns, signature["calls"] - 1)
    calls = int(rng.integers(low, max(low, signature["calls"] + 1) + 1))
    nodes: list[Node] = []
    root = _root(domain, pool, rng)
    if root is None:
        return None
    nodes, depths = [root], [1]
    while len(nodes) < depth:              # the spine reaches the seed's depth
        nxt = _step(domain, nodes[-1], len(nodes) - 1, pool, rng)
        if nxt is None:
            return None
        nodes.append(nxt)
        depths.append(len(nodes))
    while len(nodes) < calls:              # branches that do not deepen the plan
        parents = [i for i, d in enumerate(depths) if d < depth]
        if parents and rng.random() < 0.6:
            parent = parents[int(rng.integers(len(parents)))]
            extra = _step(domain, nodes[parent], parent, pool, rng)
            if extra is None:
                return None
            nodes.append(extra)
            depths.append(depths[parent] + 1)
        else:
            extra = _root(domain, pool, rng)
            if extra is None:
                return None
            nodes = [extra] + [_shifted(n) for n in nodes]   # roots first: picks point backwards
            depths = [1] + depths
    cuts = sorted(rng.choice(np.arange(1, len(nodes)), size=turns - 1, replace=False)) if turns > 1 else []
    bounds = [0, *[int(c) for c in cuts], len(nodes)]
    placed = []
    for t in range(turns):
        segment = nodes[bounds[t]:bounds[t + 1]]
        for k, node in enumerate(segment):
            tool = domain.tools[node.tool]
            last_read = k == len(segment) - 1 and not any(domain.tools[n.tool].writes for n in segment)
            answer = _with_answer(tool, rng) if not tool.writes and (last_read or rng.random() < 0.2) else None
            placed.append(Node(node.tool, t, node.args, answer))
    if {domain.tools[n.tool].category for n in placed} != categories:
        return None
    return Skeleton(domain.name, tuple(placed), turns, lineage)


def _shifted(node: Node) -> Node:
    return replace(node, args=map_leaves(node.args, lambda leaf: replace(leaf, node=leaf.node + 1)
                                         if isinstance(leaf, Pick) else leaf))
