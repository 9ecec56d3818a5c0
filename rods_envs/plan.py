"""Gold plans: concrete calls whose arguments may reference earlier calls' results.

A reference is the JSON object ``{"$ref": "c2", "path": ["orders", 0, "order_id"]}``: the value
at ``path`` inside the result of call ``c2``. References are the plan DAG's edges.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import Counter
from typing import Any, Callable, Iterator, Mapping

import networkx as nx

REF = "$ref"


def is_ref(value: Any) -> bool:
    return type(value) is dict and REF in value


def parts(value: Any, wanted: Callable[[Any], bool]) -> Iterator[Any]:
    """Every part of a JSON-like value (dicts and lists, descended into) that ``wanted`` picks,
    depth first; a picked part is not descended into."""
    if wanted(value):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from parts(v, wanted)
    elif isinstance(value, list):
        for v in value:
            yield from parts(v, wanted)


def refs_in(value: Any) -> list[dict]:
    """Every reference inside an argument value, depth first."""
    found: list[dict] = []
    _refs(value, found)
    return found


def _refs(value: Any, found: list) -> None:
    # ``parts(value, is_ref)`` without the generators, and without a call per scalar: plans are
    # read on every check and step.
    kind = type(value)
    if kind is dict:
        if REF in value:
            found.append(value)
            return
        values = value.values()
    elif kind is list:
        values = value
    elif isinstance(value, (dict, list)):      # a subclass: as parts() would
        found.extend(parts(value, is_ref))
        return
    else:
        return
    for v in values:
        if isinstance(v, _CONTAINERS):
            _refs(v, found)


_CONTAINERS = (dict, list)


def lookup(result: Any, path: list) -> Any:
    for key in path:
        result = result[key]
    return result


def resolve(value: Any, results: Mapping[str, Any]) -> Any:
    """``value`` with every reference replaced by what it points at in ``results``."""
    kind = type(value)
    if kind is dict:
        if REF in value:
            return lookup(results[value[REF]], value.get("path", []))
        return {k: resolve(v, results) if isinstance(v, _CONTAINERS) else v for k, v in value.items()}
    if kind is list:
        return [resolve(v, results) if isinstance(v, _CONTAINERS) else v for v in value]
    if isinstance(value, dict):     # a dict subclass is no reference (is_ref), but is descended into
        return {k: resolve(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, results) for v in value]
    return value


def plan_graph(calls: list[dict]) -> nx.DiGraph:
    """The call DAG: one node per call (tool, turn, args), an edge per data dependency."""
    graph = nx.DiGraph()
    graph.add_nodes_from((call["id"], {"tool": call["tool"], "turn": call["turn"], "args": call["args"]})
                         for call in calls)
    graph.add_edges_from((ref[REF], call["id"]) for call in calls for ref in refs_in(call["args"]))
    return graph


def _shape(graph: nx.DiGraph) -> tuple:
    """The plan DAG as tools in node order and edges by position: all a signature depends on."""
    index = {node: k for k, node in enumerate(graph)}
    return (tuple(tool for _, tool in graph.nodes(data="tool")),
            tuple(sorted((index[a], index[b]) for a, b in graph.edges)))


_SIGNATURES: dict[tuple, dict] = {}


def signature(graph: nx.DiGraph, turns: int) -> dict:
    """Structural complexity: calls, depth, width, turns, tool multiset, WL hash by tool."""
    return _signed(_shape(graph), turns, lambda: _graph_signature(graph))


def calls_signature(calls: list[dict], turns: int) -> dict:
    """``signature(plan_graph(calls), turns)``, read off the calls without building the graph.
    (Calls must reference only earlier calls, as a valid task's do.)"""
    index = {call["id"]: k for k, call in enumerate(calls)}
    shape = (tuple(call["tool"] for call in calls),
             tuple(sorted({(index[ref[REF]], k) for k, call in enumerate(calls) for ref in refs_in(call["args"])})))
    return _signed(shape, turns, lambda: _shape_signature(*shape))


def _signed(shape: tuple, turns: int, compute) -> dict:
    # Memoised on the labelled structure: a synthesizer signs the same few shapes thousands of
    # times, and networkx's generations and hash cost more than reading the shape.
    known = _SIGNATURES.get(shape)
    if known is None:
        known = _SIGNATURES[shape] = compute()
    return {"calls": known["calls"], "depth": known["depth"], "width": known["width"], "turns": turns,
            "tools": list(known["tools"]), "wl_hash": known["wl_hash"]}


def _shape_signature(tools: tuple, edges: tuple) -> dict:
    """What ``signature`` computes with networkx, for a DAG given as tools in topological order
    and edges between their positions; the tests check the two agree on every shape they meet."""
    n = len(tools)
    succ: list[list[int]] = [[] for _ in range(n)]
    pred: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        succ[a].append(b)
        pred[b].append(a)
    level = [0] * n                      # topological generation: longest path from a source
    for b in range(n):                   # calls only reference earlier calls: already in order
        level[b] = max((level[a] + 1 for a in pred[b]), default=0)
    generations = Counter(level)
    return {"calls": n, "depth": len(generations), "width": max(generations.values(), default=0),
            "tools": sorted(Counter(tools).items()), "wl_hash": _wl_hash(tools, succ, pred)}


def _blake(label: str) -> str:
    return hashlib.blake2b(label.encode("ascii"), digest_size=16).hexdigest()


def _wl_hash(tools: tuple, succ: list, pred: list, iterations: int = 3) -> str:
    """networkx's ``weisfeiler_lehman_graph_hash(G, node_attr="tool")`` for a directed G (3.5
    and later: successors and predecessors aggregated apart), on adjacency lists."""
    labels = [str(t) for t in tools]
    counts: list = []
    for _ in range(iterations):
        labels = [_blake(labels[u] + "".join(sorted("s_" + labels[v] for v in succ[u]))
                         + "".join(sorted("p_" + labels[v] for v in pred[u]))) for u in range(len(labels))]
        counts.extend(sorted(Counter(labels).items(), key=lambda x: x[0]))
    return _blake(str(tuple(counts)))


def _graph_signature(graph: nx.DiGraph) -> dict:
    """The turn-free part of ``signature``, with networkx."""
    generations = [len(g) for g in nx.topological_generations(graph)]
    with warnings.catch_warnings():  # networkx notes that its directed hashes changed in 3.5
        warnings.simplefilter("ignore", UserWarning)
        wl_hash = nx.weisfeiler_lehman_graph_hash(graph, node_attr="tool")
    return {"calls": graph.number_of_nodes(), "depth": len(generations), "width": max(generations, default=0),
            "tools": sorted(Counter(nx.get_node_attributes(graph, "tool").values()).items()), "wl_hash": wl_hash}
