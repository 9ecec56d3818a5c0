"""Throughput of the environment and the checker, as ratios to BFCL's own, measured in one run.

    pip install --no-deps bfcl-eval mpmath      # the peer (see ../shared/anchors/README.md)
    python benchmarks/env_throughput.py [--suite rods-v1] [--split all] [--repeat 5]

Figures (medians over --repeat rounds, each round one pass of ours over every task of the
split and one pass of the peer's, interleaved):
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
import importlib.util
import statistics
import os
import subprocess
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


def load_peer():
    """A function running BFCL's reference measurement, or False when it cannot run here.

    The anchor runs in a child process of its own: importing bfcl-eval and its 800 tasks into
    this process would slow both sides (a bigger heap makes every garbage collection dearer), and
    a clean process is what each side gets. Both run in this one invocation, one after the other.
    """
    anchors = Path(os.environ.get("RODS_ANCHORS", Path(__file__).resolve().parents[2] / "shared" / "anchors"))
    script = anchors / "bfcl_reference.py"
    if importlib.util.find_spec("bfcl_eval") is None or not script.exists():
        print("BFCL peer unavailable: install it with  pip install --no-deps bfcl-eval mpmath  and point "
              f"RODS_ANCHORS at the folder holding bfcl_reference.py (looked in {anchors})")
        return False

    def measure(repeat: int) -> dict:
        out = subprocess.run([sys.executable, str(script), "--repeat", str(repeat)],
                             capture_output=True, text=True, check=True).stdout
        return {name: float(value) for name, value in (line.split(":") for line in out.splitlines() if ":" in line)}

    return measure


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="env and checker throughput vs BFCL")
    parser.add_argument("--suite", default="rods-v1")
    parser.add_argument("--split", default="all")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-peer", action="store_true", help="skip BFCL (prints our figures only)")
    args = parser.parse_args(argv)

    tasks = rods_envs.load_suite(args.suite).split(args.split)
    for task in tasks:
        task.gold  # computed once per task and cached, as in training; not part of the timing
    episodes = record_gold(tasks)
    peer_measure = None if args.no_peer else load_peer()
    if peer_measure is False:
        return 1
    # Rounds interleave one pass of ours with one pass of the peer (each in a fresh process, so
    # with fresh backend instances), and each figure is the median over rounds: on a shared,
    # noisy machine, drift then hits both sides alike.
    rounds = {"calls": [], "all": [], "checker": [], "executor_calls_per_s": [], "checker_episodes_per_s": []}
    for _ in range(args.repeat):
        calls, every = measure_env(episodes)
        rounds["calls"].append(calls)
        rounds["all"].append(every)
        rounds["checker"].append(measure_checker(episodes))
        if peer_measure:
            for name, value in peer_measure(1).items():
                rounds[name].append(value)
    ours = {k: statistics.median(rounds[k]) for k in ("calls", "all", "checker")}
    if peer_measure:
        peer = {k: statistics.median(rounds[k]) for k in ("executor_calls_per_s", "checker_episodes_per_s")}
    print(f"rods ({len(tasks)} tasks, {sum(len(t.calls) for t in tasks)} gold calls), median of {args.repeat} rounds")
    print(f"  env_call_steps_per_s   {ours['calls']:10.0f}")
    print(f"  env_all_steps_per_s    {ours['all']:10.0f}")
    print(f"  checker_episodes_per_s {ours['checker']:10.0f}")
    if not peer_measure:
        return 0
    print(f"bfcl-eval (800 multi-turn tasks), median of {args.repeat} rounds, interleaved with ours")
    print(f"  executor_calls_per_s   {peer['executor_calls_per_s']:10.0f}")
    print(f"  checker_episodes_per_s {peer['checker_episodes_per_s']:10.0f}")
    env_ratio = ours["calls"] / peer["executor_calls_per_s"]
    checker_ratio = ours["checker"] / peer["checker_episodes_per_s"]
    print(f"ratio env calls / BFCL executor: {env_ratio:5.1f}x  (target >= 3x)  {'ok' if env_ratio >= 3 else 'BELOW TARGET'}")
    print(f"ratio checker / BFCL checker:    {checker_ratio:5.1f}x  (target >= 10x) {'ok' if checker_ratio >= 10 else 'BELOW TARGET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
