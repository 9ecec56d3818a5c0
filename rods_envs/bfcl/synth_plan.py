"""Plans for BFCL variants: turns of concrete calls, lifted from a task's ground truth and run
forward on the task's own backends.

A BFCL world (``initial_config``) is written for one scenario, so a variant keeps its seed's
world and changes the calls. A ``Plan`` is a list of ``Turn`` objects; a turn holds concrete
calls and, where the seed's words still describe some of them, that human text (``human``
covers ``calls[lead:len(calls) - tail]``; the calls before and after it are phrased from
templates). ``derive`` names the parameters whose value the agent reads from an earlier result
rather than from the user, which is what ``plan.gold_plan_graph`` turns into value edges.

``Run`` executes calls one at a time on fresh backends, refuses any call whose result is a
failure (the state is restored), and tracks each call's depth in the plan DAG by the rule of
``plan.gold_plan_graph`` (state edges from the latest writer of the same backend, value edges
from the latest result holding a derived value), so walks can aim at a depth before the task is
built.
"""

from __future__ import annotations

import json
import pickle
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from .backends import fresh_instances, public_state
from .checker import execute, parse_gold_call, task_functions
from .plan import _distinctive, _fingerprint, _parsed, _scalars

_PICKLE = pickle.HIGHEST_PROTOCOL
_NOT_FOUND = re.compile(r"\bnot found\b|^unknown$", re.IGNORECASE)


@dataclass(frozen=True)
class Call:
    name: str
    kwargs: dict
    derive: frozenset = frozenset()       # parameters read off an earlier result, not stated


@dataclass(frozen=True)
class Turn:
    calls: tuple[Call, ...]
    human: str | None = None              # the seed's words for calls[lead:len(calls) - tail]
    lead: int = 0
    tail: int = 0
    withhold: tuple[int, str] | None = None   # (call, parameter) the user holds back until asked

    @property
    def templated(self) -> bool:
        return self.human is None


@dataclass(frozen=True)
class Plan:
    turns: tuple[Turn, ...]
    lineage: dict = field(default_factory=dict)

    @property
    def calls(self) -> list[Call]:
        return [c for turn in self.turns for c in turn.calls]

    def locate(self, k: int) -> tuple[int, int]:
        """(turn, position in turn) of the k-th call."""
        for t, turn in enumerate(self.turns):
            if k < len(turn.calls):
                return t, k
            k -= len(turn.calls)
        raise IndexError(k)

    def with_turn(self, t: int, turn: Turn) -> "Plan":
        return replace(self, turns=self.turns[:t] + (turn,) + self.turns[t + 1:])


def tagged(plan: Plan, mutation: str, **more) -> Plan:
    lineage = {**plan.lineage, **more}
    lineage["mutations"] = list(plan.lineage.get("mutations", [])) + [mutation]
    return replace(plan, lineage=lineage)


# -- results ------------------------------------------------------------------------------------

def failed(result: str) -> bool:
    """Does a rendered result report a failure? BFCL's backends raise (``Error during
    execution``) or return a dict with ``error``, a false ``success`` or ``*_status``, or a
    "not found" value."""
    if result.startswith("Error"):
        return True
    value = _parsed(result)
    if not isinstance(value, dict):
        return False
    for key, item in value.items():
        if key == "error":
            return True
        if item is False and (key == "success" or key.endswith("_status")):
            return True
        if isinstance(item, str) and _NOT_FOUND.search(item):
            return True
    return False


def informative(result: str) -> bool:
    """A result the user must receive: not a failure and not empty."""
    value = _parsed(result)
    return not failed(result) and value not in (None, "", "None", {}, [])


def _leaves(value: Any, path: tuple = ()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, path + (i,))
    else:
        yield path, value


