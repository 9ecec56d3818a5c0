"""A rods tool as a Python function: the form TRL's ``environment_factory`` and transformers'
chat templates read (a signature with type hints, a Google-style docstring).

    >>> fn = tool_function(domain.tool_schemas[0], run)       # run(self, name, arguments) -> str
    >>> get_json_schema(fn)["function"]["name"]
    'pwd'

The function takes keyword arguments only and hands them, unchecked, to ``run``: the environment
validates them against the tool's real JSON Schema, so a bad call gets the environment's error
message rather than a Python ``TypeError``.
"""

from __future__ import annotations

import inspect
from typing import Callable, Literal

_SCALARS = {"string": str, "integer": int, "number": float, "boolean": bool, "object": dict}


def _hint(schema: dict):
    if "enum" in schema:
        return Literal[tuple(schema["enum"])]
    if schema.get("type") == "array":
        return list[_hint(schema.get("items", {"type": "string"}))]
    return _SCALARS.get(schema.get("type"), str)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def tool_function(schema: dict, run: Callable[[str, dict], str]) -> Callable:
    """A method ``tool(self, **arguments)`` named and documented like the OpenAI-format ``schema``."""
    function = schema["function"]
    name, params = function["name"], function["parameters"]
    properties, required = params.get("properties", {}), set(params.get("required", []))

    def tool(self, **arguments):
        return run(self, name, arguments)

    tool.__name__ = tool.__qualname__ = name
    tool.__annotations__ = {p: _hint(s) for p, s in properties.items()}
    tool.__signature__ = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(p, inspect.Parameter.KEYWORD_ONLY, annotation=_hint(s),
                             default=inspect.Parameter.empty if p in required else None)
           for p, s in properties.items()])
    doc = [_one_line(function.get("description") or name)]
    if properties:
        doc += ["", "Args:"] + [f"    {p}: {_one_line(s.get('description') or p)}" for p, s in properties.items()]
    tool.__doc__ = "\n".join(doc)
    return tool


def lm_tool_schemas(env_tools: list[dict], reply_tool: bool = True) -> list[dict]:
    """The tool schemas a model sees through TRL: each tool as ``get_json_schema`` renders its
    function (plus ``reply_to_user``), in TRL's order (by name: it lists an environment's methods
    with ``inspect.getmembers``), so supervised data, GRPO prompts and evaluation read alike."""
    from transformers.utils import get_json_schema

    from .trl_env import RodsToolEnv

    functions = [tool_function(s, None) for s in env_tools]
    if reply_tool:
        functions.append(RodsToolEnv.reply_to_user)
    return [get_json_schema(f) for f in sorted(functions, key=lambda f: f.__name__)]
