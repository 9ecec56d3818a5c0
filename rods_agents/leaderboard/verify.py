"""Checks a results file must pass before the leaderboard shows it.

In order: it is a regular file under the size limit; it is UTF-8 JSON; it matches the results
schema; its suite exists and has the stated hash; it has exactly one episode for every task of
the split and every trial; each episode is self-consistent; and every aggregate in its summary
equals the one recomputed from the episodes. Each failure is a ``Rejected`` with one line saying
why.
"""

from __future__ import annotations

import hashlib
import json
import math
from functools import lru_cache
from pathlib import Path

import jsonschema

from . import SCHEMA_PATH
from .metrics import summarize

MAX_BYTES = 50 * 1024 * 1024   # 880 episodes take about 0.3 MB; 50 MB leaves room for big suites
MAX_MESSAGE = 160              # schema messages quote the bad value, which may be huge


class Rejected(ValueError):
    """A results file the leaderboard does not accept; the message says why in one line."""


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def read_results_file(path: str | Path, max_bytes: int = MAX_BYTES) -> tuple[bytes, dict]:
    """The file's bytes and its parsed JSON, refusing what is not a small JSON object."""
    path = Path(path)
    if not path.exists():
        raise Rejected("no such file")
    if not path.is_file():
        raise Rejected("not a regular file")
    size = path.stat().st_size
    if size > max_bytes:
        raise Rejected(f"the file is {size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB limit for results")
    with open(path, "rb") as f:
        data = f.read(max_bytes + 1)      # the file may have grown since stat
    if len(data) > max_bytes:
        raise Rejected(f"the file is over the {max_bytes / 2**20:.0f} MiB limit for results")
    if not data.strip():
        raise Rejected("the file is empty, not JSON")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected(f"not JSON: byte {exc.start} is not UTF-8 text") from None
    try:
        value = json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise Rejected(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:
        raise Rejected(f"not JSON we accept: {_short(exc)}") from None
    if not isinstance(value, dict):
        raise Rejected(f"not a results file: the JSON is {type(value).__name__}, not an object")
    return data, value


def _no_constants(name: str):
    raise ValueError(f"{name} is not a JSON number")


@lru_cache(maxsize=1)
def results_validator() -> jsonschema.Draft202012Validator:
    try:
        schema = json.loads(SCHEMA_PATH.read_text())
    except OSError as exc:
        raise OSError(f"the results schema is missing ({SCHEMA_PATH}): {exc.strerror}") from None
    return jsonschema.Draft202012Validator(schema)


def check_schema(results: dict) -> None:
    error = jsonschema.exceptions.best_match(results_validator().iter_errors(results))
    if error is not None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
        raise Rejected(f"schema violation at {where or 'the top level'}: {_short(error.message)}")


def load_suite_for(results: dict):
    from rods_agents.evaluate import load_source

    try:
        return load_source(results["suite"])
    except (ValueError, OSError, ImportError) as exc:
        raise Rejected(f"unknown suite {results['suite']!r}: {_short(exc)}") from None


def check_suite(results: dict, source) -> None:
    if results["suite_hash"] != source.hash:
        raise Rejected(f"suite_hash {results['suite_hash'][:12]}… is not {results['suite']}'s hash "
                       f"({source.hash[:12]}…): the results come from another version of the suite")


def check_coverage(results: dict, source) -> None:
    """Exactly one episode per (task of the split, trial in 0..trials-1), each consistent."""
    split, trials = results["split"], results["trials"]
    tasks = {t.id: t for t in source.tasks(split)}
    where = f"{results['suite']}/{split}"
    seen: set[tuple[str, int]] = set()
    for index, e in enumerate(results["episodes"]):
        label = f"episodes[{index}] (task {e['task_id']!r}, trial {e['trial']})"
        task = tasks.get(e["task_id"])
        if task is None:
            raise Rejected(f"{label}: no such task in {where}")
        if e["domain"] != task.domain:
            raise Rejected(f"{label}: the task is a {task.domain} task, not {e['domain']!r}")
        if e["trial"] >= trials:
            raise Rejected(f"{label}: trial out of range, the file says trials={trials} (counted from 0)")
        if (e["task_id"], e["trial"]) in seen:
            raise Rejected(f"{label}: a second record of the same task and trial")
        seen.add((e["task_id"], e["trial"]))
        check_episode(e, task, label)
    expected = len(tasks) * trials
    if len(seen) < expected:
        missing = next((task_id, trial) for trial in range(trials) for task_id in tasks
                       if (task_id, trial) not in seen)
        raise Rejected(f"missing {expected - len(seen)} of {expected} episodes ({len(tasks)} tasks of {where} "
                       f"x {trials} trials), for example task {missing[0]!r} trial {missing[1]}")


def check_episode(e: dict, task, label: str) -> None:
    """An episode's outcome and progress must fit together and fit the task's turns."""
    if (e["outcome"] == 1) != (e["progress"] == 1):
        raise Rejected(f"{label}: outcome {e['outcome']} does not fit progress {e['progress']} "
                       "(outcome is 1 exactly when every turn passed)")
    turns = getattr(task, "turns", None)
    if isinstance(turns, (list, tuple)) and turns:
        passed = e["progress"] * len(turns)
        if abs(passed - round(passed)) > 1e-6:
            raise Rejected(f"{label}: progress {e['progress']} is not a whole number of the task's {len(turns)} turns")
        if e["turns"] > len(turns):
            raise Rejected(f"{label}: {e['turns']} turns judged, but the task has {len(turns)}")


def first_difference(stated, computed, path: str = "summary") -> str | None:
    """Where ``stated`` departs from ``computed`` (numbers within 1e-9), or None when it does not."""
    if isinstance(computed, dict):
        if not isinstance(stated, dict):
            return f"{path} should be an object"
        for key in computed:
            if key not in stated:
                return f"{path} lacks {key!r}"
        for key in stated:
            if key not in computed:
                return f"{path}.{key} is not an aggregate rods computes"
        for key in computed:
            found = first_difference(stated[key], computed[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(computed, list):
        if not isinstance(stated, list) or len(stated) != len(computed):
            return f"{path} should have {len(computed)} entries"
        for index, (s, c) in enumerate(zip(stated, computed)):
            found = first_difference(s, c, f"{path}[{index}]")
            if found:
                return found
        return None
    numeric = isinstance(stated, (int, float)) and not isinstance(stated, bool)
    if isinstance(computed, bool) or not isinstance(computed, (int, float)):
        return None if stated == computed else f"{path} states {stated!r}, the episodes give {computed!r}"
    if numeric and math.isclose(stated, computed, rel_tol=1e-9, abs_tol=1e-12):
        return None
    return f"{path} states {_short(repr(stated))}, the episodes give {computed!r}"


def check_aggregates(results: dict) -> None:
    difference = first_difference(results["summary"], summarize(results["episodes"]))
    if difference:
        raise Rejected(f"stated aggregates disagree with the episodes: {difference}")


def content_hash(results: dict) -> str:
    """What two submissions share when one is a copy of the other: suite, split and episodes
    (names, metadata and timestamps are left out, so a renamed copy is still a duplicate)."""
    episodes = sorted(results["episodes"], key=lambda e: (e["task_id"], e["trial"]))
    core = {"suite_hash": results["suite_hash"], "split": results["split"], "trials": results["trials"],
            "episodes": episodes}
    return hashlib.sha256(json.dumps(core, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def verify(results: dict) -> None:
    """Every check but the size, JSON and duplicate ones; raises ``Rejected``."""
    check_schema(results)
    source = load_suite_for(results)
    check_suite(results, source)
    check_coverage(results, source)
    check_aggregates(results)


def verify_file(path: str | Path, max_bytes: int = MAX_BYTES) -> tuple[bytes, dict]:
    data, results = read_results_file(path, max_bytes)
    verify(results)
    return data, results
