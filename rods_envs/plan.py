"""Gold plans: concrete calls whose arguments may reference earlier calls' results.

A reference is the JSON object ``{"$ref": "c2", "path": ["orders", 0, "order_id"]}``: the value
at ``path`` inside the result of call ``c2``. References are the plan DAG's edges.
"""

from __future__ import annotations

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


def refs_in(value: Any) -> Iterator[dict]:
    """Every reference inside an argument value, depth first."""
    return parts(value, is_ref)


def lookup(result: Any, path: list) -> Any:
    for key in path:
        result = result[key]
    return result


def resolve(value: Any, results: Mapping[str, Any]) -> Any:
    """``value`` with every reference replaced by what it points at in ``results``."""
    if is_ref(value):
        return lookup(results[value[REF]], value.get("path", []))
    if isinstance(value, dict):
        return {k: resolve(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, results) for v in value]
    return value


def plan_graph(calls: list[dict]) -> nx.DiGraph:
    """The call DAG: one node per call (tool, turn, args), an edge per data dependency."""
    graph = nx.DiGraph()
    for call in calls:
        graph.add_node(call["id"], tool=call["tool"], turn=call["turn"], args=call["args"])
        for ref in refs_in(call["args"]):
            graph.add_edge(ref[REF], call["id"])
    return graph


_WL_HASHES: dict[tuple, str] = {}


def _wl_hash(graph: nx.DiGraph) -> str:
    # Memoised on the labelled structure: a synthesizer hashes the same few shapes thousands of
    # times, and networkx's hash costs more than the rest of the signature.
    index = {node: k for k, node in enumerate(graph)}
    shape = (tuple(tool for _, tool in graph.nodes(data="tool")),
             tuple(sorted((index[a], index[b]) for a, b in graph.edges)))
    if shape not in _WL_HASHES:
        with warnings.catch_warnings():  # networkx notes that its directed hashes changed in 3.5
            warnings.simplefilter("ignore", UserWarning)
            _WL_HASHES[shape] = nx.weisfeiler_lehman_graph_hash(graph, node_attr="tool")
    return _WL_HASHES[shape]


def signature(graph: nx.DiGraph, turns: int) -> dict:
    """Structural complexity: calls, depth, width, turns, tool multiset, WL hash by tool."""
    generations = [len(g) for g in nx.topological_generations(graph)]
    return {
        "calls": graph.number_of_nodes(),
        "depth": len(generations),
        "width": max(generations, default=0),
        "turns": turns,
        "tools": sorted(Counter(nx.get_node_attributes(graph, "tool").values()).items()),
        "wl_hash": _wl_hash(graph),
    }