def source_of(parsed: list, upto: int, value: Any) -> tuple[int, str] | None:
    """Where the agent reads ``value`` from: (the latest call before ``upto`` whose result holds
    it, the result field), if that field singles it out (the only field of its name in that
    result), else None (the user has to state it)."""
    if not _distinctive(value):
        return None
    for j in range(upto - 1, -1, -1):
        leaves = list(_leaves(parsed[j]))
        if not any(v == value and type(v) is type(value) for _, v in leaves):
            if value in set(_scalars(parsed[j])):
                return None        # equal but of another type (1 == 1.0): leave it to the user
            continue
        named = [p for p, v in leaves if p and not isinstance(p[-1], int) and v == value and type(v) is type(value)]
        if len(named) != 1:
            return None
        key = named[0][-1]
        if sum(1 for p, _ in leaves if p and p[-1] == key) != 1:
            return None
        return j, str(key)
    return None


# -- running a plan -----------------------------------------------------------------------------

class Run:
    """Calls executed in order on a private copy of ``task``'s backends."""

    def __init__(self, task):
        self.task = task
        self.functions = task_functions(task.classes)
        self.instances = fresh_instances(task)
        self.prints = {name: _fingerprint(inst) for name, inst in self.instances.items()}
        self.publics = {name: pickle.dumps(public_state(inst), _PICKLE) for name, inst in self.instances.items()}
        self.calls: list[Call] = []
        self.results: list[str] = []
        self.parsed: list[Any] = []
        self.depth: list[int] = []
        self.useful: list[bool] = []       # changed public state or returned something
        self.last_writer: dict[str, int] = {}
        self._values_of: dict[int, set] = {}

    def __len__(self) -> int:
        return len(self.calls)

    @property
    def max_depth(self) -> int:
        return max(self.depth, default=0)

    def frontier(self) -> tuple[int, list[str]]:
        """The depth of the deepest state change, and the backends whose latest writer is there:
        a call on one of them goes one deeper."""
        top = max((self.depth[j] for j in self.last_writer.values()), default=0)
        return top, sorted(c for c, j in self.last_writer.items() if self.depth[j] == top)

    def cls(self, name: str) -> str:
        return self.functions[name].cls

    def parents(self, call: Call) -> set[int]:
        """The calls the new one would depend on (plan.gold_plan_graph's rule)."""
        out = set()
        cls = self.cls(call.name)
        if cls in self.last_writer:
            out.add(self.last_writer[cls])
        for name in call.derive:
            for value in _scalars(call.kwargs.get(name)):
                for j in range(len(self.parsed) - 1, -1, -1):
                    if value in self._values(j):
                        out.add(j)
                        break
        return out

    def depth_of(self, call: Call) -> int:
        return 1 + max((self.depth[p] for p in self.parents(call)), default=0)

    def _values(self, j: int) -> set:
        if j not in self._values_of:
            self._values_of[j] = set(_scalars(self.parsed[j]))
        return self._values_of[j]

    def add(self, call: Call, turn: int = 0) -> str | None:
        """Run ``call`` next: None on success, else why it was refused (nothing of it kept)."""
        if call.name not in self.functions:
            return "unknown function"
        cls = self.cls(call.name)
        depth = self.depth_of(call)
        snapshot = pickle.dumps(self.instances[cls], _PICKLE)
        result = execute(self.task, turn, self.instances, call.name, dict(call.kwargs))
        if failed(result):
            self.instances[cls] = pickle.loads(snapshot)
            return "a call fails"
        after = _fingerprint(self.instances[cls])
        public = pickle.dumps(public_state(self.instances[cls]), _PICKLE)
        if after != self.prints[cls]:
            self.last_writer[cls] = len(self.calls)
        self.useful.append(public != self.publics[cls] or informative(result))
        self.prints[cls], self.publics[cls] = after, public
        self.calls.append(call)
        self.results.append(result)
        self.parsed.append(_parsed(result))
        self.depth.append(depth)
        return None


def run_plan(task, plan: Plan) -> tuple[Run | None, str | None]:
    run = Run(task)
    for t, turn in enumerate(plan.turns):
        for call in turn.calls:
            problem = run.add(call, t)
            if problem:
                return None, problem
    return run, None


