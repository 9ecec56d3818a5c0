"""Episodes per second of `rods eval` with worker processes, as ratios to a serial run measured in
the same run.

Two policies: the oracle (all CPU, milliseconds an episode: the cost of the harness itself) and
the same oracle waiting 10 ms per action, the way a policy behind a model server waits. Workers
pay off in the second case; in the first, process start-up can outweigh them on a small machine.

    python benchmarks/eval_workers.py [--workers 4] [--trials 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import rods_envs
from rods_agents.evaluate import evaluate
from rods_envs.oracle import OraclePolicy

LATENCY_S = 0.010


class WaitingOracle(OraclePolicy):
    """The oracle, waiting LATENCY_S before each action as if a model server answered it."""

    def act(self, observation, info):
        time.sleep(LATENCY_S)
        return super().act(observation, info)


def make_waiting_oracle():
    return WaitingOracle(rods_envs.load_suite("rods-v1").split("all"))


def episodes_per_second(policy: str, workers: int, trials: int, domains: list[str]) -> float:
    start = time.perf_counter()
    results = evaluate(policy, "rods-v1", "test", trials=trials, domains=domains, workers=workers)
    return len(results["episodes"]) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1) * 2)
    parser.add_argument("--trials", type=int, default=2)
    args = parser.parse_args()
    cases = [("oracle", "oracle", ["retail", "travel", "files", "cloudops"]),
             (f"oracle waiting {LATENCY_S * 1000:.0f} ms/action", "eval_workers:make_waiting_oracle", ["files"])]
    print(f"{os.cpu_count()} CPUs; serial vs --workers {args.workers}; trials {args.trials}")
    for label, policy, domains in cases:
        serial = episodes_per_second(policy, 1, args.trials, domains)
        parallel = episodes_per_second(policy, args.workers, args.trials, domains)
        print(f"  {label:<28} serial {serial:8.1f} ep/s   workers {parallel:8.1f} ep/s   ratio {parallel / serial:5.2f}x")


if __name__ == "__main__":
    sys.exit(main())
