"""BFCL's functions as rods ``Tool`` objects, with semantic types, and the API graph they form.

Semantic types are inferred from names, per backend (a type is ``"<Backend>.<name>"``):

- a result field and a parameter of the same backend with the same name share a type
  (TravelAPI's ``card_id`` from ``register_credit_card`` feeds ``book_flight``), except names
  too generic to link anything (``status``, ``message``, ``content``, ...);
- a result field ``id`` of a function whose name contains an entity X is the type of the
  parameter ``X_id`` (TicketAPI's ``create_ticket`` returns ``id``, ``get_ticket`` takes
  ``ticket_id``).
Names that match nothing carry no type. The file system and math backends share no such names,
so their tools have no edges: what orders their calls is state, which the task plans capture.

``writes`` is read off BFCL's gold runs (see ``plan.observed_writes``); a function the gold never
calls is taken to write.

>>> g = api_graph(["TravelAPI"])
>>> g.has_edge("register_credit_card", "book_flight")
True
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable

import networkx as nx

from ..domain import api_graph as _api_graph
from ..tool import SEMANTIC, Tool
from .backends import MULTI_TURN_CLASSES, class_functions
from .schemas import result_schema

GENERIC_NAMES = frozenset({
    "status", "message", "messages", "content", "description", "title", "result", "results",
    "type", "name", "value", "error", "success", "count", "amount", "priority", "tags",
    "mentions", "username", "password", "mode", "unit", "distance", "price", "id"})


def _field_names(schema: dict) -> Iterable[str]:
    for name, sub in (schema.get("properties") or {}).items():
        yield name
        if isinstance(sub, dict):
            yield from _field_names(sub)
            if isinstance(sub.get("items"), dict):
                yield from _field_names(sub["items"])


def _id_alias(function: str, parameters: set[str]) -> str | None:
    words = set(function.lower().split("_"))
    matches = [p for p in parameters if p.endswith("_id") and p[:-3] in words]
    return matches[0] if len(matches) == 1 else None


def _tag(schema: dict, types: dict[str, str], function: str, parameters: set[str]) -> dict:
    """A copy of ``schema`` whose properties carry the semantic types ``types`` names."""
    out = dict(schema)
    if isinstance(schema.get("properties"), dict):
        props = {}
        for name, sub in schema["properties"].items():
            sub = _tag(sub, types, function, parameters) if isinstance(sub, dict) else sub
            semantic = types.get(name)
            if name == "id":
                alias = _id_alias(function, parameters)
                semantic = types.get(alias) if alias else None
            if semantic and isinstance(sub, dict):
                sub = {**sub, SEMANTIC: semantic}
            props[name] = sub
        out["properties"] = props
    if isinstance(schema.get("items"), dict):
        out["items"] = _tag(schema["items"], types, function, parameters)
    return out


@lru_cache(maxsize=None)
def backend_tools(cls_name: str) -> dict[str, Tool]:
    """The backend's functions as Tools (``Tool.__call__`` takes ``{class: instance}``)."""
    from .plan import observed_writes

    functions = class_functions(cls_name)
    parameters = {p for f in functions.values() for p in f.schema["properties"]}
    results = {n for f in functions.values() for n in _field_names(result_schema(f.doc))}
    types = {name: f"{cls_name}.{name}" for name in parameters & results if name not in GENERIC_NAMES}
    types.update({p: f"{cls_name}.{p}" for p in parameters if p.endswith("_id")})
    writes = observed_writes()
    tools = {}
    for name, function in functions.items():
        def run(instances, _function=function, **kwargs):
            return _function.run(instances, kwargs)
        tools[name] = Tool(
            name=name, description=function.doc.get("description", ""),
            parameters=_tag(function.schema, types, name, parameters),
            result=_tag(result_schema(function.doc), types, name, parameters),
            writes=writes.get(name, True), fn=run, category=cls_name)
    return tools


def api_graph(classes: Iterable[str] = MULTI_TURN_CLASSES) -> nx.DiGraph:
    """The API graph over the functions of ``classes`` (rods_envs.domain.api_graph's rule)."""
    return _api_graph(tool for cls_name in classes for tool in backend_tools(cls_name).values())
