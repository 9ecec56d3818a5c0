"""User simulators: who speaks for the user between the agent's turns.

The environment asks the user for each turn's instruction and shows it every message the agent
sends. The user either answers it (the agent asked a clarifying question) or lets it end the
agent's turn, which the environment then judges. ``ScriptedUser`` does this deterministically
from the task; any object with the same three methods (an LLM user, say) can replace it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Protocol

import numpy as np


class UserSimulator(Protocol):
    def reset(self, task, rng: np.random.Generator) -> None:
        """Start a conversation about ``task``."""

    def instruction(self, turn: int) -> str:
        """What the user says to open turn ``turn``."""

    def respond(self, turn: int, message: str) -> str | None:
        """The user's reply to ``message``, or None when the message ends the agent's turn."""


@lru_cache(maxsize=4096)     # the same few slots recur in every task: compile each once
def _mentions(slot: str) -> re.Pattern:
    words = [re.escape(w) for w in re.split(r"[\s_\-]+", slot.lower()) if len(w) >= 2]
    return re.compile(r"\b(" + "|".join(words or [re.escape(slot.lower())]) + r")\b")


class ScriptedUser:
    """Serves the task's turns in order; answers a question that names a held-back fact.

    A message is a clarifying question when it contains '?' and mentions a word of a fact's slot
    (for the slot "zip code": "zip" or "code"); the reply is that fact. Any other message ends
    the turn.
    """

    def reset(self, task, rng=None) -> None:
        self.task = task
        self._facts: dict[int, list] = {}    # per turn, built when the first question comes

    def instruction(self, turn: int) -> str:
        return self.task.turns[turn]["instruction"]

    def respond(self, turn: int, message: str) -> str | None:
        if "?" not in message:
            return None
        facts = self._facts.get(turn)
        if facts is None:
            facts = self._facts[turn] = [(_mentions(f["slot"]), f["reply"]) for f in self.task.turns[turn]["facts"]]
        text = message.lower()
        replies = [reply for mentions, reply in facts if mentions.search(text)]
        return " ".join(replies) if replies else None
