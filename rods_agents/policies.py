"""Policies anyone can run: the oracle (gold plan replay), random, and do-nothing.

A policy is any object with ``act(observation, info) -> action`` and, optionally,
``reset(info)`` called after each ``env.reset``.
"""

from __future__ import annotations

import json
import re

import numpy as np

from rods_envs.episode import DoNothingPolicy, Policy
from rods_envs.oracle import OraclePolicy

__all__ = ["DoNothingPolicy", "OraclePolicy", "Policy", "RandomPolicy"]

_TOKEN = re.compile(r"[#\w][\w.@/+-]*")


class RandomPolicy:
    """Calls a random tool with arguments drawn from words seen in the dialogue, or ends its turn
    saying a few such words.

    Arguments follow each parameter's JSON Schema (enums, types, arrays), so most calls are
    well-formed and some even succeed: a floor any learned policy must clear.
    """

    def __init__(self, seed: int | None = None, end_turn_prob: float = 0.25):
        self.rng = np.random.default_rng(seed)
        self.end_turn_prob = end_turn_prob
        self.words: list[str] = []

    def reset(self, info: dict) -> None:
        self.words = []

    def act(self, observation: str, info: dict) -> str:
        for m in info["messages"]:
            self.words += _TOKEN.findall(m["content"])[:200]
        if self.rng.random() < self.end_turn_prob:
            said = [self.words[int(i)] for i in self.rng.integers(len(self.words), size=3)] if self.words else []
            return "Okay, that's done: " + " ".join(said)
        tool = info["tools"][int(self.rng.integers(len(info["tools"])))]["function"]
        params = tool["parameters"]
        args = {name: self._value(params["properties"][name]) for name in params.get("required", [])}
        return json.dumps({"name": tool["name"], "arguments": args})

    def _value(self, schema: dict):
        if "enum" in schema:
            return schema["enum"][int(self.rng.integers(len(schema["enum"])))]
        kind = schema.get("type")
        if kind == "integer":
            return int(self.rng.integers(0, 10))
        if kind == "number":
            return float(self.rng.integers(0, 100))
        if kind == "boolean":
            return bool(self.rng.random() < 0.5)
        if kind == "array":
            return [self._value(schema.get("items", {"type": "string"}))]
        if kind == "object":
            return {k: self._value(v) for k, v in schema.get("properties", {}).items()}
        if self.words:
            return self.words[int(self.rng.integers(len(self.words)))]
        return "x"