# -- lifting a task -----------------------------------------------------------------------------

def _additional_function_prompt() -> str:
    from .data import _additional_function_prompt as prompt
    return prompt()


def lift(task) -> Plan:
    """A task's ground truth as a plan. A turn without gold calls (miss_param's underspecified
    turn, miss_func's turn before the function appears, a rare base turn) joins the next turn,
    whose calls it asked for, so every turn of the plan has calls and says all it needs."""
    functions = task_functions(task.classes)
    extra = _additional_function_prompt()
    results = [r for gold_turn in task.expected.turns for r in gold_turn.results]
    seen_values: list[set] = []
    turns, pending = [], []
    k = 0
    for t, strings in enumerate(task.gold):
        text = task.turns[t]
        if text.strip() and not (text == extra and t in task.revealed):
            pending.append(text)
        if not strings:
            continue
        said = " ".join(task.turns[: t + 1])
        calls = []
        for s in strings:
            name, kwargs = parse_gold_call(s, functions)
            derive = frozenset(p for p, v in kwargs.items()
                               if any(str(x) not in said and any(x in vals for vals in seen_values)
                                      for x in _scalars(v)))
            calls.append(Call(name, kwargs, derive))
            seen_values.append(set(_scalars(_parsed(results[k]))))
            k += 1
        turns.append(Turn(tuple(calls), " ".join(pending)))
        pending = []
    lineage = dict(task.record.get("lineage") or {"seed": task.id, "mutations": []})
    return Plan(tuple(turns), lineage)


# -- the literal pool ---------------------------------------------------------------------------

def _freeze(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


class LiteralPool:
    """What the gold calls of tasks on one world passed: whole argument sets per function, and
    values per (backend, parameter name), in first-seen order (so draws are deterministic)."""

    def __init__(self, tasks):
        self.arguments: dict[str, list[dict]] = defaultdict(list)
        self.values: dict[tuple[str, str], list] = defaultdict(list)
        seen_args, seen_values = set(), set()
        for task in tasks:
            functions = task_functions(task.classes)
            for strings in task.gold:
                for s in strings:
                    name, kwargs = parse_gold_call(s, functions)
                    cls = functions[name].cls
                    if (name, _freeze(kwargs)) not in seen_args:
                        seen_args.add((name, _freeze(kwargs)))
                        self.arguments[name].append(kwargs)
                    for param, value in kwargs.items():
                        if (cls, param, _freeze(value)) not in seen_values:
                            seen_values.add((cls, param, _freeze(value)))
                            self.values[(cls, param)].append(value)

    def can_draw(self, function) -> bool:
        return bool(self.arguments.get(function.name)) or all(
            self.values.get((function.cls, p)) or function.schema["properties"].get(p, {}).get("enum")
            for p in function.schema.get("required", []))

    def draw(self, function, rng, fixed: dict | None = None, vary: float = 0.35) -> dict | None:
        """Arguments for ``function``: an argument set seen in gold, with some values swapped for
        others seen for the same parameter; or else each required parameter from the values
        seen for it (or its enum). ``fixed`` values are kept. None when a parameter has none."""
        fixed = fixed or {}
        seen = self.arguments.get(function.name)
        if seen:
            kwargs = dict(seen[int(rng.integers(len(seen)))])
            for param in list(kwargs):
                options = self.values.get((function.cls, param), [])
                if param not in fixed and len(options) > 1 and rng.random() < vary:
                    kwargs[param] = options[int(rng.integers(len(options)))]
        else:
            kwargs = {}
            for param in function.schema.get("required", []):
                if param in fixed:
                    continue
                options = self.values.get((function.cls, param)) or \
                    function.schema["properties"].get(param, {}).get("enum") or []
                if not options:
                    return None
                kwargs[param] = options[int(rng.integers(len(options)))]
        kwargs.update(fixed)
        return {p: kwargs[p] for p in function.parameters if p in kwargs}
