"""Tasks: self-contained JSON, validated on load, with the gold plan as a networkx DAG."""

from __future__ import annotations

import hashlib
import json
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from .plan import REF, calls_signature, plan_graph, refs_in
from .state import freeze, thaw
from .validation import ArgumentValidator


class TaskError(ValueError):
    """A task file or record that does not describe a valid task."""


def _schema_path() -> Path:
    packaged = resources.files("rods_tasks") / "schema" / "task.schema.json"
    return Path(str(packaged))


@lru_cache(maxsize=1)
def task_validator() -> ArgumentValidator:
    return ArgumentValidator(json.loads(_schema_path().read_text()), root_name="(root)")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def state_digest(state: dict) -> str:
    return hashlib.sha256(canonical_json(state).encode()).hexdigest()


def content_key(record: dict, digest: str | None = None) -> str:
    """A task record's content hash, ignoring id and lineage. The initial state enters as its
    digest, which a caller holding many tasks on a few worlds may pass in, computed once."""
    rest = {k: v for k, v in record.items() if k not in ("id", "lineage", "meta", "initial_state")}
    digest = digest or state_digest(record["initial_state"])
    return hashlib.sha256(f"{digest}:{canonical_json(rest)}".encode()).hexdigest()


class Task:
    """One task. Build with ``Task.from_dict`` (validates) and write back with ``to_dict``."""

    def __init__(self, record: dict):
        self.record = record
        self.id: str = record["id"]
        self.domain: str = record["domain"]
        self.turns: list[dict] = record["turns"]
        self.calls: list[dict] = record["plan"]

    @classmethod
    def from_dict(cls, record: Any, where: str = "task") -> "Task":
        problem = task_validator().error(record)
        if problem is not None:
            raise TaskError(f"{where}: schema violation at {problem}")
        _check_plan(record, where)
        return cls(record)

    def to_dict(self) -> dict:
        return self.record

    @cached_property
    def key(self) -> str:
        """Content hash: two tasks with the same content (ignoring id and lineage) share it."""
        return content_key(self.record)

    @cached_property
    def graph(self):
        return plan_graph(self.calls)

    @cached_property
    def signature(self) -> dict:
        return calls_signature(self.calls, len(self.turns))   # equal to plan.signature(self.graph, ...), without the graph

    @cached_property
    def initial_blob(self) -> bytes:
        return freeze(self.record["initial_state"])

    def fresh_state(self) -> dict:
        return thaw(self.initial_blob)

    def calls_in_turn(self, turn: int) -> list[dict]:
        return [c for c in self.calls if c["turn"] == turn]

    @cached_property
    def gold(self):
        """Per-turn gold states and answers, computed once (GRPO replays a task many times)."""
        from .checker import run_gold
        return run_gold(self)

    def with_gold(self, gold) -> "Task":
        """This task, with its gold already known (from a run of its plan made elsewhere)."""
        self.__dict__["gold"] = gold
        return self

    def with_initial_blob(self, blob: bytes) -> "Task":
        """This task, with its world already frozen (``freeze`` of an equal initial state), so
        that resets need not freeze it again."""
        self.__dict__["initial_blob"] = blob
        return self

    def __repr__(self) -> str:
        return f"Task({self.id!r}, domain={self.domain!r}, turns={len(self.turns)}, calls={len(self.calls)})"


def _check_plan(record: dict, where: str) -> None:
    """What the schema cannot say: tools exist, references point backwards, turns are in range."""
    from .domains import DOMAINS

    domain = DOMAINS.get(record["domain"])
    if domain is None:
        raise TaskError(f"{where}: unknown domain {record['domain']!r}; known: {sorted(DOMAINS)}")
    seen: dict[str, int] = {}
    last_turn = 0
    n_turns = len(record["turns"])
    for call in record["plan"]:
        cid = call["id"]
        if cid in seen:
            raise TaskError(f"{where}: duplicate call id {cid!r}")
        if call["tool"] not in domain.tools:
            raise TaskError(f"{where}: call {cid!r} uses unknown tool {call['tool']!r}")
        if not last_turn <= call["turn"] < n_turns:
            raise TaskError(f"{where}: call {cid!r} has turn {call['turn']} out of order or range")
        last_turn = call["turn"]
        for ref in refs_in(call["args"]):
            if ref.get(REF) not in seen:
                raise TaskError(f"{where}: call {cid!r} references {ref.get(REF)!r}, not an earlier call")
        seen[cid] = call["turn"]
    for t, turn in enumerate(record["turns"]):
        for ref in turn["answers"]:
            if seen.get(ref[REF], n_turns) > t:
                raise TaskError(f"{where}: turn {t} answer references {ref[REF]!r}, not a call up to that turn")


def load_tasks(path: str | Path) -> list[Task]:
    """Read a JSONL file of tasks; any corrupt line is reported with its line number."""
    path = Path(path)
    tasks = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskError(f"{path}: cannot read task file: {exc}") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise TaskError(f"{where}: not valid JSON: {exc}") from exc
        tasks.append(Task.from_dict(record, where))
    return tasks
