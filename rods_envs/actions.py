"""Parse an agent's action into tool calls or a message to the user.

Accepted forms:
- an OpenAI-style assistant message dict, ``{"role": "assistant", "content": ..., "tool_calls": [...]}``;
- a single call as a dict, ``{"name": ..., "arguments": {...}}``, or a list of such dicts;
- text holding ``<tool_call>{...}</tool_call>`` blocks (Hermes/Qwen style);
- text that starts with ``{`` or ``[``: a JSON call or list of calls;
- any other text: a message to the user.
Anything else, or anything malformed, becomes an ``Action`` with ``error`` set: never an exception.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from json.encoder import JSONEncoder, c_make_encoder, encode_basestring, encode_basestring_ascii
from typing import Any

MAX_ACTION_CHARS = 65_536
MAX_CALLS = 16
_BLOCK = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)


# -- JSON without json's Python layers ------------------------------------------------------------
# Every tool-call step decodes an action and encodes its arguments and result, and the oracle
# encodes the call and decodes the result again. ``json.dumps``/``json.loads`` wrap the C
# scanner and encoder in Python calls, and build a fresh C encoder for every value: for the
# small values of a step that is as much time as the work itself. These helpers call the C parts
# directly and hand anything unusual to ``json`` itself, so values and errors stay json's own.

def _fast_dumps(ensure_ascii: bool):
    reference = JSONEncoder(ensure_ascii=ensure_ascii).encode
    if c_make_encoder is None:          # a Python without the C accelerator: json's own path
        return reference
    # No circular check (markers=None): a cycle recurses until RecursionError, and then the
    # reference encoder, which does check, raises json's own error for it.
    encode = c_make_encoder(None, JSONEncoder().default, encode_basestring_ascii if ensure_ascii else
                            encode_basestring, None, ": ", ", ", False, False, True)

    def dumps(value: Any) -> str:
        try:
            return "".join(encode(value, 0))    # the C encoder returns its chunks, usually one
        except RecursionError:
            return reference(value)
    return dumps


dumps_ascii = _fast_dumps(ensure_ascii=True)       # == json.dumps(value)
dumps_text = _fast_dumps(ensure_ascii=False)       # == json.dumps(value, ensure_ascii=False)
_scan = json.JSONDecoder().scan_once


def loads(text: str) -> Any:
    """``json.loads(text)`` for a str. A document with no surrounding whitespace (what encoders
    write) goes straight to the C scanner; anything else, errors included, to json.loads."""
    try:
        value, end = _scan(text, 0)
    except (StopIteration, ValueError, RecursionError):
        return json.loads(text)
    if end != len(text):
        return json.loads(text)
    return value


# -- actions --------------------------------------------------------------------------------------
@dataclass(slots=True)
class Call:
    id: str
    name: str
    arguments: dict | None
    error: str | None = None          # set when the call itself is malformed


@dataclass(slots=True)
class Action:
    calls: list[Call] = field(default_factory=list)
    text: str | None = None
    error: str | None = None


class _Malformed(ValueError):
    pass


def _loads(text: str) -> Any:
    try:
        return loads(text)
    except (ValueError, RecursionError) as exc:
        raise _Malformed(f"malformed JSON ({exc})") from None


def _call(raw: Any, fallback_id: str) -> Call:
    if not isinstance(raw, dict):
        raise _Malformed(f"a tool call must be a JSON object, got {type(raw).__name__}")
    call_id = raw.get("id")
    call_id = call_id[:64] if isinstance(call_id, str) and call_id else fallback_id
    if raw.get("type") == "function" or "function" in raw:   # OpenAI tool_calls entry
        raw = raw.get("function")
        if not isinstance(raw, dict):
            raise _Malformed("'function' must be an object with 'name' and 'arguments'")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise _Malformed("a tool call needs a string 'name'")
    args = raw.get("arguments", raw.get("parameters", {}))
    if isinstance(args, str):
        try:
            args = _loads(args) if args.strip() else {}
        except _Malformed as exc:
            return Call(call_id, name[:128], None, f"arguments of {name[:128]!r}: {exc}")
    if not isinstance(args, dict):
        return Call(call_id, name[:128], None, f"arguments of {name[:128]!r} must be a JSON object")
    return Call(call_id, name[:128], args)


def _calls(raws: list, next_id) -> list[Call]:
    if not raws:
        raise _Malformed("an empty list of tool calls")
    if len(raws) > MAX_CALLS:
        raise _Malformed(f"at most {MAX_CALLS} tool calls per action, got {len(raws)}")
    calls = []
    for raw in raws:        # a loop, not a comprehension: no extra frame per action (Python 3.11)
        calls.append(_call(raw, next_id()))
    return calls


def _from_text(text: str, next_id) -> Action:
    if "<tool_call>" in text:
        blocks = _BLOCK.findall(text)
        if text.count("<tool_call>") != len(blocks):
            raise _Malformed("a <tool_call> block is not closed with </tool_call>")
        return Action(calls=_calls([_loads(block) for block in blocks], next_id))
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:                # _loads, inlined: this is every text tool call
            parsed = loads(stripped)
        except (ValueError, RecursionError) as exc:
            raise _Malformed(f"malformed JSON ({exc})") from None
        return Action(calls=_calls(parsed if isinstance(parsed, list) else [parsed], next_id))
    return Action(text=text)


def _from_dict(message: dict, next_id) -> Action:
    if "tool_calls" in message and message["tool_calls"]:
        if not isinstance(message["tool_calls"], list):
            raise _Malformed("'tool_calls' must be a list")
        return Action(calls=_calls(message["tool_calls"], next_id))
    if "name" in message or "function" in message:
        return Action(calls=_calls([message], next_id))
    content = message.get("content")
    if isinstance(content, str):
        return _from_text(content, next_id)
    raise _Malformed("a message needs string 'content' or a list of 'tool_calls'")


def _json_only(action: Action) -> Action:
    """A dict action can carry values JSON cannot hold (sets, objects): such a call is malformed."""
    for call in action.calls:
        if call.error is None:
            try:
                dumps_ascii(call.arguments)
            except (TypeError, ValueError, RecursionError):
                call.arguments, call.error = None, f"arguments of {call.name!r} must be JSON values"
    return action


def parse_action(action: Any, next_id) -> Action:
    """Parse ``action``; ``next_id()`` supplies ids for calls that carry none."""
    try:
        if isinstance(action, str):
            if len(action) > MAX_ACTION_CHARS:
                raise _Malformed(f"action is {len(action)} characters; the limit is {MAX_ACTION_CHARS}")
            return _from_text(action, next_id)
        if isinstance(action, dict):
            return _json_only(_from_dict(action, next_id))
        if isinstance(action, list):
            return _json_only(Action(calls=_calls(action, next_id)))
        raise _Malformed(f"an action must be text, a message dict or a list of calls, not {type(action).__name__}")
    except _Malformed as exc:
        return Action(error=str(exc))
