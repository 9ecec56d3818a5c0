"""BFCL's multi-turn check, per turn, with the gold side computed once per task.

The semantics are those of bfcl-eval's ``multi_turn_checker``. For a turn with gold calls:
  - the agent must have made at least one step with calls in that turn ("empty turn" fails);
  - state check: every public attribute (name not starting with '_') of every backend instance
    must equal the gold instance's after the gold calls of all turns so far;
  - response check: every gold result string of this turn must appear among the results of all
    the agent's calls so far, in any order, each occurrence matched once (a multiset inclusion).
A turn without gold calls (miss_func before the function is shown, miss_param's underspecified
turn, a few base turns) is not checked: BFCL leaves it to the later turns' state checks, since
whatever the agent did there is carried forward.

BFCL stops at the first failing turn and gives one verdict. Here every turn gets a verdict, so
progress = fraction of turns passed (the RODS progress reward), and outcome = every turn passed,
which is exactly BFCL's verdict.

Scoring a recorded trajectory replays the agent's calls on fresh backends, except while the
agent's turns repeat the gold turns call for call: backends are deterministic, so such a turn
ends in the cached gold state with the cached gold results, and replay starts from the pickled
gold state where the agent first departs from gold.
"""

from __future__ import annotations

import json
import pickle
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Sequence

from ..checker import Score
from .backends import Function, all_functions, fresh_instances, public_state, same_state
from .calls import CallSyntaxError, bind, parse_python_calls

Call = tuple[str, Any]          # (function name, keyword arguments; None when malformed)
_key_json = json.JSONEncoder(ensure_ascii=False, allow_nan=True).encode


@dataclass(frozen=True, eq=False)
class GoldTurn:
    calls: tuple[Call, ...]
    keys: tuple[str, ...]
    results: tuple[str, ...]
    needed: Counter               # the results as a multiset
    state: dict                   # class -> public attributes after this turn
    blob: bytes                   # the pickled instances after this turn: where a replay resumes


@dataclass(frozen=True, eq=False)
class Gold:
    turns: tuple[GoldTurn, ...]


def call_key(name: str, kwargs: Any) -> str | None:
    """Equal keys mean the same call: names match and arguments match, 1, 1.0 and True apart."""
    if not isinstance(kwargs, dict):
        return None
    try:
        return name + "\x00" + _key_json(sorted(kwargs.items()))
    except (TypeError, ValueError):
        return None


def parse_gold_call(text: str, functions: dict[str, Function]) -> Call:
    """One string of BFCL's ground truth (``"sort('final_report.pdf')"``) as (name, kwargs)."""
    calls = parse_python_calls(text)
    if not calls or len(calls) != 1:
        raise ValueError(f"not one call: {text!r}")
    call = calls[0]
    if call.name not in functions:
        raise ValueError(f"unknown function in {text!r}")
    return call.name, bind(call, functions[call.name].parameters)


@lru_cache(maxsize=None)
def task_functions(classes: tuple[str, ...]) -> dict[str, Function]:
    """The functions of a task's backends (what BFCL's executor can dispatch to)."""
    return {name: f for name, f in all_functions().items() if f.cls in classes}


def execute(task, turn: int, instances: dict, name: str, kwargs: Any) -> str:
    """Run one of the agent's calls as BFCL's executor does: any function of the task's backends
    runs, even one miss_func has not shown yet (BFCL's gold for miss_func_49 calls ``tail`` two
    turns before the user reveals it); functions of other backends do not exist."""
    function = task_functions(task.classes).get(name)
    if function is None:
        return f"Error: unknown function {name[:128]!r} for this task"
    if not isinstance(kwargs, dict):
        return f"Error: malformed call of {name[:128]!r}"
    return function.run(instances, kwargs)


