"""Scores of an evaluation: pass^k, mean progress, per domain, with bootstrap intervals over tasks.

pass^k is tau-bench's reliability metric: the chance that k independent trials of a task all
succeed. From n trials of a task with c successes (outcome 1), C(c, k) / C(n, k) estimates it
without bias; the score is the mean of that over tasks, for k = 1..n. pass^1 is the plain success
rate; pass^k falls with k as fast as the policy is inconsistent.

>>> pass_hat_k(successes=2, trials=4, k=2)   # 1 of the C(4, 2) = 6 pairs has both successes
0.16666666666666666
"""

from __future__ import annotations

import zlib
from math import comb

import numpy as np

# Fixed, so that anyone recomputing a summary from its episodes gets the same intervals.
BOOTSTRAP = {"resamples": 1000, "seed": 0, "confidence": 0.95}


def pass_hat_k(successes: int, trials: int, k: int) -> float:
    """C(successes, k) / C(trials, k): the chance that k of the trials, drawn without
    replacement, all succeeded."""
    if not 1 <= k <= trials or not 0 <= successes <= trials:
        raise ValueError(f"pass^k needs 1 <= k <= trials and 0 <= successes <= trials "
                         f"(k={k}, trials={trials}, successes={successes})")
    return comb(successes, k) / comb(trials, k)


def group_by_task(episodes: list[dict]) -> dict[str, list[dict]]:
    """Episodes grouped by task id, tasks in sorted order (so every summary is order-free)."""
    groups: dict[str, list[dict]] = {}
    for episode in episodes:
        groups.setdefault(episode["task_id"], []).append(episode)
    return {task_id: groups[task_id] for task_id in sorted(groups)}


def task_scores(groups: dict[str, list[dict]]) -> tuple[int, np.ndarray]:
    """(trials, matrix): one row per task, columns mean progress then pass^1..pass^trials."""
    counts = {len(rows) for rows in groups.values()}
    if len(counts) != 1:
        raise ValueError(f"every task needs the same number of trials, found {sorted(counts)}")
    trials = counts.pop()
    rows = []
    for episodes in groups.values():
        successes = sum(e["outcome"] == 1 for e in episodes)
        progress = sum(e["progress"] for e in episodes) / trials
        rows.append([progress] + [pass_hat_k(successes, trials, k) for k in range(1, trials + 1)])
    return trials, np.array(rows, dtype=float)


def bootstrap_intervals(scores: np.ndarray, scope: str) -> np.ndarray:
    """Percentile intervals of each column's mean, resampling tasks (rows) with replacement.

    The generator is seeded from the fixed seed and the scope's name, so every scope (the whole
    split, each domain) gets its own stream and the same numbers on every machine.
    """
    rng = np.random.default_rng([BOOTSTRAP["seed"], zlib.crc32(scope.encode())])
    picks = rng.integers(0, len(scores), size=(BOOTSTRAP["resamples"], len(scores)))
    tail = (1 - BOOTSTRAP["confidence"]) / 2
    intervals = []
    for column in scores.T:
        means = column[picks].mean(axis=1)
        intervals.append(np.quantile(means, [tail, 1 - tail]))
    return np.array(intervals)


def _scope_summary(groups: dict[str, list[dict]], scope: str) -> dict:
    trials, scores = task_scores(groups)
    intervals = bootstrap_intervals(scores, scope)
    episodes = [e for rows in groups.values() for e in rows]
    return {
        "tasks": len(groups), "trials": trials, "episodes": len(episodes),
        "outcome": sum(e["outcome"] for e in episodes) / len(episodes),
        "progress": float(scores[:, 0].mean()),
        "progress_ci95": [float(x) for x in intervals[0]],
        "pass_hat_k": [float(x) for x in scores[:, 1:].mean(axis=0)],
        "pass_hat_k_ci95": [[float(lo), float(hi)] for lo, hi in intervals[1:]],
    }


def summarize(episodes: list[dict]) -> dict:
    """Every aggregate of a results file, computed from its per-trial episode records alone."""
    if not episodes:
        raise ValueError("no episodes to summarize")
    groups = group_by_task(episodes)
    summary = _scope_summary(groups, "all")
    domains: dict[str, dict] = {}
    for task_id, rows in groups.items():
        domains.setdefault(rows[0]["domain"], {})[task_id] = rows
    summary["domains"] = {domain: _scope_summary(domains[domain], domain) for domain in sorted(domains)}
    summary["bootstrap"] = dict(BOOTSTRAP)
    return summary
