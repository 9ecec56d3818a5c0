"""Throughput of the environment and the checker, as ratios to BFCL's own, measured in one run.

    pip install --no-deps bfcl-eval mpmath      # the peer (see ../shared/anchors/README.md)
    python benchmarks/env_throughput.py [--suite rods-v1] [--split all] [--repeat 3]

Figures (each the best of --repeat passes over every task of the split):
  env_call_steps_per_s  gold tool calls sent as text JSON through env.step (gym.make env, with its
                        wrappers), timing only the steps that carry a call: the work BFCL's
                        executor does per call (parse, validate, execute, format the result)
  env_all_steps_per_s   every step of the gold episodes, clarifying questions and end-of-turn
                        judging included, plus resets, per second of the whole replay
  checker_episodes_per_s  score_episode on each recorded gold trajectory: the agent's calls are
                        replayed on a fresh world and every turn is judged against cached gold
Targets: env_call_steps_per_s >= 3x BFCL's executor calls/s; checker >= 10x BFCL's checker.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import gymnasium as gym

import rods_envs
from rods_envs.checker import score_episode
from rods_envs.oracle import OraclePolicy


def record_gold(tasks):
    """The oracle's text actions and the resulting trajectory for every task."""
    envs, episodes = {}, []
    oracle = OraclePolicy(tasks)
    for task in tasks:
        env = envs.setdefault(task.domain, gym.make(rods_envs.ENV_IDS[task.domain], tasks=[t for t in tasks if t.domain == task.domain]))
        obs, info = env.reset(options={"task_id": task.id})
        oracle.reset(info)
        actions, done = [], False
        while not done:
            action = oracle.act(obs, info)
            actions.append((action, action.startswith("{")))
            obs, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        assert info["outcome"] == 1, task.id
        episodes.append((task, env, actions, env.unwrapped.trajectory))
    return episodes


def measure_env(episodes):
    clock = time.perf_counter
    calls = steps = 0
    call_time = 0.0
    start = clock()
    for task, env, actions, _ in episodes:
        env.reset(options={"task_id": task.id})
        for action, is_call in actions:
            t = clock()
            env.step(action)
            if is_call:
                call_time += clock() - t
                calls += 1
            steps += 1
    return calls / call_time, steps / (clock() - start)


def measure_checker(episodes):
    start = time.perf_counter()
    for task, _, _, trajectory in episodes:
        assert score_episode(task, trajectory).outcome == 1
    return len(episodes) / (time.perf_counter() - start)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="env and checker throughput vs BFCL")
    parser.add_argument("--suite", default="rods-v1")
    parser.add_argument("--split", default="all")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-peer", action="store_true", help="skip BFCL (prints our figures only)")
    args = parser.parse_args(argv)

    tasks = rods_envs.load_suite(args.suite).split(args.split)
    for task in tasks:
        task.gold  # computed once per task and cached, as in training; not part of the timing
    episodes = record_gold(tasks)
    call_rate = all_rate = checker = 0.0
    for _ in range(args.repeat):
        c, a = measure_env(episodes)
        call_rate, all_rate = max(call_rate, c), max(all_rate, a)
        checker = max(checker, measure_checker(episodes))
    print(f"rods ({len(tasks)} tasks, {sum(len(t.calls) for t in tasks)} gold calls)")
    print(f"  env_call_steps_per_s   {call_rate:10.0f}")
    print(f"  env_all_steps_per_s    {all_rate:10.0f}")
    print(f"  checker_episodes_per_s {checker:10.0f}")
    if args.no_peer:
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "anchors"))
    try:
        from bfcl_reference import measure
        peer = measure(1)
    except ImportError as exc:
        print(f"BFCL peer unavailable ({exc}); install it with: pip install --no-deps bfcl-eval mpmath")
        return 1
    print("bfcl-eval (800 multi-turn tasks, same run)")
    print(f"  executor_calls_per_s   {peer['executor_calls_per_s']:10.0f}")
    print(f"  checker_episodes_per_s {peer['checker_episodes_per_s']:10.0f}")
    env_ratio = call_rate / peer["executor_calls_per_s"]
    checker_ratio = checker / peer["checker_episodes_per_s"]
    print(f"ratio env calls / BFCL executor: {env_ratio:5.1f}x  (target >= 3x)  {'ok' if env_ratio >= 3 else 'BELOW TARGET'}")
    print(f"ratio checker / BFCL checker:    {checker_ratio:5.1f}x  (target >= 10x) {'ok' if checker_ratio >= 10 else 'BELOW TARGET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
