"""BFCL's own call format, ``[cd(folder='documents'), ls()]``, parsed with ``ast`` alone.

BFCL's harness runs such strings with ``eval``. Here nothing is ever evaluated: the text is parsed
into a syntax tree, and only plain calls by function name whose arguments are literals (strings,
numbers, booleans, None, and lists or dicts of them) are accepted. Anything else that is shaped
like a call (an attribute call such as ``os.system('x')``, a nested call, a variable, ``**kw``)
is refused with a one-line reason.

>>> parse_python_calls("[cd(folder='documents'), ls(a=True)]")
[PyCall(name='cd', args=(), kwargs={'folder': 'documents'}), PyCall(name='ls', args=(), kwargs={'a': True})]
>>> parse_python_calls("Sure, the file is moved.") is None
True
"""

from __future__ import annotations

import ast
import keyword
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

MAX_PYTHON_CALLS = 64   # BFCL's gold turns run up to 34 calls in one step
_FENCE = re.compile(r"^```[A-Za-z0-9_]*\s*\n?(.*?)\n?```$", re.DOTALL)
# Text that opens like a call (``name(`` or ``[name(``) is a call attempt: a parse failure is then
# an error to report, while any other text is a message for the user.
_CALL_LIKE = re.compile(r"^[\[(]?\s*[A-Za-z_][\w.]*\s*\(")


class CallSyntaxError(ValueError):
    """Text shaped like function calls that is not a list of plain calls with literal arguments."""


@dataclass(frozen=True)
class PyCall:
    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


def _literal(node: ast.AST, where: str) -> Any:
    """The JSON value a literal node denotes; CallSyntaxError for anything else."""
    if isinstance(node, ast.Constant):
        if node.value is None or type(node.value) in (str, int, float, bool):
            return node.value
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) \
            and isinstance(node.operand, ast.Constant) and type(node.operand.value) in (int, float):
        return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    elif isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(item, where) for item in node.elts]
    elif isinstance(node, ast.Dict):
        out = {}
        for key, value in zip(node.keys, node.values):
            if not (isinstance(key, ast.Constant) and type(key.value) is str):
                raise CallSyntaxError(f"{where}: dict keys must be strings")
            out[key.value] = _literal(value, where)
        return out
    raise CallSyntaxError(f"{where} must be a literal (a string, number, boolean, None, "
                          f"or a list or dict of them), not {ast.unparse(node)[:60]!r}")


def _call(node: ast.AST) -> PyCall:
    if not isinstance(node, ast.Call):
        raise CallSyntaxError(f"expected a function call, found {ast.unparse(node)[:60]!r}")
    if not isinstance(node.func, ast.Name):
        raise CallSyntaxError(f"call functions by their plain name, not {ast.unparse(node.func)[:60]!r}")
    name = node.func.id
    args = []
    for position, arg in enumerate(node.args):
        if isinstance(arg, ast.Starred):
            raise CallSyntaxError(f"{name}: *arguments are not allowed")
        args.append(_literal(arg, f"{name}: argument {position + 1}"))
    kwargs = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise CallSyntaxError(f"{name}: **arguments are not allowed")
        if kw.arg in kwargs:   # Python's compiler refuses this; its parser does not
            raise CallSyntaxError(f"{name}: argument {kw.arg!r} given twice")
        kwargs[kw.arg] = _literal(kw.value, f"{name}: argument {kw.arg!r}")
    return PyCall(name, tuple(args), kwargs)


def _parse(text: str, mode: str) -> ast.AST:
    # A model's odd string escapes ("\.") are its business, not a warning in the learner's log.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (DeprecationWarning, SyntaxWarning))
        return ast.parse(text, mode=mode)


def _expressions(text: str) -> list[ast.AST]:
    """The call nodes of ``text``: one call, a list or tuple of calls, or one call per line."""
    try:
        tree = _parse(text, "eval")
    except SyntaxError:
        module = _parse(text, "exec")       # several calls, one per line
        if not module.body or not all(isinstance(s, ast.Expr) for s in module.body):
            raise CallSyntaxError("only function calls are allowed, no statements") from None
        return [s.value for s in module.body]
    body = tree.body
    return list(body.elts) if isinstance(body, (ast.List, ast.Tuple)) else [body]


# -- fast path --------------------------------------------------------------------------------
# ast.parse costs ~30 microseconds for a typical action. Most actions are a few calls with plain
# literals, which the scanner below reads in half that. It only ever *accepts* what the ast path
# reads to the same calls; at anything else (tuples, comments, prefixed strings, unusual numbers
# or spaces, any error) it gives up and ast decides, with ast's error messages.
_TOKEN = re.compile(r"""[A-Za-z_]\w*|[()\[\],=]|'[^'\\\n\r]*(?:\\.[^'\\\n\r]*)*'|"[^"\\\n\r]*(?:\\.[^"\\\n\r]*)*"|(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?|\S""", re.ASCII)   # the commonest first
_ODD_SPACE = re.compile(r"[^\S \t\n]|\x00")   # spaces Python refuses between tokens; NUL anywhere
_ESCAPE = re.compile(r"\\(.)")
_ESCAPED = {"n": "\n", "t": "\t", "'": "'", '"': '"', "\\": "\\"}
_CONSTANTS = {"True": True, "False": False, "None": None}
_KEYWORDS = frozenset(keyword.kwlist)


class _GiveUp(Exception):
    pass


def _unescape(match: re.Match) -> str:
    try:
        return _ESCAPED[match.group(1)]
    except KeyError:
        raise _GiveUp from None      # \x, \u, \N{...}, octal ...: ast knows them all


