"""TaskBuilder: write a task by executing its gold plan forward on a world.

A scenario (one user turn) picks entities with ``b.rng``, calls tools through ``b.call`` (which
runs them on the evolving world and returns a ``Ref`` to the result), writes the user's words
with ``b.say`` and ``b.fact``, and names the results the user wants with ``b.answer``. Passing a
Ref (or part of one) as an argument records a data dependency: the agent has to find that value
with the earlier call, because the user never states it.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import numpy as np

from .domain import Domain
from .plan import REF
from .state import copy_state
from .tool import ToolError


class ScenarioError(RuntimeError):
    """A scenario asked for a call the world refused: the turn is dropped."""


class Ref:
    """A value produced by a gold call, addressable by path: ``r["orders"][0]["order_id"]``."""

    __slots__ = ("call_id", "path", "value")

    def __init__(self, call_id: str, path: list, value: Any):
        self.call_id, self.path, self.value = call_id, path, value

    def __getitem__(self, key) -> "Ref":
        return Ref(self.call_id, self.path + [key], self.value[key])

    def __iter__(self):
        return (self[i] for i in range(len(self.value)))

    def __len__(self) -> int:
        return len(self.value)

    def encode(self) -> dict:
        return {REF: self.call_id, "path": list(self.path)}


def _encode(value: Any) -> Any:
    if isinstance(value, Ref):
        return value.encode()
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _concrete(value: Any) -> Any:
    if isinstance(value, Ref):
        return value.value
    if isinstance(value, dict):
        return {k: _concrete(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_concrete(v) for v in value]
    return value


class TaskBuilder:
    def __init__(self, domain: Domain, world: dict, rng: np.random.Generator):
        json.dumps(world)  # worlds must be JSON: tasks carry them verbatim
        self.domain, self.rng = domain, rng
        self.initial = copy_state(world)
        self.state = copy_state(world)
        self.calls: list[dict] = []
        self.turns: list[dict] = []
        self._turn: dict | None = None
        self._withhold = False

    # -- used by scenarios ------------------------------------------------------------------
    def call(self, tool: str, **args) -> Ref:
        concrete = _concrete(args)
        try:
            result = self.domain.tools[tool](self.state, concrete)
        except (ToolError, KeyError) as exc:
            raise ScenarioError(f"{tool}({concrete}): {exc}") from exc
        # Snapshot through JSON, exactly what the agent will see in its observation.
        result = json.loads(json.dumps(result))
        call_id = f"c{len(self.calls) + 1}"
        self.calls.append({"id": call_id, "turn": len(self.turns), "tool": tool, "args": _encode(args)})
        return Ref(call_id, [], result)

    def say(self, text: str) -> None:
        self._turn["instruction"] += text

    def fact(self, slot: str, value: Any, phrase: str) -> str:
        """``phrase`` with ``value`` filled in, or "" when this turn holds the value back."""
        told = phrase.format(value)
        if self._withhold and not self._turn["facts"]:
            self._turn["facts"].append({"slot": slot, "value": value, "reply": told.strip()})
            return ""
        return told

    def answer(self, ref: Ref) -> None:
        self._turn["answers"].append(ref.encode())

    def pick(self, items):
        """One element of a non-empty sequence, chosen by the builder's rng."""
        items = list(items)
        if not items:
            raise ScenarioError("nothing to pick from")
        return items[int(self.rng.integers(len(items)))]

    # -- used by the suite generator and the synthesizer --------------------------------------
    def add_turn(self, scenario: Callable[["TaskBuilder"], bool], withhold: bool = False) -> bool:
        """Run one scenario as the next user turn; on failure leave the builder as it was."""
        saved = (copy_state(self.state), len(self.calls))
        self._turn = {"instruction": "", "facts": [], "answers": []}
        self._withhold = withhold
        try:
            ok = scenario(self) is not False
        except ScenarioError:
            ok = False
        turn, self._turn = self._turn, None
        turn["instruction"] = " ".join(turn["instruction"].split())
        trivial = self.state == saved[0] and not turn["answers"]
        if not ok or trivial or not turn["instruction"] or len(self.calls) == saved[1]:
            self.state = saved[0]
            del self.calls[saved[1]:]
            return False
        self.turns.append(turn)
        return True

    def record(self, task_id: str, **meta) -> dict:
        record = {"id": task_id, "domain": self.domain.name, "initial_state": self.initial,
                  "turns": self.turns, "plan": self.calls}
        if meta:
            record["meta"] = meta
        return json.loads(json.dumps(record))
