"""Throughput of rods/BFCL-MultiTurn-v0 and its checker, as ratios to BFCL's own, in one run.

    pip install --no-deps bfcl-eval mpmath
    python benchmarks/bfcl_throughput.py [--repeat 7] [--format python|text|dict]

Both sides replay the same thing: the ground-truth calls of all 800 BFCL multi-turn tasks.
Figures (medians over --repeat rounds; each round is one pass of ours over the 800 tasks and one
run of ../shared/anchors/bfcl_reference.py in a child process, interleaved):
  env_call_steps_per_s   gold calls per second of the env.step calls that carry them (one action
                         per gold turn, in BFCL's own Python format by default, through the
                         gym.make env with its wrappers): parse, execute, render, as BFCL's
                         executor does. Target: >= 3x BFCL's executor calls/s.
  env_episode_calls_per_s  the same calls per second of the whole replay: resets (fresh backends),
                         the closing messages and the per-turn checks included
  checker_episodes_per_s score_trajectory on each recorded gold episode. Target: >= 10x BFCL's
                         multi_turn_checker episodes/s.
  checker_full_replay_per_s  the same with resume_from_gold=False: every call re-executed, the
                         cost of judging an episode that leaves gold at its first call
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

import gymnasium as gym

sys.path.insert(0, str(Path(__file__).resolve().parent))
from env_throughput import load_peer  # noqa: E402  (the same peer, run the same way)

from rods_envs.bfcl import ENV_ID, bfcl_available, load_tasks  # noqa: E402
from rods_envs.bfcl.checker import score_trajectory  # noqa: E402
from rods_envs.bfcl.oracle import BFCLOraclePolicy  # noqa: E402


def record_gold(env, tasks, action_format: str):
    """The oracle's actions and the recorded trajectory of every task (checked to pass)."""
    oracle = BFCLOraclePolicy(tasks, action_format)
    episodes = []
    for task in tasks:
        obs, info = env.reset(options={"task_id": task.id})
        oracle.reset(info)
        actions, done = [], False
        while not done:
            action = oracle.act(obs, info)
            actions.append((action, not isinstance(action, str) or not action.startswith(("Done", "Some", "I ", "There"))))
            obs, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        assert info["outcome"] == 1, task.id
        episodes.append((task, actions, env.unwrapped.recorded))
    return episodes


def measure_env(env, episodes) -> tuple[float, float]:
    gc.collect()            # start clean: not paying here for the garbage of the last measurement
    clock = time.perf_counter
    calls = sum(sum(map(len, task.gold)) for task, _, _ in episodes)
    call_time = 0.0
    start = clock()
    for task, actions, _ in episodes:
        env.reset(options={"task_id": task.id})
        for action, is_call in actions:
            t = clock()
            env.step(action)
            if is_call:
                call_time += clock() - t
    return calls / call_time, calls / (clock() - start)


def measure_checker(episodes, resume_from_gold: bool) -> float:
    gc.collect()
    start = time.perf_counter()
    for task, _, trajectory in episodes:
        assert score_trajectory(task, trajectory, resume_from_gold=resume_from_gold).outcome == 1
    return len(episodes) / (time.perf_counter() - start)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="BFCL env and checker throughput vs bfcl-eval's own")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--format", default="python", choices=["python", "text", "dict"],
                        help="how the gold calls are sent: BFCL's Python syntax, JSON text, OpenAI dicts")
    parser.add_argument("--no-peer", action="store_true", help="skip BFCL (prints our figures only)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if not bfcl_available():
        print("bfcl-eval is not installed: pip install --no-deps bfcl-eval mpmath")
        return 1

    tasks = load_tasks()
    for task in tasks:
        task.expected       # gold computed once per task and cached, as in training; not timed
    env = gym.make(ENV_ID, split="all")
    episodes = record_gold(env, tasks, args.format)
    peer_measure = None if args.no_peer else load_peer()
    if peer_measure is False:
        return 1
    rounds = {k: [] for k in ("calls", "episode_calls", "checker", "checker_full",
                              "executor_calls_per_s", "checker_episodes_per_s")}
    for _ in range(args.repeat):
        calls, episode_calls = measure_env(env, episodes)
        rounds["calls"].append(calls)
        rounds["episode_calls"].append(episode_calls)
        rounds["checker"].append(measure_checker(episodes, resume_from_gold=True))
        rounds["checker_full"].append(measure_checker(episodes, resume_from_gold=False))
        if peer_measure:
            for name, value in peer_measure(1).items():
                rounds[name].append(value)
    med = {k: statistics.median(v) for k, v in rounds.items() if v}
    total = sum(sum(map(len, t.gold)) for t in tasks)
    print(f"rods BFCL ({len(tasks)} tasks, {total} gold calls, {args.format} actions), median of {args.repeat} rounds")
    print(f"  env_call_steps_per_s      {med['calls']:10.0f}")
    print(f"  env_episode_calls_per_s   {med['episode_calls']:10.0f}")
    print(f"  checker_episodes_per_s    {med['checker']:10.0f}")
    print(f"  checker_full_replay_per_s {med['checker_full']:10.0f}")
    if not peer_measure:
        return 0
    print(f"bfcl-eval (800 multi-turn tasks), median of {args.repeat} rounds, interleaved with ours")
    print(f"  executor_calls_per_s      {med['executor_calls_per_s']:10.0f}")
    print(f"  checker_episodes_per_s    {med['checker_episodes_per_s']:10.0f}")
    executor, checker = med["executor_calls_per_s"], med["checker_episodes_per_s"]
    for label, ours, theirs, target in [
            ("env call steps / BFCL executor", med["calls"], executor, 3),
            ("env whole replay / BFCL executor", med["episode_calls"], executor, None),
            ("checker / BFCL checker", med["checker"], checker, 10),
            ("checker, full replay / BFCL checker", med["checker_full"], checker, None)]:
        ratio = ours / theirs
        verdict = "" if target is None else f"(target >= {target}x) {'ok' if ratio >= target else 'BELOW TARGET'}"
        print(f"ratio {label:38s} {ratio:5.1f}x  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
