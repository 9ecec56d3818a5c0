"""The oracle: replays a task's gold plan through the public environment API.

It asks for each held-back fact, issues the turn's gold calls one per step (as text JSON, or as
OpenAI-style dicts), fills references from the results it has observed, and ends the turn by
telling the user the values they asked for. It reads only the task (privileged) and what the
environment returns, so an oracle score of 1 shows a task is solvable through the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .actions import dumps_ascii, loads
from .checker import answer_forms
from .plan import resolve


class _Observed(dict):
    """The results the oracle has seen, by call id. A result is kept as the tool message's text
    (in ``text``) and decoded the first time a reference reads it: most results are read by
    nothing (a whole order, a whole directory listing), and decoding them all would be most of
    the oracle's work."""

    __slots__ = ("text",)

    def __init__(self):
        super().__init__()
        self.text: dict[str, str] = {}

    def __missing__(self, call_id: str) -> Any:
        value = self[call_id] = loads(self.text.pop(call_id))   # KeyError when never seen
        return value


class OraclePolicy:
    def __init__(self, tasks: Mapping[str, Any] | list, action_format: str = "text"):
        self.tasks = tasks if isinstance(tasks, Mapping) else {t.id: t for t in tasks}
        self.action_format = action_format
        self.task = None

    def reset(self, info: dict) -> None:
        self.task = self.tasks[info["task_id"]]
        self.results: dict[str, Any] = _Observed()
        self.turn = -1
        self.pending: Any = None

    def act(self, observation: str, info: dict) -> Any:
        if self.task is None or info["task_id"] != self.task.id:
            self.reset(info)
        self._collect(info["messages"])
        if info["turn"] != self.turn:
            self.turn = info["turn"]
            self.queue = [("ask", fact["slot"]) for fact in self.task.turns[self.turn]["facts"]]
            self.queue += [("call", call) for call in self.task.calls_in_turn(self.turn)]
            self.queue.append(("reply", None))
        kind, item = self.queue.pop(0)
        if kind == "ask":
            return f"Could you tell me your {item}?"
        if kind == "call":
            self.pending = item["id"]
            call = {"name": item["tool"], "arguments": self._resolve(item["args"])}
            if self.action_format == "dict":
                return {"role": "assistant", "content": "", "tool_calls": [
                    {"id": item["id"], "type": "function",
                     "function": {"name": call["name"], "arguments": dumps_ascii(call["arguments"])}}]}
            return dumps_ascii(call)
        return self._reply()

    def _resolve(self, value):
        try:
            return resolve(value, self.results)
        except (KeyError, IndexError, TypeError):
            # An earlier call failed or saw another world (a subclass spoiled it): use the gold value.
            return resolve(value, self.task.gold.results)

    def _collect(self, messages: list[dict]) -> None:
        for m in messages:
            if m["role"] == "tool" and self.pending is not None:
                if not m["content"].startswith("Error:"):
                    if type(self.results) is _Observed:
                        self.results.pop(self.pending, None)    # a result seen again replaces the old
                        self.results.text[self.pending] = m["content"]
                    else:       # a subclass keeping a plain dict: decode now
                        self.results[self.pending] = loads(m["content"])
                self.pending = None

    def _reply(self) -> str:
        told = []
        for ref in self.task.turns[self.turn]["answers"]:
            value = self._resolve(ref)
            told += [forms[0] for forms in answer_forms(value)]
        return "Done. " + ", ".join(told) if told else "All done."
