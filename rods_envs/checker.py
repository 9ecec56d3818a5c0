"""The checker: after each user turn, the state must equal the gold state after that turn, and
every value the user asked for must have reached the user. Progress is the fraction of turns
passed; the outcome is 1 only when all of them pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from .plan import lookup, resolve
from .state import copy_state
from .tool import ToolError


@dataclass(frozen=True)
class Gold:
    states: list[dict]                          # the state after each turn
    unchanged: list[bool]                       # did turn t leave the gold state as it found it?
    answers: list[list[list[str]]]              # per turn, per required value: accepted forms, lowercased
    results: dict[str, Any]                     # every gold call's result, by call id


def answer_forms(value: Any) -> list[list[str]]:
    """The texts that count as telling the user ``value``: one requirement per scalar, each a
    list of accepted spellings (a list value requires every element)."""
    if isinstance(value, list):
        return [forms for v in value for forms in answer_forms(v)]
    if isinstance(value, bool):
        return [["yes", "true"] if value else ["no", "false"]]
    if isinstance(value, float):
        return [sorted({f"{value:.2f}", f"{value:g}", repr(value)})]
    if isinstance(value, (int, str)):
        return [[str(value)]]
    raise ValueError(f"an answer must be a scalar or a list of scalars, not {type(value).__name__}")


def mentions(said: str, form: str) -> bool:
    """Is ``form`` in ``said`` as a whole word or number ("12" is not found inside "112")?"""
    start = said.find(form)
    while start != -1:
        end = start + len(form)
        if (start == 0 or not _word_char(said[start - 1])) and (end == len(said) or not _word_char(said[end])):
            return True
        start = said.find(form, start + 1)
    return False


def _word_char(c: str) -> bool:
    return c.isascii() and c.isalnum()


def run_gold(task) -> Gold:
    from .domains import get_domain
    from .task import TaskError

    tools = get_domain(task.domain).tools
    state = task.fresh_state()
    results: dict[str, Any] = {}
    states = []
    for t in range(len(task.turns)):
        for call in task.calls_in_turn(t):
            try:
                args = resolve(call["args"], results)
                # A copy, so later calls cannot change a result already recorded.
                results[call["id"]] = copy_state(tools[call["tool"]](state, args))
            except (ToolError, KeyError, IndexError, TypeError) as exc:
                raise TaskError(f"{task.id}: gold call {call['id']} ({call['tool']}) fails: {exc}") from exc
        states.append(copy_state(state))
    return gold_from_run(task, results, states)


def gold_from_run(task, results: dict[str, Any], states: list[dict]) -> Gold:
    """The gold of ``task`` from a run of its plan: each call's result by id, the state after
    each turn. (The synthesizer runs a plan as it builds it, and need not run it again.)"""
    from .task import TaskError

    answers, unchanged = [], []
    for t, turn in enumerate(task.turns):
        before = states[t - 1] if t else task.record["initial_state"]
        unchanged.append(states[t] == before)
        required = []
        for ref in turn["answers"]:
            try:
                value = lookup(results[ref["$ref"]], ref["path"])
                required += [[f.lower() for f in forms] for forms in answer_forms(value)]
            except (KeyError, IndexError, TypeError, ValueError) as exc:
                raise TaskError(f"{task.id}: turn {t} answer {ref} is not a scalar result: {exc}") from exc
        answers.append(required)
    return Gold(states, unchanged, answers, results)


def told(gold: Gold, turn: int, said: str) -> bool:
    """Did every value the user asked for in ``turn`` appear in what the agent said?"""
    required = gold.answers[turn]
    if not required:        # most turns ask for nothing: no need to lowercase all that was said
        return True
    said = said.lower()
    return all(any(mentions(said, form) for form in forms) for forms in required)


def turn_passed(task, turn: int, state: dict, said: str) -> bool:
    """Did the agent's work in ``turn`` reach the gold state and tell the user what they asked?"""
    gold = task.gold
    return state == gold.states[turn] and told(gold, turn, said)


@dataclass(frozen=True)
class Score:
    passed: tuple[bool, ...]

    @property
    def progress(self) -> float:
        return sum(self.passed) / len(self.passed)

    @property
    def outcome(self) -> int:
        return int(all(self.passed))


def score_episode(task, turns: Iterable[dict]) -> Score:
    """Judge a recorded episode: ``turns[i]`` holds ``calls`` (name, arguments) made during user
    turn i and ``said``, the text the agent sent to the user. Calls are replayed on a fresh copy
    of the task's world; refused or invalid calls change nothing, as in the environment."""
    from .domains import get_domain

    tools = get_domain(task.domain).tools
    gold = task.gold
    state = task.fresh_state()
    matched = True          # the state equals the gold state as the turn begins
    passed = []
    for t, turn in zip(range(len(task.turns)), turns):
        wrote = False
        for name, args in turn["calls"]:
            tool = tools.get(name)
            if tool is None:
                continue
            try:
                tool(state, args)
            except ToolError:
                continue
            except Exception:  # as in the env: a tool bug is an error, and may have changed state
                pass
            wrote = wrote or tool.writes
        # A turn without a successful write leaves the state as it was: when that state matched
        # gold, it still matches exactly when the gold turn changed nothing either.
        matched = state == gold.states[t] if wrote or not matched else gold.unchanged[t]
        passed.append(matched and told(gold, t, turn["said"]))
    passed += [False] * (len(task.turns) - len(passed))
    return Score(tuple(passed))
