"""``StructuredOracle``: the gold plan replayed through ``StructuredActions``, and
``oracle_coverage``: how much of a suite the structured action space can express."""

from __future__ import annotations

import re
from typing import Any

import gymnasium as gym
import numpy as np

from rods_envs.checker import answer_forms
from rods_envs.oracle import OraclePolicy

from .structured import StructuredActions, _encode, _Param, _say

class StructuredOracle(OraclePolicy):
    """Replays the current task's gold plan as structured actions, through ``StructuredActions``.

    Like ``rods_envs.OraclePolicy`` (whose reference filling it shares) it reads the task
    (privileged) and the results it observes, but it can only say what the action space can say:
    each argument must be among the candidates or the parameter's enum. ``misses`` records, per
    episode, what it could not express and why.
    """

    def __init__(self, env: StructuredActions):
        super().__init__({})
        self.env = env
        self.misses: list[str] = []

    def reset(self, info: dict | None = None) -> None:
        self.task = self.env.unwrapped.task
        self.results: dict[str, Any] = {}
        self.turn = -1
        self.pending: str | None = None
        self.misses = []

    def act(self, observation: np.ndarray, info: dict) -> np.ndarray:
        if self.task is not self.env.unwrapped.task:
            self.reset()
        self._collect(info["messages"])
        if info["turn"] != self.turn:
            self.turn = info["turn"]
            self.queue = [("ask", f) for f in self.task.turns[self.turn]["facts"]]
            self.queue += [("call", c) for c in self.task.calls_in_turn(self.turn)]
            self.queue.append(("reply", None))
        cands = info["candidates"]
        while True:
            kind, item = self.queue.pop(0)
            if kind == "ask":
                action = self._ask(item, cands)
                if action is None:
                    continue
                return action
            if kind == "call":
                self.pending = item["id"]
                return self._call(item, cands)
            return self._reply(cands)

    # -- pieces ------------------------------------------------------------------------------------------
    def _home(self) -> str | None:
        state = self.env.unwrapped.state
        return state.get("home") if isinstance(state.get("home"), str) else None

    def _blank(self) -> np.ndarray:
        return np.full(1 + self.env.S, self.env.K - 1, np.int64)

    def _ask(self, fact: dict, cands: list) -> np.ndarray | None:
        env = self.env
        # Already said or used this turn (so it stays in view): no need to ask.
        if _find(fact["value"], [c.value for c in env._shown if c.key in env._said], None) is not None:
            return None
        words = [w for w in re.split(r"[\s_\-]+", fact["slot"].lower()) if len(w) >= 2] or [fact["slot"].lower()]
        heard = re.compile(r"\b(" + "|".join(map(re.escape, words)) + r")\b")
        # Prefer the parameter the fact fills in this turn's gold calls, then any parameter.
        used = [(c["tool"], p) for c in self.task.calls_in_turn(self.turn)
                for p, v in c["args"].items() if v == fact["value"]]
        tables = env._tables
        options = used + [(t, p.name) for t, table in tables.items() for p in table.params]
        for tool, pname in options:
            names = [p.name for p in tables[tool].params]
            if pname in names and heard.search(env.question(tool, names.index(pname)).lower()):
                a = self._blank()
                a[0] = env.n_tools + 1 + env._tool_index[tool]
                a[1] = names.index(pname)
                return a
        self.misses.append(f"ask: no question names the slot {fact['slot']!r}")
        return None

    def _call(self, call: dict, cands: list) -> np.ndarray:
        env = self.env
        a = self._blank()
        a[0] = env._tool_index[call["tool"]]
        args = self._resolve(call["args"])
        for j, p in enumerate(env._table(call["tool"]).params):
            if p.name not in args:
                continue
            value = args[p.name]
            if p.choices is not None:
                hit = next((i for i, c in enumerate(p.choices) if c == value and type(c) is type(value)), None)
            else:
                hit = _find(value, cands, p, self._home())
            if hit is None:
                self.misses.append(f"{call['tool']}.{p.name}: {_short(value)} not among the candidates")
            else:
                a[1 + j] = hit
        return a

    def _reply(self, cands: list) -> np.ndarray:
        env = self.env
        a = self._blank()
        a[0] = env.n_tools
        values = []
        for ref in self.task.turns[self.turn]["answers"]:
            value = self._resolve(ref)
            values += value if isinstance(value, list) else [value]
        slots = []
        for value in values:
            hit = _find(value, cands, None)
            if hit is None:
                self.misses.append(f"reply: {_short(value)} not among the candidates")
            elif hit not in slots:
                slots.append(hit)
        if len(slots) > env.S:
            self.misses.append(f"reply: {len(slots)} values, but only {env.S} slots")
        a[1:1 + min(len(slots), env.S)] = slots[:env.S]
        return a


def _find(value: Any, cands: list, param: _Param | None, home: str | None = None) -> int | None:
    """The index of the first candidate that gives ``value`` (for ``param``, after coercion).
    With ``home`` (a file system's), "~/x" and "<home>/x" are the same path."""
    if home is not None and isinstance(value, str):
        value = _expand(value, home)
    for i, c in enumerate(cands):
        if param is None:
            if c == value and type(c) is type(value) or _told(value, c):
                return i
        elif param.accepts(c):
            c = param.coerce(c)
            if home is not None and isinstance(c, str):
                c = _expand(c, home)
            if _same(c, value):
                return i
    return None


def _expand(path: str, home: str) -> str:
    if path == "~" or path.startswith("~/"):
        path = home + path[1:]
    return path.rstrip("/") if len(path) > 1 and path.startswith("/") else path


def _same(a: Any, b: Any) -> bool:
    return a == b and type(a) is type(b) if not isinstance(a, list) else a == b


def _told(value: Any, candidate: Any) -> bool:
    """Would naming ``candidate`` tell the user ``value`` (as the checker reads a reply)?"""
    if isinstance(value, list):
        return False
    try:
        forms = answer_forms(value)[0]
    except ValueError:
        return False
    return _say(candidate).lower() in [f.lower() for f in forms]


def _short(value: Any) -> str:
    text = _encode(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- coverage -------------------------------------------------------------------------------------
def oracle_coverage(env_id: str = "rods/Mixed-v0", split: str = "train", max_candidates: int = 32,
                    **env_kwargs) -> dict:
    """Run ``StructuredOracle`` on every task of ``split`` through the wrapper.

    Returns ``{"outcome": {domain: mean}, "progress": {...}, "misses": {task_id: [reasons]},
    "steps": n}``.
    """
    env = StructuredActions(gym.make(env_id, split=split, **env_kwargs), max_candidates=max_candidates)
    oracle = StructuredOracle(env)
    outcomes: dict[str, list[int]] = {}
    progress: dict[str, list[float]] = {}
    misses: dict[str, list[str]] = {}
    steps = 0
    for task in env.unwrapped.tasks:
        obs, info = env.reset(options={"task_id": task.id})
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(oracle.act(obs, info))
            steps += 1
            done = terminated or truncated
        outcomes.setdefault(task.domain, []).append(info.get("outcome", 0))
        progress.setdefault(task.domain, []).append(info["progress"])
        if not info.get("outcome", 0):
            misses[task.id] = oracle.misses or ["(no miss recorded)"]
    env.close()
    summary = {d: float(np.mean(v)) for d, v in sorted(outcomes.items())}
    summary["all"] = float(np.mean([x for v in outcomes.values() for x in v]))
    return {"outcome": summary,
            "progress": {d: float(np.mean(v)) for d, v in sorted(progress.items())},
            "misses": misses, "steps": steps}
