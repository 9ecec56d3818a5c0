"""Argument validation: jsonschema decides, a compiled acceptor skips it on the common valid case.

jsonschema walks a schema generically and costs tens of microseconds per call, which dominates a
tool-call step. Tool signatures use a small subset of JSON Schema, so each one is compiled once
into a closure that can only *accept*: whenever it is unsure or says no, the jsonschema validator
is asked, and its verdict (and error message) is the one returned. The acceptor is therefore
sound by construction as long as it never accepts what jsonschema rejects, a property the tests
check with hypothesis.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import jsonschema

Acceptor = Callable[[Any], bool]

_SIMPLE_TYPES = {
    "string": lambda x: type(x) is str,
    "integer": lambda x: type(x) is int,
    "number": lambda x: type(x) is int or type(x) is float,
    "boolean": lambda x: type(x) is bool,
    "null": lambda x: x is None,
}
_KNOWN = {"type", "properties", "required", "additionalProperties", "items", "enum", "minimum",
          "maximum", "minLength", "maxLength", "minItems", "maxItems", "pattern", "$ref",
          "description", "x-semantic", "default", "title", "$schema", "$id", "$defs"}


def _compile(schema: dict, root: dict | None = None) -> Acceptor | None:
    """A closure accepting a subset of the instances ``schema`` accepts, or None if unsupported."""
    root = schema if root is None else root
    if set(schema) - _KNOWN:
        return None
    if "$ref" in schema:
        ref = schema["$ref"]
        if set(schema) - {"$ref", "description", "title"} or not ref.startswith("#/$defs/"):
            return None
        target = root.get("$defs", {}).get(ref[len("#/$defs/"):])
        return None if target is None else _compile(target, root)
    kind = schema.get("type")
    if (kind != "object" and {"properties", "required", "additionalProperties"} & set(schema)) or \
            (kind != "array" and {"items", "minItems", "maxItems"} & set(schema)):
        return None   # keywords that apply only to some types, on a schema that admits others
    checks: list[Acceptor] = []
    if isinstance(kind, list):
        if not all(k in _SIMPLE_TYPES for k in kind):
            return None
        tests = [_SIMPLE_TYPES[k] for k in kind]
        checks.append(lambda x: any(t(x) for t in tests))
    elif kind in _SIMPLE_TYPES:
        checks.append(_SIMPLE_TYPES[kind])
    elif kind == "array":
        checks.append(lambda x: type(x) is list)
        if "items" in schema:
            item = _compile(schema["items"], root)
            if item is None:
                return None
            def each(x, item=item):
                for v in x:
                    if not item(v):
                        return False
                return True
            checks.append(each)
        if "minItems" in schema:
            checks.append(lambda x, n=schema["minItems"]: len(x) >= n)
        if "maxItems" in schema:
            checks.append(lambda x, n=schema["maxItems"]: len(x) <= n)
    elif kind == "object":
        props = {}
        for name, sub in schema.get("properties", {}).items():
            props[name] = _compile(sub, root)
            if props[name] is None:
                return None
        required = tuple(schema.get("required", ()))
        closed = schema.get("additionalProperties", True) is False
        if not isinstance(schema.get("additionalProperties", True), bool):
            return None

        def check_object(x, props=props, required=required, closed=closed):
            if type(x) is not dict:
                return False
            for key in required:
                if key not in x:
                    return False
            for key, value in x.items():
                sub = props.get(key)
                if sub is None:
                    if closed:
                        return False
                elif not sub(value):
                    return False
            return True

        checks.append(check_object)
    elif kind is not None:
        return None
    if "pattern" in schema:
        # JSON Schema patterns match anywhere in the string, as re.search does; only strings are tested.
        search = re.compile(schema["pattern"]).search
        checks.append(lambda x: type(x) is not str or search(x) is not None)
    if "enum" in schema:
        allowed = schema["enum"]
        # `==` treats 1 and True alike where JSON Schema does not; compare types too.
        checks.append(lambda x: any(type(x) is type(a) and x == a for a in allowed))
    if "minimum" in schema:
        checks.append(lambda x, m=schema["minimum"]: x >= m)
    if "maximum" in schema:
        checks.append(lambda x, m=schema["maximum"]: x <= m)
    if "minLength" in schema:
        checks.append(lambda x, n=schema["minLength"]: len(x) >= n)
    if "maxLength" in schema:
        checks.append(lambda x, n=schema["maxLength"]: len(x) <= n)
    if not checks:
        return lambda x: True   # the empty schema accepts everything
    return _all_of(checks)


def _all_of(checks: list[Acceptor]) -> Acceptor:
    """One closure running ``checks`` in order (the type check first guards the others)."""
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:         # the common case (a type and one constraint): one call less
        first, second = checks
        return lambda x: first(x) and second(x)
    checks = tuple(checks)

    def all_of(x):
        for check in checks:
            if not check(x):
                return False
        return True
    return all_of


class ArgumentValidator:
    """Validates instances (tool arguments, task records) against a JSON Schema; ``error(x)`` is
    None when ``x`` is valid, else jsonschema's best-matching error, located."""

    def __init__(self, schema: dict, root_name: str = "arguments"):
        jsonschema.Draft202012Validator.check_schema(schema)
        self.root_name = root_name
        self.schema = schema
        self._validator = jsonschema.Draft202012Validator(schema)
        self._accept = _compile(schema)

    def _accepts(self, instance: Any) -> bool:
        """Does the compiled acceptor accept ``instance``? (False: ask jsonschema.)"""
        try:
            return self._accept is not None and self._accept(instance)
        except TypeError:  # a comparison the acceptor cannot make: let jsonschema judge
            return False

    def valid(self, instance: Any) -> bool:
        """``error(instance) is None``, without working out the message when it is not."""
        return self._accepts(instance) or self._validator.is_valid(instance)

    def error(self, instance: Any) -> str | None:
        if self._accepts(instance):
            return None
        error = jsonschema.exceptions.best_match(self._validator.iter_errors(instance))
        if error is None:
            return None
        where = "/".join(str(p) for p in error.absolute_path) or self.root_name
        return f"{where}: {error.message}"
