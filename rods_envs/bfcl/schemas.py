"""BFCL's function docs (``data/multi_turn_func_doc/*.json``) as JSON Schemas.

BFCL writes its docs in a dialect close to JSON Schema, with Python's type names: ``dict`` for
object, ``float`` for number, ``tuple`` for array, ``any`` for no constraint. The conversion maps
those names and leaves everything else as it is. The top level is closed
(``additionalProperties: false``), since a Python method refuses unknown keywords anyway.
"""

from __future__ import annotations

import json
from functools import lru_cache

from .install import require_bfcl

_TYPES = {"dict": "object", "float": "number", "tuple": "array", "int": "integer", "bool": "boolean",
          "str": "string", "list": "array"}


def json_schema(bfcl: dict) -> dict:
    """One BFCL schema node as a JSON Schema node."""
    out = {}
    for key, value in bfcl.items():
        if key == "type":
            if value != "any":
                out["type"] = _TYPES.get(value, value)
        elif key == "properties" and isinstance(value, dict):
            out["properties"] = {name: json_schema(sub) for name, sub in value.items()}
        elif key == "items" and isinstance(value, dict):
            out["items"] = json_schema(value)
        else:
            out[key] = value
    return out


def parameters_schema(doc: dict) -> dict:
    """The JSON Schema of a function's keyword arguments."""
    schema = json_schema(doc["parameters"])
    schema["type"] = "object"
    schema.setdefault("properties", {})
    schema.setdefault("required", [])
    schema["additionalProperties"] = False
    return schema


def result_schema(doc: dict) -> dict:
    return json_schema(doc.get("response", {"type": "dict", "properties": {}}))


@lru_cache(maxsize=None)
def _docs(cls_name: str) -> tuple[str, ...]:
    bfcl = require_bfcl()
    from pathlib import Path
    from bfcl_eval.constants.executable_backend_config import MULTI_TURN_FUNC_DOC_FILE_MAPPING
    path = Path(bfcl.__file__).parent / "data" / "multi_turn_func_doc" / MULTI_TURN_FUNC_DOC_FILE_MAPPING[cls_name]
    return tuple(line for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def load_func_docs(cls_name: str) -> list[dict]:
    """BFCL's docs of one backend's functions (fresh dicts: callers may change them)."""
    return [json.loads(line) for line in _docs(cls_name)]


def openai_tool(name: str, description: str, parameters: dict) -> dict:
    """A function in OpenAI's tool format."""
    return {"type": "function", "function": {"name": name, "description": description,
                                             "parameters": parameters}}
