"""The 800 BFCL multi-turn tasks that bfcl-eval ships, as ``BFCLTask`` objects, and their splits.

Categories: ``base``, ``miss_func`` (a function is held out until a later turn), ``miss_param``
(a turn lacks a detail the agent must ask for) and ``long_context`` (the backends carry large
extra data), 200 tasks each. Task ``multi_turn_<category>_<k>`` is a variant of base scenario k.

Splits: ``train`` holds the even k, ``test`` the odd k, ``all`` both: 100 + 100 per category.
A base scenario and its three variants share a split, so no test scenario is seen in training.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Iterable

from .install import require_bfcl

CATEGORIES = ("base", "miss_func", "miss_param", "long_context")
SPLITS = ("train", "test", "all")


def split_of(index: int) -> str:
    """The split of scenario ``index``: the fixed, documented rule (even: train, odd: test)."""
    return "train" if index % 2 == 0 else "test"


@dataclass(eq=False)
class BFCLTask:
    """One BFCL multi-turn task. ``turns[t]`` is what the user says to open turn t; ``gold[t]``
    the ground-truth calls of turn t as BFCL writes them (empty where no call is right)."""

    id: str
    category: str
    index: int
    turns: tuple[str, ...]
    gold: tuple[tuple[str, ...], ...]
    initial_config: dict
    classes: tuple[str, ...]
    revealed: dict[int, tuple[str, ...]] = field(default_factory=dict)   # turn -> functions shown then
    record: dict = field(default_factory=dict, repr=False)               # the BFCL entry, untouched

    domain = "bfcl"

    @property
    def long_context(self) -> bool:
        # As BFCL's executor decides it: from the category named in the id.
        return "long_context" in self.category

    @property
    def split(self) -> str:
        return split_of(self.index)

    def hidden_before(self, turn: int) -> frozenset[str]:
        """Functions held out of the agent's tools while serving ``turn`` (miss_func only)."""
        hidden = self._hidden
        return hidden[turn] if 0 <= turn < len(hidden) else frozenset()

    @cached_property
    def _hidden(self) -> tuple[frozenset[str], ...]:
        return tuple(frozenset(name for t, names in self.revealed.items() if t > turn for name in names)
                     for turn in range(len(self.turns)))

    def expects(self, turn: int) -> str:
        """What a right answer to ``turn`` looks like: ``"calls"``, or for a turn without gold
        calls ``"ask"`` (miss_param: a detail is missing), ``"cannot"`` (miss_func: the function
        is not there yet) or ``"nothing"``."""
        if self.gold[turn]:
            return "calls"
        if self.category == "miss_param":
            return "ask"
        if self.category == "miss_func" and any(t > turn for t in self.revealed):
            return "cannot"
        return "nothing"

    @cached_property
    def expected(self):
        """Gold results and states per turn, computed once and cached (see checker.run_gold)."""
        from .checker import run_gold
        return run_gold(self)

    @cached_property
    def graph(self):
        from .plan import gold_plan_graph
        return gold_plan_graph(self)

    @cached_property
    def signature(self) -> dict:
        from ..plan import signature
        return signature(self.graph, len(self.turns))

    def __repr__(self) -> str:
        calls = sum(map(len, self.gold))
        return f"BFCLTask({self.id!r}, turns={len(self.turns)}, calls={calls}, classes={list(self.classes)})"


def data_dir() -> Path:
    return Path(require_bfcl().__file__).parent / "data"


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _additional_function_prompt() -> str:
    from bfcl_eval.constants.default_prompts import DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC
    return DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC


def _task(category: str, entry: dict, answer: dict) -> BFCLTask:
    if entry["id"] != answer["id"]:
        raise ValueError(f"bfcl-eval data out of step: question {entry['id']} has answer {answer['id']}")
    revealed = {int(t): tuple(names) for t, names in entry.get("missed_function", {}).items()}
    turns = []
    for t, messages in enumerate(entry["question"]):
        if t in revealed and not messages:
            # BFCL's harness opens a turn that reveals functions with this fixed user message.
            turns.append(_additional_function_prompt())
        else:
            turns.append("\n".join(m["content"] for m in messages if m["role"] == "user"))
    return BFCLTask(
        id=entry["id"], category=category, index=int(entry["id"].rsplit("_", 1)[1]),
        turns=tuple(turns), gold=tuple(tuple(turn) for turn in answer["ground_truth"]),
        initial_config=entry.get("initial_config", {}), classes=tuple(entry["involved_classes"]),
        revealed=revealed, record=entry)


@lru_cache(maxsize=None)
def _category(category: str) -> tuple[BFCLTask, ...]:
    data = data_dir()
    name = f"BFCL_v4_multi_turn_{category}.json"
    questions = _read_jsonl(data / name)
    answers = _read_jsonl(data / "possible_answer" / name)
    if len(questions) != len(answers):
        raise ValueError(f"bfcl-eval data: {len(questions)} questions but {len(answers)} answers in {name}")
    return tuple(_task(category, q, a) for q, a in zip(questions, answers))


def _categories(category: str | Iterable[str]) -> list[str]:
    names = list(CATEGORIES) if category == "all" else [category] if isinstance(category, str) else list(category)
    unknown = [c for c in names if c not in CATEGORIES]
    if unknown or not names:
        raise ValueError(f"unknown BFCL category {unknown or names!r}; choose from {list(CATEGORIES)} or 'all'")
    return names


def load_tasks(category: str | Iterable[str] = "all", split: str = "all") -> list[BFCLTask]:
    """The tasks of ``category`` ("all", one name, or several) in ``split``; each call returns the
    same task objects, so gold results computed once are shared by every environment."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {list(SPLITS)}")
    return [task for name in _categories(category) for task in _category(name)
            if split == "all" or task.split == split]
