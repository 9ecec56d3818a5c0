"""The co-evolving replay buffer: the tasks the policy trains on, kept at its capability boundary.

It starts from the seed tasks (the 400-odd rods-v1 training tasks, say) and changes once per
*round* (a fixed number of GRPO groups):

- retire tasks the detector calls mastered, and tasks that have stayed hard for
  ``hard_patience`` visits in a row (never below ``min_size`` tasks);
- admit ``resample_like`` variants of boundary tasks, the most variable first: a few per task
  (``variants_per_task``), at most ``max_children`` over a task's life, at most ``max_admit``
  per round, never beyond ``capacity``.

Sampling favours boundary tasks (``weights``). Every entry remembers its lineage (the seed it
descends from, its parent, the mutations applied). ``save``/``load`` capture everything, the
random generator included, so a run resumed from a file continues exactly as it would have.

>>> import rods_envs
>>> seeds = rods_envs.load_suite().split("train")
>>> buffer = ReplayBuffer(seeds, capacity=800)
>>> task = buffer.sample()
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .boundary import LABELS, BoundaryDetector

UNSEEN = "unseen"


class TaskCodec(Protocol):
    def encode(self, task) -> dict: ...
    def decode(self, record: dict): ...


class NativeCodec:
    """rods_envs tasks as their JSON records."""

    def encode(self, task) -> dict:
        return task.to_dict()

    def decode(self, record: dict):
        from rods_envs.task import Task
        return Task.from_dict(record)


class BFCLCodec:
    """BFCL tasks: one of BFCL's own by its id, a synthesized variant by its record."""

    def encode(self, task) -> dict:
        from rods_envs.bfcl.synth import ID_PREFIX
        return {"variant": task.record} if task.id.startswith(ID_PREFIX) else {"bfcl_id": task.id}

    def decode(self, record: dict):
        from rods_envs.bfcl.synth import task_from_record
        if "bfcl_id" in record:
            task = _bfcl_tasks_by_id().get(record["bfcl_id"])
            if task is None:
                raise ValueError(f"no BFCL task {record['bfcl_id']!r}")
            return task
        return task_from_record(record["variant"])


@functools.lru_cache(maxsize=1)
def _bfcl_tasks_by_id() -> dict:
    from rods_envs.bfcl import load_tasks
    return {t.id: t for t in load_tasks("all", "all")}


def codec_for(tasks: list) -> TaskCodec:
    return BFCLCodec() if tasks and tasks[0].domain == "bfcl" else NativeCodec()


class Synthesize(Protocol):
    def __call__(self, task, n: int, rng: np.random.Generator) -> list: ...


@dataclass(frozen=True)
class BufferPolicy:
    groups_per_round: int = 32       # GRPO groups between two rounds of synthesis and retirement
    variants_per_task: int = 2       # variants asked for per boundary task per round
    max_children: int = 8            # variants a task may spawn over its life
    max_admit: int = 32              # admissions per round
    hard_patience: int = 3           # consecutive hard visits before a task retires
    retire_mastered: bool = True
    min_size: int = 32               # retirement never shrinks the buffer below this
    weights: dict = field(default_factory=lambda: {"boundary": 4.0, UNSEEN: 2.0, "hard": 1.0, "mastered": 0.25})


@dataclass
class Entry:
    task: Any
    root: str                        # the seed task it descends from
    parent: str | None = None
    mutations: list = field(default_factory=list)
    added_round: int = 0
    hard_visits: int = 0             # consecutive visits classed hard
    children: int = 0


@dataclass(frozen=True)
class RoundStats:
    round: int
    size: int
    share: dict                      # label -> fraction of the buffer
    admitted: int
    retired: dict                    # reason -> count
    mean_variance: float             # mean normalised variance over visited tasks
    variants: int                    # entries that are not seeds


