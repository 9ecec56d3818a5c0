"""The BFCL oracle: replays each turn's ground-truth calls through the public environment API.

Each turn's gold calls go out as one action (BFCL's gold is one step per turn), in BFCL's Python
format, as JSON text, or as OpenAI-style dicts (these two in chunks of the core parser's limit).
Then the oracle ends the turn with a message: where a turn has no gold calls it asks for the
missing detail (miss_param), says the function is missing (miss_func), or declines.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from ..actions import MAX_CALLS

CLOSING = {
    "calls": "Done.",
    "ask": "Some information is missing: could you tell me the details I need?",
    "cannot": "I cannot do that with the functions I have.",
    "nothing": "There is nothing I can do for that.",
}
FORMATS = ("python", "text", "dict")


class BFCLOraclePolicy:
    def __init__(self, tasks: Mapping[str, Any] | list, action_format: str = "python"):
        if action_format not in FORMATS:
            raise ValueError(f"action_format must be one of {FORMATS}, not {action_format!r}")
        self.tasks = tasks if isinstance(tasks, Mapping) else {t.id: t for t in tasks}
        self.action_format = action_format
        self.task = None

    def reset(self, info: dict) -> None:
        self.task = self.tasks[info["task_id"]]
        self.turn = -1
        self.queue: list = []

    def act(self, observation: str, info: dict) -> Any:
        if self.task is None or info["task_id"] != self.task.id:
            self.reset(info)
        if info["turn"] != self.turn:
            self.turn = info["turn"]
            self.queue = self._actions(self.turn) + [CLOSING[self.task.expects(self.turn)]]
        return self.queue.pop(0)

    def _actions(self, turn: int) -> list:
        if not self.task.gold[turn]:
            return []
        if self.action_format == "python":
            return ["[" + ", ".join(self.task.gold[turn]) + "]"]
        calls = self.task.expected.turns[turn].calls
        chunks = [calls[i:i + MAX_CALLS] for i in range(0, len(calls), MAX_CALLS)]
        if self.action_format == "text":
            return [json.dumps([{"name": n, "arguments": k} for n, k in chunk]) for chunk in chunks]
        return [{"role": "assistant", "content": "", "tool_calls": [
            {"id": f"gold_{turn}_{i}", "type": "function",
             "function": {"name": n, "arguments": json.dumps(k)}} for i, (n, k) in enumerate(chunk)]}
            for chunk in chunks]