def _fast_value(tokens: list[str], i: int, depth: int) -> tuple[Any, int]:
    token = tokens[i]
    first = token[:1]
    if (first == "'" or first == '"') and len(token) > 1:   # a lone quote is no string
        body = token[1:-1]
        return (_ESCAPE.sub(_unescape, body) if "\\" in body else body), i + 1
    negative = token == "-"
    if negative:
        i += 1
        token = tokens[i]
        first = token[:1]
    if first.isdigit() or (first == "." and len(token) > 1):
        if "." in token or "e" in token or "E" in token:
            number = float(token)
        elif len(token) > 1 and first == "0":
            raise _GiveUp           # Python refuses leading zeros
        else:
            number = int(token)
        return (-number if negative else number), i + 1
    if negative or depth > 50:
        raise _GiveUp
    if token in _CONSTANTS:
        return _CONSTANTS[token], i + 1
    if token == "[":
        items, i = [], i + 1
        while tokens[i] != "]":
            item, i = _fast_value(tokens, i, depth + 1)
            items.append(item)
            if tokens[i] == ",":
                i += 1
            elif tokens[i] != "]":
                raise _GiveUp
        return items, i + 1
    if token == "{":
        out, i = {}, i + 1
        while tokens[i] != "}":
            key = tokens[i]
            if key[:1] not in ("'", '"') or len(key) < 2 or "\\" in key or tokens[i + 1] != ":":
                raise _GiveUp
            out[key[1:-1]], i = _fast_value(tokens, i + 2, depth + 1)
            if tokens[i] == ",":
                i += 1
            elif tokens[i] != "}":
                raise _GiveUp
        return out, i + 1
    raise _GiveUp


def _fast_call(tokens: list[str], i: int) -> tuple[PyCall, int]:
    name = tokens[i]
    if not (name[:1].isalpha() or name[:1] == "_") or name in _KEYWORDS or tokens[i + 1] != "(":
        raise _GiveUp
    i += 2
    args, kwargs = [], {}
    while tokens[i] != ")":
        token = tokens[i]
        if tokens[i + 1] == "=" and (token[:1].isalpha() or token[:1] == "_"):
            if token in _KEYWORDS or token in kwargs:
                raise _GiveUp
            kwargs[token], i = _fast_value(tokens, i + 2, 0)
        elif kwargs:
            raise _GiveUp           # a positional argument after a keyword one
        else:
            value, i = _fast_value(tokens, i, 0)
            args.append(value)
        if tokens[i] == ",":
            i += 1
        elif tokens[i] != ")":
            raise _GiveUp
    return PyCall(name, tuple(args), kwargs), i + 1


def _fast_calls(text: str) -> list[PyCall] | None:
    """The calls in ``text`` if the fast path can read it, else None (ast decides)."""
    if _ODD_SPACE.search(text):
        return None
    tokens = _TOKEN.findall(text)
    tokens.append("")               # an end marker no rule accepts
    try:
        if tokens[0] == "[":
            calls, i = [], 1
            while tokens[i] != "]":
                call, i = _fast_call(tokens, i)
                calls.append(call)
                if tokens[i] == ",":
                    i += 1
                elif tokens[i] != "]":
                    raise _GiveUp
            i += 1
        else:
            if "\n" in text[:text.find("(")]:
                return None         # ``name\n(...)``: two statements to Python, not a call
            call, i = _fast_call(tokens, 0)
            calls = [call]
    except (_GiveUp, IndexError, ValueError, OverflowError, RecursionError):
        return None
    if i != len(tokens) - 1 or not calls or len(calls) > MAX_PYTHON_CALLS:
        return None
    return calls


def parse_python_calls(text: str) -> list[PyCall] | None:
    """The calls in ``text``, None when it is not shaped like calls (a message or JSON), or
    CallSyntaxError when it is a call attempt that cannot be accepted."""
    stripped = text.strip()
    if stripped.startswith("```"):
        fenced = _FENCE.match(stripped)
        if fenced:
            stripped = fenced.group(1).strip()
    if not _CALL_LIKE.match(stripped):
        return None
    fast = _fast_calls(stripped)
    if fast is not None:
        return fast
    return _ast_calls(stripped)


def _ast_calls(stripped: str) -> list[PyCall]:
    """The reference parser: Python's own, then a walk that admits only literal calls."""
    try:
        nodes = _expressions(stripped)
    except CallSyntaxError:
        raise
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as exc:
        reason = exc.msg if isinstance(exc, SyntaxError) else (str(exc) or type(exc).__name__)
        raise CallSyntaxError(f"could not parse the function calls: {reason[:200]}") from None
    if not nodes:
        raise CallSyntaxError("an empty list of function calls")
    if len(nodes) > MAX_PYTHON_CALLS:
        raise CallSyntaxError(f"at most {MAX_PYTHON_CALLS} calls per action, got {len(nodes)}")
    try:
        return [_call(node) for node in nodes]
    except RecursionError:
        raise CallSyntaxError("the arguments are nested too deeply") from None


def bind(call: PyCall, parameters: Sequence[str]) -> dict:
    """Keyword arguments for ``call``: positional ones take the names of ``parameters`` in order,
    as Python binds them (BFCL's gold writes ``sort('final_report.pdf')``)."""
    if not call.args:
        return call.kwargs
    if len(call.args) > len(parameters):
        raise CallSyntaxError(f"{call.name} takes at most {len(parameters)} positional arguments, "
                              f"got {len(call.args)}")
    kwargs = dict(zip(parameters, call.args))
    for name, value in call.kwargs.items():
        if name in kwargs:
            raise CallSyntaxError(f"{call.name} got multiple values for argument {name!r}")
        kwargs[name] = value
    return kwargs


def format_call(name: str, kwargs: dict) -> str:
    """A call as BFCL writes it, ``name(key=value, ...)``, with Python literals for the values."""
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
