"""Build a frozen task suite from the domains' scenarios, verifying every task through the env.

    python -m rods_envs.generate --out tasks/rods-v1 --train 105 --test 55 --seed 1
    python -m rods_envs.generate --domain files --check      # a domain author's self-test

A task is 2 to 5 user turns, each written by a scenario on the world the previous turns left;
some turns hold a fact back. Candidates are bucketed by plan depth and drawn round-robin so the
suite spans every depth a domain can reach. Every kept task validates against the schema, is
solved by the oracle through the environment (outcome 1) and fails the do-nothing policy on
every turn; train and test worlds come from disjoint seeds and no task appears twice.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
from pathlib import Path

import numpy as np

from .builder import TaskBuilder
from .domains import DOMAINS
from .env import ToolUseEnv
from .episode import DoNothingPolicy, run_episode
from .oracle import OraclePolicy
from .task import Task

WITHHOLD_RATE = 0.3


def build_task(domain, rng: np.random.Generator, task_id: str) -> Task | None:
    builder = TaskBuilder(domain, domain.make_world(rng), rng)
    wanted = int(rng.integers(2, 6))
    for _ in range(4 * wanted):
        if len(builder.turns) == wanted:
            break
        scenario = domain.scenarios[int(rng.integers(len(domain.scenarios)))]
        builder.add_turn(scenario, withhold=bool(rng.random() < WITHHOLD_RATE))
    if len(builder.turns) < 2:
        return None
    return Task.from_dict(builder.record(task_id))


def verify(task: Task) -> str | None:
    """Why ``task`` cannot go in a suite, or None when it can."""
    env = ToolUseEnv(task.domain, tasks=[task], max_steps=200)
    oracle = run_episode(env, OraclePolicy([task]), seed=0)
    if oracle.outcome != 1 or oracle.progress != 1.0:
        return f"oracle scored progress {oracle.progress:.2f}"
    idle = run_episode(env, DoNothingPolicy(), seed=0)
    if idle.progress != 0.0:
        return f"do-nothing scored progress {idle.progress:.2f}"
    return None


def generate(domain_name: str, count: int, seed: int, prefix: str, seen: set[str],
             rejected: collections.Counter) -> list[Task]:
    domain = DOMAINS[domain_name]
    rng = np.random.default_rng(seed)
    buckets: dict[int, list[Task]] = collections.defaultdict(list)
    for n in range(4 * count):
        task = build_task(domain, rng, f"{prefix}-{n:04d}")
        if task is None:
            rejected["too few turns"] += 1
            continue
        if task.key in seen:
            rejected["duplicate"] += 1
            continue
        problem = verify(task)
        if problem:
            rejected[problem.split(" scored")[0] + " failed"] += 1
            continue
        seen.add(task.key)
        buckets[task.signature["depth"]].append(task)
    chosen: list[Task] = []
    while len(chosen) < count and any(buckets.values()):
        for depth in sorted(buckets):
            if buckets[depth] and len(chosen) < count:
                chosen.append(buckets[depth].pop(0))
    chosen.sort(key=lambda t: t.id)
    if len(chosen) < count:
        raise RuntimeError(f"{domain_name}: only {len(chosen)} of {count} tasks verified")
    return chosen


def split_seed(seed: int, domain: str, split: str) -> int:
    """Disjoint world seeds for every domain and split of a suite."""
    return seed * 1000 + 10 * list(DOMAINS).index(domain) + ("train", "test").index(split)


def write_suite(out: Path, name: str, splits: dict[str, list[Task]], seed: int) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"name": name, "generator": "rods_envs.generate", "seed": seed, "splits": {}}
    for split, tasks in splits.items():
        path = out / f"{split}.jsonl"
        # Key order is kept as built: tools list entities in creation (insertion) order.
        text = "".join(json.dumps(t.to_dict(), ensure_ascii=False) + "\n" for t in tasks)
        path.write_text(text, encoding="utf-8")
        manifest["splits"][split] = {
            "file": path.name, "count": len(tasks), "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "domains": dict(collections.Counter(t.domain for t in tasks)),
            "depths": {str(d): n for d, n in sorted(collections.Counter(t.signature["depth"] for t in tasks).items())},
            "turns": {str(d): n for d, n in sorted(collections.Counter(len(t.turns) for t in tasks).items())},
        }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("tasks/rods-v1"))
    parser.add_argument("--name", default="rods-v1")
    parser.add_argument("--train", type=int, default=105, help="training tasks per domain")
    parser.add_argument("--test", type=int, default=55, help="test tasks per domain")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--domain", choices=sorted(DOMAINS), action="append")
    parser.add_argument("--check", action="store_true", help="build and verify, write nothing")
    args = parser.parse_args(argv)
    domains = args.domain or list(DOMAINS)
    splits: dict[str, list[Task]] = {"train": [], "test": []}
    seen: set[str] = set()
    rejected: collections.Counter = collections.Counter()
    for name in domains:
        for split, count in (("train", args.train), ("test", args.test)):
            splits[split] += generate(name, count, split_seed(args.seed, name, split), f"{name}-{split}",
                                      seen, rejected)
    for split, tasks in splits.items():
        depths = collections.Counter(t.signature["depth"] for t in tasks)
        turns = collections.Counter(len(t.turns) for t in tasks)
        withheld = sum(any(turn["facts"] for turn in t.turns) for t in tasks)
        print(f"{split}: {len(tasks)} tasks; depths {dict(sorted(depths.items()))}; "
              f"turns {dict(sorted(turns.items()))}; with held-back facts {withheld}")
    print(f"rejected: {dict(rejected) or 'none'}")
    if not args.check:
        manifest = write_suite(args.out, args.name, splits, args.seed)
        print(f"wrote {args.out}: " + ", ".join(f"{s} {e['sha256'][:12]}" for s, e in manifest["splits"].items()))


if __name__ == "__main__":
    main()
