"""Mutations of a plan skeleton. Each takes a skeleton (and the tools it may draw on) and returns
a new skeleton, or None when the mutation does not apply; realising and verifying it is the
synthesizer's job.

- ``reinstantiate``: the same plan, to be rebound on a new world.
- ``swap``: one call replaced by another tool whose semantic types fit its inputs and consumers.
- ``deepen``: a call added that consumes a leaf's result (depth + 1).
- ``widen``: an independent call added (a new branch).
- ``prune``: a leaf call dropped (an easier variant).
- ``compose``: two plans joined as consecutive user turns.
- ``withhold``: a stated value turned into a fact the user holds back until asked.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..domain import Domain
from ..tool import SEMANTIC
from .patterns import STAR
from .skeleton import Lit, Node, Pick, Skeleton, leaves, map_leaves, picks


def schema_paths(schema: dict, path: tuple = ()) -> list[tuple[tuple, dict]]:
    """(path, leaf schema) for every scalar leaf of a result schema; arrays step through ``*``."""
    kind = schema.get("type")
    if kind == "object":
        return [x for k, sub in schema.get("properties", {}).items() for x in schema_paths(sub, path + (k,))]
    if kind == "array":
        return schema_paths(schema.get("items", {}), path + (STAR,))
    return [(path, schema)]


_FIELDS: dict[tuple[int, str], list[tuple]] = {}


def fields_of_type(schema: dict, semantic: str) -> list[tuple]:
    """Result paths carrying ``semantic``; memoised, since tool schemas never change."""
    memo = (id(schema), semantic)
    if memo not in _FIELDS:
        _FIELDS[memo] = [p for p, leaf in schema_paths(schema) if leaf.get(SEMANTIC) == semantic]
    return _FIELDS[memo]


_ANSWERS: dict[int, list[tuple]] = {}


def answer_fields(schema: dict) -> list[tuple]:
    """Scalar result fields worth asking for: not ids, at most one list level deep; memoised,
    since tool schemas never change (every walk asks for each of its tools)."""
    if id(schema) not in _ANSWERS:
        _ANSWERS[id(schema)] = [
            p for p, leaf in schema_paths(schema) if leaf.get("type") in ("string", "integer", "number")
            and p and p[-1] != STAR and not str(p[-1]).endswith("id") and sum(s == STAR for s in p) <= 1]
    return _ANSWERS[id(schema)]


class LiteralPool:
    """How each (tool, parameter) got its stated values in the seed tasks: world patterns, to be
    rebound in new worlds, and free values, reused as they are."""

    def __init__(self, skeletons: list[Skeleton]):
        self.by_param: dict[tuple[str, str], list[Lit]] = {}
        for skeleton in skeletons:
            for node in skeleton.nodes:
                for name, tree in node.args.items():
                    if isinstance(tree, Lit):
                        # Free values are drawn as they are, stated (walks draw thousands of them).
                        self.by_param.setdefault((node.tool, name), []).append(
                            tree if tree.group is not None or not tree.withheld else replace(tree, withheld=False))
        self._fresh = 0

    def draw(self, tool, name: str, rng: np.random.Generator, groups: dict | None = None) -> Lit | None:
        """A stated value for ``tool``'s parameter ``name``. ``groups`` maps entity patterns to the
        groups already drawn for one call, so that one call's values describe one entity."""
        seen = self.by_param.get((tool.name, name))
        if seen:
            lit = seen[int(rng.integers(len(seen)))]
            if lit.group is None:
                return lit
            groups = {} if groups is None else groups
            if lit.group[0] not in groups:
                self._fresh += 1  # a group of its own: rebound to any entity of the new world
                groups[lit.group[0]] = (lit.group[0], ("new", self._fresh))
            return Lit(lit.value, lit.pattern, groups[lit.group[0]], profile=lit.profile)
        enum = tool.parameters["properties"][name].get("enum")
        if enum:
            return Lit(enum[int(rng.integers(len(enum)))])
        return None


def bind_rest(tool, bound: dict, pool: LiteralPool, rng) -> dict | None:
    """``bound`` plus a stated value for every other required parameter, or None if one lacks it."""
    args = dict(bound)
    groups: dict = {}
    for name in tool.parameters.get("required", []):
        if name not in args:
            lit = pool.draw(tool, name, rng, groups)
            if lit is None:
                return None
            args[name] = lit
    return args


def answer_for(tool, rng) -> tuple | None:
    options = answer_fields(tool.result)
    return options[int(rng.integers(len(options)))] if options else None


