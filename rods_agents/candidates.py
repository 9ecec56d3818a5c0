"""Candidate argument values for ``StructuredActions``: spans of the user's messages that look
like values (ids and codes, emails, paths, dates, numbers, quoted and parenthesised phrases,
names, enum values of the domain's tools) and the scalar leaves of tool results."""

from __future__ import annotations

import json
import re
from typing import Any

_encode = json.JSONEncoder(ensure_ascii=False).encode

_PATH = r"[\w.*\-]+"
_SPANS = [  # (kind, pattern): earlier kinds claim their characters first
    ("email", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("cidr", re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?")),
    ("date", re.compile(r"\b\d{4}-\d{2}-\d{2}\b")),
    ("time", re.compile(r"\b\d{1,2}:\d{2}\b")),
    ("path", re.compile(rf"~/{_PATH}(?:/{_PATH})*/?|(?:\.\.?)?/{_PATH}(?:/{_PATH})*/?|(?<![\w~]){_PATH}(?:/{_PATH})+/?"
                        r"|~(?![\w/])")),
    ("file", re.compile(r"(?<![\w.])[\w*\-]+(?:\.[\w\-]+)*\.[A-Za-z][A-Za-z0-9]{0,4}\b")),
    ("glob", re.compile(r"(?<![\w*.])\.[A-Za-z][A-Za-z0-9]{0,4}\b")),
    ("money", re.compile(r"\$\d+(?:\.\d+)?")),
    ("street", re.compile(r"\b\d+(?: [A-Z][a-z]+)+")),
    ("code", re.compile(r"(?<![\w#\-])#?[A-Za-z0-9][\w\-]*(?:\.[\w\-]+)*")),
]
_QUOTED = re.compile(r"\"([^\"]{1,200})\"|(?<![\w'])'([^'\s][^']{0,199})'(?![\w'])|\(([^()]{1,200})\)")
_NOT_NAMES = {"Please", "Hi", "Hello", "Hey", "My", "The", "I", "Can", "Could", "Thanks", "Then",
              "Good", "Morning", "Also", "And", "Now", "Yes", "No", "It", "Which", "What", "How",
              "Is", "Are", "Do", "Does", "Tell", "Find", "Make", "Create", "Move", "Copy", "In", "On"}
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\"|\n)$")
_HOME = re.compile(r"\bhome (?:folder|directory|dir)\b", re.IGNORECASE)
_STOP = frozenset("""a an the my our your their its this that these those new old same one any some
every each all of in on at to from for by with into onto and or but it is are be there here then
please me i you we them which what how also just only called named as""".split())
# A bare word that ends a sentence after "is", "called", "to"... ("The VM is monitor.", "move it over
# to monitor."), or that opens the message in lower case ("monitor is short on space"), is a name.
_ENDING_NAME = re.compile(r"\b(?:is|it's|called|named|to|from)\s+([A-Za-z][\w\-]*)(?=[.!?]?\s*$|[.!?]\s)", re.IGNORECASE)
_OPENING_NAME = re.compile(r"^([a-z][\w\-]*)\s")
_NUMBER_WORDS = {w: str(n) for n, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)
_ONE_LINE = re.compile(r"\b(?:first|last) line\b", re.IGNORECASE)     # "the last line": lines=1
_NAMING = frozenset(("called", "named", "name", "as"))
_WORD_SPAN = re.compile(r"[A-Za-z0-9][\w\-]*")


def _code_like(token: str) -> bool:
    if token.isdigit():
        return True
    if any(c.isdigit() for c in token) or "_" in token or "#" in token:
        return True
    if "-" in token.strip("-") and len(token) > 2:
        return True
    return token.isupper() and token.isalpha() and len(token) >= 2 and token not in ("I", "VM", "OK")


def user_spans(text: str, enum_values: tuple[str, ...] = (), nouns: frozenset = frozenset()) -> list[tuple[str, str]]:
    """Candidate values in a user's message, in text order: (value, kind).

    ``nouns`` are the words that name things in the domain (network, disk, folder): a word next
    to one of them ("the dev network", "subnet db") is a name, as is a word after "called"."""
    found: list[tuple[int, str, str]] = []
    taken = bytearray(len(text))
    for kind, pattern in _SPANS:
        for m in pattern.finditer(text):
            a, b = m.span()
            value = m.group(0)
            if kind != "path" or value.endswith("."):
                value = value.rstrip(".,;:!")
            if not value or any(taken[a:b]):
                continue
            what = kind
            if kind == "money":
                value, what = value[1:], "number"
            elif kind == "glob":
                value = "*" + value
            elif kind == "code":
                if not _code_like(value):
                    continue
                what = "number" if value.isdigit() else "code"
            taken[a:b] = b"\x01" * (b - a)
            found.append((a, value, what))
    for m in _QUOTED.finditer(text):
        value = next(g for g in m.groups() if g is not None).strip()
        if value:
            found.append((m.start(), value, "quoted"))
    for m in _HOME.finditer(text):
        found.append((m.start(), "~", "path"))
    for pattern in (_ENDING_NAME, _OPENING_NAME):
        for m in pattern.finditer(text):
            a = m.start(1)
            if m.group(1).lower() not in _STOP and not any(taken[a:m.end(1)]):
                found.append((a, m.group(1), "named"))
    for m in _NUMBER_WORD.finditer(text):
        found.append((m.start(), _NUMBER_WORDS[m.group(1).lower()], "number"))
    for m in _ONE_LINE.finditer(text):
        found.append((m.start(), "1", "number"))
    for m in _CAPITALISED.finditer(text):
        if any(taken[m.start():m.end()]):
            continue
        words = m.group(0).split()
        if _SENTENCE_START.search(text[:m.start()]) or words[0] in _NOT_NAMES:
            words = words[1:]
        words = [w for w in words if w not in _NOT_NAMES]
        if len(words) >= 2:
            found.append((m.start(), " ".join(words), "name"))
        found.extend((m.start(), w, "name") for w in words)
    if nouns:
        spans = [(m.start(), m.group(0)) for m in _WORD_SPAN.finditer(text)]
        for k, (at, word) in enumerate(spans):
            w = word.lower()
            if w in nouns or w in _NAMING:
                for j in ((k - 1, k + 1) if w in nouns else (k + 1,)):
                    first, second = sorted((k, j)) if 0 <= j < len(spans) else (0, 0)
                    gap = text[spans[first][0] + len(spans[first][1]):spans[second][0]]
                    if first != second and gap.isspace():
                        other = spans[j][1]
                        o = other.lower()
                        if o not in _STOP and o not in nouns and not any(taken[spans[j][0]:spans[j][0] + len(other)]):
                            found.append((spans[j][0], other, "named"))
    lower = text.lower()
    for value in enum_values:
        at = lower.find(value.lower())
        if at != -1:
            found.append((at, value, "enum"))
    found.sort(key=lambda f: f[0])
    return [(value, kind) for _, value, kind in found]


def _joined_paths(before: list[tuple[str, str]], new: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Paths the user means without spelling them out: a folder and a file name of the same turn
    ("rename ~/a/x.md to y.md": ~/a/y.md; "create ~/b and in it plan.txt": ~/b/plan.txt)."""
    spans = before + new
    folders = [v for v, k in spans if k == "path"]
    names = [v for v, k in spans if k == "file"]
    if not folders or not names or not any(k in ("path", "file") for _, k in new):
        return []
    out = []
    for folder in folders:
        parent = folder.rstrip("/").rsplit("/", 1)[0] if "/" in folder.rstrip("/") else folder
        for name in names:
            for base in (folder.rstrip("/"), parent):
                joined = f"{base}/{name}"
                if base and joined not in out and joined != folder:
                    out.append(joined)
    return [(v, "joined") for v in out]


def result_leaves(value: Any, field: str = "result") -> list[tuple[Any, str, tuple]]:
    """Every scalar leaf of a tool result, in document order: (value, field name, sibling values)."""
    out: list[tuple[Any, str, tuple]] = []
    _leaves(value, field, (), out)
    return out


def _leaves(value: Any, field: str, siblings: tuple, out: list) -> None:
    if isinstance(value, dict):
        scalars = tuple(v for v in value.values() if isinstance(v, (str, int, float)) and not isinstance(v, bool))
        for k, v in value.items():
            _leaves(v, k, scalars, out)
    elif isinstance(value, list):
        for v in value:
            _leaves(v, field, siblings, out)
        # A whole column is a candidate too (every item id of an order, say): a list argument.
        if len(value) >= 2 and all(isinstance(v, str) for v in value) and _is_id(field):
            out.append((list(value), field, ()))
        elif len(value) >= 2 and all(isinstance(v, dict) for v in value):
            for k in value[0]:
                if not _is_id(k):
                    continue
                column = [v.get(k) for v in value]
                if all(isinstance(c, str) for c in column) and len(set(column)) == len(column):
                    out.append((column, k, ()))
    elif value is not None:
        out.append((value, field, siblings))


def _is_id(field: str) -> bool:
    return field == "id" or field.endswith(("_id", "_ids"))


def _key(value: Any) -> tuple:
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, list):
        return ("l", _encode(value))
    return ("s", str(value))
