"""Tools: a JSON-Schema signature, semantic types, and an implementation over the domain state.

A tool is written as a plain function of the state and its arguments, decorated with ``@tool``::

    @tool("Look up an order.", params={"order_id": arg("order_id", "string", "The order id.")},
          result=obj(order_id=arg("order_id"), status=arg("order_status")))
    def get_order(state, order_id): ...

Parameters and result fields carry a semantic type (``x-semantic``); the API graph links a tool
that produces a type to every tool that consumes it. Domain rules are enforced by raising
``ToolError``, whose message becomes the error observation the agent sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from .validation import ArgumentValidator

SEMANTIC = "x-semantic"


class ToolError(Exception):
    """A call the domain refuses (a policy rule, a missing entity): shown to the agent, not raised."""


def require(table: dict, key: str, what: str) -> dict:
    """``table[key]``, or a ToolError naming the ``what`` that does not exist."""
    try:
        return table[key]
    except (KeyError, TypeError):
        raise ToolError(f"{what} {key!r} not found") from None


def arg(semantic: str | None = None, type: str = "string", description: str = "", **schema) -> dict:
    """A JSON Schema for one value, tagged with its semantic type."""
    out = {"type": type, **schema}
    if description:
        out["description"] = description
    if semantic:
        out[SEMANTIC] = semantic
    return out


def obj(**properties: dict) -> dict:
    """A closed object schema whose every property is present."""
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}


def arr(items: dict, **schema) -> dict:
    return {"type": "array", "items": items, **schema}


def semantic_types(schema: dict) -> Iterator[str]:
    """Every semantic type that appears anywhere in ``schema``."""
    if SEMANTIC in schema:
        yield schema[SEMANTIC]
    for sub in schema.get("properties", {}).values():
        yield from semantic_types(sub)
    if isinstance(schema.get("items"), dict):
        yield from semantic_types(schema["items"])


def _strip_semantics(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _strip_semantics(v) for k, v in schema.items() if k != SEMANTIC}
    if isinstance(schema, list):
        return [_strip_semantics(v) for v in schema]
    return schema


@dataclass(frozen=True, eq=False)
class Tool:
    name: str
    description: str
    parameters: dict
    result: dict
    writes: bool
    fn: Callable[..., Any] = field(repr=False)
    category: str = ""

    def __post_init__(self):
        object.__setattr__(self, "validator", ArgumentValidator(self.parameters))
        object.__setattr__(self, "consumes", frozenset(semantic_types(self.parameters)))
        object.__setattr__(self, "produces", frozenset(semantic_types(self.result)))
        if not self.category:
            object.__setattr__(self, "category", "write" if self.writes else "read")

    def __call__(self, state: dict, args: dict) -> Any:
        """Validate ``args`` and run the tool; raises ToolError on a bad or refused call."""
        problem = self.validator.error(args)
        if problem is not None:
            raise ToolError(f"invalid arguments for {self.name}: {problem}")
        return self.fn(state, **args)

    def attempt(self, state: dict, args: dict) -> Any:
        """Like calling the tool, for a caller that needs no error message (the synthesizer
        tries thousands of calls): a bad call raises ToolError without jsonschema's account."""
        if not self.validator.valid(args):
            raise ToolError(f"invalid arguments for {self.name}")
        return self.fn(state, **args)

    def openai_schema(self) -> dict:
        """The tool in OpenAI's function-calling format."""
        return {"type": "function", "function": {
            "name": self.name, "description": self.description,
            "parameters": _strip_semantics(self.parameters)}}


def tool(description: str, *, params: dict[str, dict], result: dict, writes: bool = False,
         optional: tuple[str, ...] = (), category: str = "") -> Callable[[Callable], Tool]:
    """Turn ``fn(state, **args)`` into a Tool; every parameter is required unless ``optional``."""
    parameters = {"type": "object", "properties": params,
                  "required": [p for p in params if p not in optional],
                  "additionalProperties": False}

    def wrap(fn: Callable) -> Tool:
        return Tool(fn.__name__, description, parameters, result, writes, fn, category)

    return wrap