def _insert(skeleton: Skeleton, position: int, node: Node) -> Skeleton:
    """Insert ``node`` at ``position``, shifting later picks."""
    def shift(leaf):
        return replace(leaf, node=leaf.node + 1) if isinstance(leaf, Pick) and leaf.node >= position else leaf
    nodes = [replace(n, args=map_leaves(n.args, shift)) for n in skeleton.nodes]
    nodes.insert(position, node)
    return skeleton.with_nodes(nodes)


def _end_of_turn(skeleton: Skeleton, turn: int) -> int:
    return max((i + 1 for i, n in enumerate(skeleton.nodes) if n.turn <= turn), default=0)


def _depths(skeleton: Skeleton) -> list[int]:
    depth = []
    for node in skeleton.nodes:
        depth.append(1 + max((depth[p.node] for p in picks(node.args)), default=0))
    return depth


def tagged(skeleton: Skeleton, mutation: str) -> Skeleton:
    lineage = dict(skeleton.lineage)
    lineage["mutations"] = list(lineage.get("mutations", [])) + [mutation]
    return replace(skeleton, lineage=lineage)


# -- the mutations ----------------------------------------------------------------------------

def reinstantiate(skeleton: Skeleton, domain: Domain, pool: LiteralPool, rng) -> Skeleton:
    return tagged(skeleton, "reinstantiate")


def withhold(skeleton: Skeleton, domain: Domain, pool: LiteralPool, rng) -> Skeleton | None:
    options = [(i, name) for i, n in enumerate(skeleton.nodes) for name, tree in n.args.items()
               if isinstance(tree, Lit) and not tree.withheld and isinstance(tree.value, (str, int))
               and not any(isinstance(t, Lit) and t.withheld for t in leaves(n.args))]
    if not options:
        return None
    i, name = options[int(rng.integers(len(options)))]
    nodes = list(skeleton.nodes)
    nodes[i] = replace(nodes[i], args={**nodes[i].args, name: replace(nodes[i].args[name], withheld=True)})
    return tagged(skeleton.with_nodes(nodes), "withhold")


def prune(skeleton: Skeleton, domain: Domain, pool: LiteralPool, rng) -> Skeleton | None:
    """Drop a leaf call. If its turn is left with nothing to do, the user asks instead about the
    result of the call it depended on (the easier variant of the same request)."""
    nodes = skeleton.nodes
    options = [i for i, n in enumerate(nodes) if not skeleton.consumers(i)
               and sum(m.turn == n.turn for m in nodes) > 1]
    if not options:
        return None
    drop = options[int(rng.integers(len(options)))]
    turn = nodes[drop].turn
    kept = [n for i, n in enumerate(nodes) if i != drop]
    if not any(domain.tools[n.tool].writes or n.answer is not None for n in kept if n.turn == turn):
        parents = [p.node for p in picks(nodes[drop].args) if nodes[p.node].turn == turn] or \
                  [i for i, n in enumerate(nodes) if i != drop and n.turn == turn]
        parent = parents[int(rng.integers(len(parents)))]
        answer = answer_for(domain.tools[nodes[parent].tool], rng)
        if answer is None:
            return None
        kept[parent if parent < drop else parent - 1] = replace(nodes[parent], answer=answer)

    def shift(leaf):
        return replace(leaf, node=leaf.node - 1) if isinstance(leaf, Pick) and leaf.node > drop else leaf
    kept = [replace(n, args=map_leaves(n.args, shift)) for n in kept]
    return tagged(skeleton.with_nodes(kept), "prune")


def deepen(skeleton: Skeleton, domain: Domain, pool: LiteralPool, rng) -> Skeleton | None:
    depth = _depths(skeleton)
    deepest = [i for i, d in enumerate(depth) if d == max(depth) and not skeleton.consumers(i)]
    if not deepest:
        return None
    leaf = deepest[int(rng.integers(len(deepest)))]
    producer = domain.tools[skeleton.nodes[leaf].tool]
    graph = domain.api_graph
    options = []
    for successor in graph.successors(producer.name):
        tool = domain.tools[successor]
        for name, schema in tool.parameters["properties"].items():
            semantic = schema.get(SEMANTIC)
            if semantic in producer.produces and schema.get("type") in ("string", "integer"):
                options += [(tool, name, path) for path in fields_of_type(producer.result, semantic)]
    rng.shuffle(options)
    for tool, name, path in options:
        args = bind_rest(tool, {name: Pick(leaf, path)}, pool, rng)
        if args is None:
            continue
        turn = skeleton.nodes[leaf].turn
        node = Node(tool.name, turn, args, None if tool.writes else answer_for(tool, rng))
        if not tool.writes and node.answer is None:
            continue
        return tagged(_insert(skeleton, _end_of_turn(skeleton, turn), node), "deepen")
    return None