def run_gold(task) -> Gold:
    """Execute the gold calls turn by turn on fresh backends; keep results and states."""
    functions = task_functions(task.classes)
    instances = fresh_instances(task)
    turns = []
    previous: dict = {}
    for t, strings in enumerate(task.gold):
        calls = tuple(parse_gold_call(s, functions) for s in strings)
        results = tuple(execute(task, t, instances, name, kwargs) for name, kwargs in calls)
        blob = pickle.dumps(instances, pickle.HIGHEST_PROTOCOL)
        state = {name: _share(public_state(inst), previous.get(name, {}))
                 for name, inst in pickle.loads(blob).items()}
        turns.append(GoldTurn(calls, tuple(call_key(n, k) for n, k in calls), results,
                              Counter(results), state, blob))
        previous = state
    return Gold(tuple(turns))


def _share(attributes: dict, before: dict) -> dict:
    """``attributes`` with each value equal to the previous turn's replaced by that object: most
    of a state stays the same from turn to turn, and fewer objects make lighter work for Python's
    garbage collector in a process that holds the gold of hundreds of tasks."""
    out = {}
    for key, value in attributes.items():
        old = before.get(key, _ABSENT)
        try:
            same = old is not _ABSENT and type(old) is type(value) and old == value
        except RecursionError:
            same = False
        out[key] = old if same else value
    return out


_ABSENT = object()


def turn_passes(gold: GoldTurn, made_calls: bool, instances: dict | None, results_so_far: Counter) -> bool:
    """BFCL's checks of one turn; ``instances`` None means "known to be in the gold state"."""
    if not gold.calls:
        return True
    if not made_calls:
        return False
    if instances is not None and not same_state(instances, gold.state):
        return False
    return all(results_so_far[r] >= n for r, n in gold.needed.items())


def score_trajectory(task, turns: Sequence[Sequence[Sequence[Call]]], resume_from_gold: bool = True) -> Score:
    """Judge a recorded episode: ``turns[t]`` lists the agent's steps in user turn t, each step
    the calls of one action as (name, kwargs). Turns never reached count as failed.
    ``resume_from_gold=False`` replays every call (the same verdicts, more slowly)."""
    gold = task.expected
    instances = None                # None while the agent has repeated gold exactly
    results_so_far: Counter = Counter()
    passed = []
    if not resume_from_gold:
        instances = fresh_instances(task)
    for t, steps in zip(range(len(task.turns)), turns):
        gold_turn = gold.turns[t]
        calls = [call for step in steps for call in step]
        if instances is None and len(calls) == len(gold_turn.keys) and \
                all(call_key(n, k) == key for (n, k), key in zip(calls, gold_turn.keys)):
            results_so_far.update(gold_turn.results)
            passed.append(turn_passes(gold_turn, bool(calls), None, results_so_far))
            continue
        if instances is None:
            instances = pickle.loads(gold.turns[t - 1].blob) if t else fresh_instances(task)
        for name, kwargs in calls:
            results_so_far[execute(task, t, instances, name, kwargs)] += 1
        passed.append(turn_passes(gold_turn, bool(calls), instances, results_so_far))
    passed += [False] * (len(task.turns) - len(passed))
    return Score(tuple(passed))


def decode(decoded: Iterable[Iterable[Iterable[str]]], task) -> list[list[list[Call]]]:
    """BFCL's decoded model result (turns of steps of call strings) as a trajectory; a string
    that is not one plain call stays in as a malformed call, which BFCL would also run (and fail)."""
    functions = task_functions(task.classes)
    turns = []
    for turn in decoded:
        steps = []
        for step in turn:
            calls = []
            for text in step:
                try:
                    parsed = parse_python_calls(text) or []
                    if len(parsed) != 1:
                        raise CallSyntaxError("not one call")
                    call = parsed[0]
                    function = functions.get(call.name)
                    calls.append((call.name, bind(call, function.parameters) if function else call.kwargs))
                except CallSyntaxError:
                    calls.append((str(text)[:128], None))
            if calls:
                steps.append(calls)
        turns.append(steps)
    return turns


def check_decoded(task, decoded) -> Score:
    """Our verdict on input in the shape BFCL's ``multi_turn_checker`` takes."""
    return score_trajectory(task, decode(decoded, task))
