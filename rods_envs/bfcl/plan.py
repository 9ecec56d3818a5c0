"""Gold plans of BFCL tasks as call DAGs, so ``rods_envs.plan.signature`` applies to them.

BFCL's ground truth is a list of literal calls per turn, with no references between them, so the
data dependencies are read off a run of the gold calls:

- state: a call depends on the latest earlier call that changed the state of the same backend
  (``cd`` before ``mv``, ``login`` before ``place_order``); a call "changes state" when some
  attribute of its backend instance, private ones included, differs after it (random-number
  generators aside: drawing a number is not a write);
- values: a call depends on the latest earlier call whose result held one of its argument
  values, if the user had not said that value (a ``card_id`` read from ``get_all_credit_cards``).
  Only distinctive values count: strings of three or more characters, numbers of three or more
  digits, so that a ``1`` or a ``True`` links nothing.

>>> from rods_envs.bfcl import load_tasks
>>> graph = load_tasks("base")[0].graph
>>> sorted(graph.nodes(data="tool"))[:2]
[('c0', 'cd'), ('c1', 'mkdir')]
"""

from __future__ import annotations

import json
import pickle
import random
from functools import lru_cache
from typing import Any, Iterator

import networkx as nx

from ..plan import parts
from .backends import fresh_instances
from .checker import execute


def _fingerprint(instance: Any) -> bytes:
    state = {k: v for k, v in vars(instance).items() if not isinstance(v, random.Random)}
    return pickle.dumps(state, pickle.HIGHEST_PROTOCOL)


def _scalars(value: Any) -> Iterator[Any]:
    return (v for v in parts(value, lambda x: not isinstance(x, (dict, list))) if _distinctive(v))


def _distinctive(value: Any) -> bool:
    if type(value) is str:
        return len(value) >= 3
    if type(value) in (int, float):
        return len(str(abs(value)).replace(".", "").lstrip("0")) >= 3
    return False


def gold_run(task) -> list[dict]:
    """Each gold call, in order, with its turn, backend, whether it changed state, and result."""
    instances = fresh_instances(task)
    from .checker import task_functions
    functions = task_functions(task.classes)
    prints = {name: _fingerprint(inst) for name, inst in instances.items()}
    out = []
    for t, gold_turn in enumerate(task.expected.turns):
        for name, kwargs in gold_turn.calls:
            cls = functions[name].cls
            result = execute(task, t, instances, name, kwargs)
            after = _fingerprint(instances[cls])
            out.append({"turn": t, "tool": name, "args": kwargs, "cls": cls,
                        "writes": after != prints[cls], "result": result})
            prints[cls] = after
    return out


def _parsed(result: str) -> Any:
    try:
        return json.loads(result)
    except ValueError:
        return result


def gold_plan_graph(task) -> nx.DiGraph:
    """The task's gold calls as a DAG: nodes ``c0, c1, ...`` with ``tool``, ``turn`` and
    ``args``; an edge for each state or value dependency (see the module docstring)."""
    graph = nx.DiGraph()
    last_writer: dict[str, str] = {}
    producers: list[tuple[str, set]] = []          # (call id, distinctive values in its result)
    for k, call in enumerate(gold_run(task)):
        cid = f"c{k}"
        graph.add_node(cid, tool=call["tool"], turn=call["turn"], args=call["args"])
        if call["cls"] in last_writer:
            graph.add_edge(last_writer[call["cls"]], cid, kind="state")
        said = " ".join(task.turns[: call["turn"] + 1])
        for value in _scalars(call["args"]):
            if str(value) in said:
                continue
            for pid, values in reversed(producers):
                if value in values:
                    graph.add_edge(pid, cid, kind="value")
                    break
        if call["writes"]:
            last_writer[call["cls"]] = cid
        producers.append((cid, set(_scalars(_parsed(call["result"])))))
    return graph


@lru_cache(maxsize=1)
def observed_writes() -> dict[str, bool]:
    """For each function called in BFCL's gold: did any of those calls change state?"""
    from .data import load_tasks
    seen: dict[str, bool] = {}
    for task in load_tasks():
        for call in gold_run(task):
            seen[call["tool"]] = seen.get(call["tool"], False) or call["writes"]
    return seen