def widen(skeleton: Skeleton, domain: Domain, pool: LiteralPool, rng) -> Skeleton | None:
    tools = list(domain.tools.values())
    order = rng.permutation(len(tools))
    for k in order:
        tool = tools[int(k)]
        args = bind_rest(tool, {}, pool, rng)
        if args is None or (not tool.writes and not answer_fields(tool.result)):
            continue
        turn = int(rng.integers(skeleton.turns))
        node = Node(tool.name, turn, args, None if tool.writes else answer_for(tool, rng))
        return tagged(_insert(skeleton, _end_of_turn(skeleton, turn), node), "widen")
    return None


def _semantic(domain: Domain, node: Node, param: str) -> str | None:
    return domain.tools[node.tool].parameters["properties"][param].get(SEMANTIC)


def swap(skeleton: Skeleton, domain: Domain, pool: LiteralPool, rng) -> Skeleton | None:
    """Replace one call by another tool of the same kind that takes the same inputs and produces
    what the calls after it take from it."""
    i = int(rng.integers(len(skeleton.nodes)))
    old = skeleton.nodes[i]
    before = domain.tools[old.tool]
    incoming = {_semantic(domain, old, name): tree for name, tree in old.args.items() if isinstance(tree, Pick)}
    consumers = skeleton.consumers(i)
    direct = {(j, name) for j in consumers for name, tree in skeleton.nodes[j].args.items()
              if isinstance(tree, Pick) and tree.node == i}
    if sum(1 for j in consumers for p in picks(skeleton.nodes[j].args) if p.node == i) != len(direct):
        return None     # a consumer reads it inside a list or object: keep it simple, do not swap
    needed = {_semantic(domain, skeleton.nodes[j], name) for j, name in direct}
    candidates = [t for t in domain.tools.values() if t.name != old.tool and t.writes == before.writes
                  and all(fields_of_type(t.result, semantic) for semantic in needed)]
    for k in rng.permutation(len(candidates)):
        tool = candidates[int(k)]
        bound = {name: incoming[schema[SEMANTIC]] for name, schema in tool.parameters["properties"].items()
                 if schema.get(SEMANTIC) in incoming}
        if incoming and not bound:
            continue  # keep the topology: the new tool must take the same inputs
        args = bind_rest(tool, bound, pool, rng)
        answer = answer_for(tool, rng) if old.answer is not None else None
        if args is None or (old.answer is not None and answer is None):
            continue
        nodes = list(skeleton.nodes)
        nodes[i] = Node(tool.name, old.turn, args, answer)
        for j, name in direct:   # the consumers now read the same kind of value from the new tool
            paths = fields_of_type(tool.result, _semantic(domain, nodes[j], name))
            nodes[j] = replace(nodes[j], args={**nodes[j].args, name: Pick(i, paths[int(rng.integers(len(paths)))])})
        return tagged(skeleton.with_nodes(nodes), "swap")
    return None


def compose(first: Skeleton, second: Skeleton) -> Skeleton:
    """``second``'s turns after ``first``'s, on ``first``'s world: the first plan keeps its values,
    the second's entities are rebound onto that world."""
    offset = len(first.nodes)

    def keep(leaf):
        return replace(leaf, pattern=None, group=None) if isinstance(leaf, Lit) else leaf

    def move(leaf):
        if isinstance(leaf, Pick):
            return replace(leaf, node=leaf.node + offset)
        if leaf.group is not None:
            return replace(leaf, group=(leaf.group[0], ("second", leaf.group[1])))
        return leaf
    moved = [replace(n, turn=n.turn + first.turns, args=map_leaves(n.args, move)) for n in second.nodes]
    lineage = {"seed": first.lineage.get("seed"), "composed_with": second.lineage.get("seed"),
               "mutations": list(first.lineage.get("mutations", [])) + ["compose"]}
    kept = tuple(replace(n, args=map_leaves(n.args, keep)) for n in first.nodes)
    return Skeleton(first.domain, kept + tuple(moved), first.turns + second.turns, lineage)


MUTATIONS = {"reinstantiate": reinstantiate, "swap": swap, "deepen": deepen, "widen": widen,
             "prune": prune, "withhold": withhold}
