"""Evaluate a policy on a suite split: every task, several trials, one results record each."""

from __future__ import annotations

import importlib
import json
import platform
import sys
from dataclasses import asdict
from importlib import metadata
from typing import Callable

import gymnasium as gym

import rods_envs
from rods_envs.episode import run_episode

from .policies import OraclePolicy, RandomPolicy


def make_policy(spec: str, tasks, seed: int) -> object:
    """``oracle``, ``random`` or ``module:factory`` (called with no arguments)."""
    if spec == "oracle":
        return OraclePolicy(tasks)
    if spec == "random":
        return RandomPolicy(seed)
    module, sep, factory = spec.partition(":")
    if not sep:
        raise ValueError(f"--policy must be oracle, random or MODULE:FACTORY, not {spec!r}")
    return getattr(importlib.import_module(module), factory)()


def _progress(items, total: int, label: str):
    try:
        from tqdm import tqdm
        return tqdm(items, total=total, desc=label, unit="ep", file=sys.stderr)
    except ImportError:
        return items


def evaluate(policy_spec: str, suite_name: str = "rods-v1", split: str = "test", trials: int = 1,
             seed: int = 0, domains: list[str] | None = None, on_episode: Callable | None = None) -> dict:
    suite = rods_envs.load_suite(suite_name)
    tasks = suite.split(split)
    if domains:
        tasks = [t for t in tasks if t.domain in domains]
    policy = make_policy(policy_spec, tasks, seed)
    envs = {}
    episodes = []
    jobs = [(trial, task) for trial in range(trials) for task in tasks]
    for trial, task in _progress(jobs, len(jobs), f"{policy_spec} on {suite_name}/{split}"):
        if task.domain not in envs:
            envs[task.domain] = gym.make(rods_envs.ENV_IDS[task.domain], suite=suite_name, split=split)
        episode_seed = seed * 1_000_003 + trial
        result = run_episode(envs[task.domain], policy, seed=episode_seed, options={"task_id": task.id})
        record = {"domain": task.domain, "trial": trial, **asdict(result)}
        episodes.append(record)
        if on_episode:
            on_episode(record)
    return {
        "suite": suite_name, "suite_hash": suite.hash, "split": split, "trials": trials,
        "policy": {"name": policy_spec, "seed": seed},
        "episodes": episodes, "summary": summarize(episodes),
        "versions": {"python": platform.python_version(), "rods": metadata.version("rods"),
                     "gymnasium": gym.__version__},
    }


def summarize(episodes: list[dict]) -> dict:
    def mean(rows, key):
        return sum(r[key] for r in rows) / len(rows) if rows else 0.0

    by_domain = {}
    for domain in sorted({e["domain"] for e in episodes}):
        rows = [e for e in episodes if e["domain"] == domain]
        by_domain[domain] = {"episodes": len(rows), "outcome": mean(rows, "outcome"), "progress": mean(rows, "progress")}
    return {"episodes": len(episodes), "outcome": mean(episodes, "outcome"),
            "progress": mean(episodes, "progress"), "domains": by_domain}


def format_summary(results: dict) -> str:
    s = results["summary"]
    lines = [f"{results['policy']['name']} on {results['suite']}/{results['split']} "
             f"({s['episodes']} episodes): outcome {s['outcome']:.3f}, progress {s['progress']:.3f}"]
    for domain, d in s["domains"].items():
        lines.append(f"  {domain:<9} outcome {d['outcome']:.3f}  progress {d['progress']:.3f}  ({d['episodes']} episodes)")
    return "\n".join(lines)


def write_results(results: dict, path: str) -> None:
    from pathlib import Path
    import os
    target = Path(path)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(json.dumps(results, indent=1) + "\n")
    os.replace(tmp, target)