class ReplayBuffer:
    def __init__(self, seeds: list, capacity: int = 800, synthesize: Synthesize | None = None,
                 detector: BoundaryDetector | None = None, policy: BufferPolicy = BufferPolicy(),
                 seed: int = 0, codec: TaskCodec | None = None):
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity, self.policy = capacity, policy
        self.synthesize = synthesize
        self.detector = detector or BoundaryDetector()
        self.codec = codec or codec_for(seeds)
        self.rng = np.random.default_rng([seed, 0xB0F])
        self.entries: dict[str, Entry] = {}
        for task in seeds[:capacity]:
            self.entries.setdefault(task.id, Entry(task, root=task.id))
        self.retired: dict[str, dict] = {}
        self.round = 0
        self.groups = 0                  # groups recorded in the current round
        self.admitted_this_round = 0
        self.history: list[RoundStats] = []

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def variant_count(self) -> int:
        """Active entries that are synthesized variants (not seeds)."""
        return sum(1 for e in self.entries.values() if e.parent is not None)

    def label(self, task_id: str) -> str:
        return self.detector.label(task_id) or UNSEEN

    # -- serving ----------------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator | None = None):
        """A task, drawn with probability proportional to its class weight."""
        rng = rng if rng is not None else self.rng
        ids = list(self.entries)
        weights = np.array([self.policy.weights[self.label(i)] for i in ids], dtype=float)
        return self.entries[ids[int(rng.choice(len(ids), p=weights / weights.sum()))]].task

    def record_group(self, task_id: str, rewards: list[float]) -> RoundStats | None:
        """One finished GRPO group of ``task_id``; returns the round's statistics when this group
        closes a round (synthesis and retirement have then run)."""
        if task_id in self.entries:
            estimate = self.detector.observe(task_id, rewards)
            entry = self.entries[task_id]
            entry.hard_visits = entry.hard_visits + 1 if estimate.label == "hard" else 0
        self.groups += 1
        if self.groups >= self.policy.groups_per_round:
            return self.end_round()
        return None

    # -- co-evolution -----------------------------------------------------------------------------
    def end_round(self) -> RoundStats:
        retired = self._retire()
        admitted = self._admit()
        self.round += 1
        self.groups = 0
        visited = [self.detector.estimates[i].normalised for i in self.entries if i in self.detector.estimates]
        labels = [self.label(i) for i in self.entries]
        stats = RoundStats(
            round=self.round, size=len(self.entries),
            share={label: labels.count(label) / max(len(labels), 1) for label in (*LABELS, UNSEEN)},
            admitted=admitted, retired=retired,
            mean_variance=float(np.mean(visited)) if visited else 0.0,
            variants=self.variant_count)
        self.history.append(stats)
        return stats

    def _retire(self) -> dict:
        counts = {"mastered": 0, "hard": 0}
        for task_id in sorted(self.entries, key=self._retire_order):
            if len(self.entries) <= self.policy.min_size:
                break
            entry, label = self.entries[task_id], self.label(task_id)
            reason = None
            if label == "mastered" and self.policy.retire_mastered:
                reason = "mastered"
            elif label == "hard" and entry.hard_visits >= self.policy.hard_patience:
                reason = "hard"
            if reason:
                counts[reason] += 1
                self.retired[task_id] = {"root": entry.root, "parent": entry.parent, "reason": reason,
                                         "round": self.round}
                del self.entries[task_id]
        return counts

    def _retire_order(self, task_id: str) -> tuple:
        # Surest first: mastered by mean, hard by how long it has been hard.
        estimate = self.detector.estimates.get(task_id)
        return (-(estimate.mean if estimate else 0.0), -self.entries[task_id].hard_visits, task_id)

    def _admit(self) -> int:
        if self.synthesize is None:
            return 0
        boundary = [i for i in self.entries if self.label(i) == "boundary"]
        boundary.sort(key=lambda i: (-self.detector.estimates[i].normalised, i))
        admitted = 0
        for task_id in boundary:
            room = min(self.capacity - len(self.entries), self.policy.max_admit - admitted)
            parent = self.entries[task_id]
            want = min(self.policy.variants_per_task, self.policy.max_children - parent.children, room)
            if want <= 0:
                if room <= 0:
                    break
                continue
            for variant in self.synthesize(parent.task, want, self.rng)[:want]:
                if variant.id in self.entries or variant.id in self.retired:
                    continue
                lineage = (getattr(variant, "record", None) or {}).get("lineage") or {}
                self.entries[variant.id] = Entry(variant, root=parent.root, parent=task_id,
                                                 mutations=list(lineage.get("mutations", [])),
                                                 added_round=self.round)
                parent.children += 1
                admitted += 1
        return admitted

    # -- persistence ------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "capacity": self.capacity, "policy": asdict(self.policy),
            "entries": [{"task": self.codec.encode(e.task), "root": e.root, "parent": e.parent,
                         "mutations": e.mutations, "added_round": e.added_round,
                         "hard_visits": e.hard_visits, "children": e.children} for e in self.entries.values()],
            "retired": self.retired, "round": self.round, "groups": self.groups,
            "history": [asdict(s) for s in self.history],
            "detector": self.detector.state_dict(),
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict) -> None:
        self.capacity = state["capacity"]
        self.policy = BufferPolicy(**state["policy"])
        self.entries = {}
        for e in state["entries"]:
            task = self.codec.decode(e["task"])
            self.entries[task.id] = Entry(task, e["root"], e["parent"], e["mutations"], e["added_round"],
                                          e["hard_visits"], e["children"])
        self.retired = state["retired"]
        self.round, self.groups = state["round"], state["groups"]
        self.history = [RoundStats(**s) for s in state["history"]]
        self.detector = BoundaryDetector.from_state_dict(state["detector"])
        self.rng.bit_generator.state = state["rng"]

    def save(self, path: str | Path) -> None:
        save_json(path, self.state_dict())

    def load(self, path: str | Path) -> None:
        load_into(self, path, "replay buffer")


def save_json(path: str | Path, state: dict) -> None:
    """Write ``state`` as JSON atomically: a crash mid-write leaves the old file whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(state, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_into(obj, path: str | Path, what: str) -> None:
    """``obj.load_state_dict`` from the JSON file at ``path``; a file that is not a valid ``what``
    is refused with one line and leaves ``obj`` as it was."""
    state = load_json(path, what)
    before = obj.state_dict()
    try:
        obj.load_state_dict(state)
    except (KeyError, TypeError, ValueError) as exc:
        obj.load_state_dict(before)
        raise ValueError(f"{path} is not a valid {what} file ({type(exc).__name__}: {exc})") from None


def load_json(path: str | Path, what: str) -> dict:
    try:
        state = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ValueError(f"no {what} file at {path}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a {what} file (not JSON: {exc})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a {what} file (not a JSON object)")
    return state


__all__ = ["BFCLCodec", "BufferPolicy", "Entry", "NativeCodec", "codec_for", "load_into", "ReplayBuffer", "RoundStats", "load_json", "save_json"]
