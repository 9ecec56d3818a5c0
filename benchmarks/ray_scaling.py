"""Episodes per second of distributed rollouts on Ray (rods_agents.ray_rollouts.RayEpisodes) with
1 and 2 workers, as ratios to a serial run in this process measured in the same run.

Two policies, as in benchmarks/eval_workers.py: the oracle (all CPU, about a millisecond an
episode, so the figures show what Ray's round trip costs; once with one episode per Ray call,
once with ``--episodes-per-call``) and the same oracle waiting ``--latency-ms`` before each
action, the way a policy behind a model server waits; there each worker hosts
``--envs-per-worker`` environments and plays that many episodes at once. Both are sent as
factories, so each worker builds its oracles from its own copy of the suite rather than
unpickling one (3 MB) per environment on every run.

The serial baseline plays the same episodes through the same per-episode code (a
``RolloutWorker`` in this process). On a shared machine the load swings between runs, so every
timed Ray run is paired with a serial run just before it; a ratio is the median over
``--repeats`` pairs, after one warm-up of each. Worker start-up is timed apart.

    python benchmarks/ray_scaling.py [--episodes 1000] [--waiting-episodes 24] [--repeats 3]
    RAY_AUTH_MODE=token RAY_ADDRESS=HEAD:6379 python benchmarks/ray_scaling.py   # on a running cluster
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time

try:
    import ray
except ImportError:
    sys.exit("this benchmark needs Ray: pip install -e '.[distributed]'")

import rods_envs
from rods_agents.ray_rollouts import RayEpisodes, RolloutWorker, plan_episodes


def make_oracle():
    return rods_envs.OraclePolicy(rods_envs.load_suite("rods-v1").split("all"))


class WaitingOracle(rods_envs.OraclePolicy):
    """The oracle, waiting before each action as if a model server answered it."""

    def __init__(self, latency_s: float):
        super().__init__(rods_envs.load_suite("rods-v1").split("all"))
        self.latency_s = latency_s

    def act(self, observation, info):
        time.sleep(self.latency_s)
        return super().act(observation, info)


def serial_player(args, policy):
    worker = RolloutWorker(args.env_id, {"split": args.split}, [], 1)
    if worker.error or worker.set_policy(policy):
        raise SystemExit(worker.error or "the policy could not be built")

    def play(episodes):
        for ep in episodes:
            if isinstance(worker.run_episodes([ep])[0], str):
                raise SystemExit(f"{ep} failed in the serial run")
    return play


def seconds(play, episodes) -> float:
    start = time.perf_counter()
    play(episodes)
    return time.perf_counter() - start


def paired_rates(args, serial, policy, episodes, num_workers: int, per_worker: int, per_call: int) -> dict:
    """Serial and Ray episodes per second, and the median ratio of pairs run back to back."""
    start = time.perf_counter()
    with RayEpisodes(args.env_id, num_workers=num_workers, envs_per_worker=per_worker,
                     episodes_per_call=per_call, env_kwargs={"split": args.split}) as pool:
        startup = time.perf_counter() - start
        warm = episodes[: max(1, len(episodes) // 10)]
        serial(warm)
        pool.run(policy, warm)
        pairs = [(seconds(serial, episodes), seconds(lambda eps: pool.run(policy, eps), episodes))
                 for _ in range(args.repeats)]
    n = len(episodes)
    return {"serial": n / statistics.median(s for s, _ in pairs), "ray": n / statistics.median(r for _, r in pairs),
            "ratio": statistics.median(s / r for s, r in pairs), "startup": startup}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-id", default="rods/Mixed-v0")
    parser.add_argument("--split", default="test")
    parser.add_argument("--episodes", type=int, default=1000, help="oracle episodes: seeds 0..N-1")
    parser.add_argument("--waiting-episodes", type=int, default=24, help="episodes of the waiting policy")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=10.0)
    parser.add_argument("--envs-per-worker", type=int, default=4, help="for the waiting policy")
    parser.add_argument("--episodes-per-call", type=int, default=10, help="for the oracle's second run")
    args = parser.parse_args()
    counts = (args.episodes, args.waiting_episodes, args.repeats, args.envs_per_worker, args.episodes_per_call)
    if min(counts) < 1 or args.latency_ms < 0:
        parser.error("--episodes, --waiting-episodes, --repeats, --envs-per-worker and --episodes-per-call "
                     "must be positive, --latency-ms not negative")

    # A local instance with this machine's CPUs, or the cluster RAY_ADDRESS names.
    if os.environ.get("RAY_ADDRESS"):
        ray.init(log_to_driver=False)
    else:
        ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    waiting = functools.partial(WaitingOracle, args.latency_ms / 1000)
    cases = [("oracle", make_oracle, 1, 1, args.episodes),
             ("oracle", make_oracle, 1, args.episodes_per_call, args.episodes),
             (f"oracle waiting {args.latency_ms:g} ms/action", waiting, args.envs_per_worker, 1, args.waiting_episodes)]
    print(f"{args.env_id} {args.split}; {os.cpu_count()} CPUs here, Ray has "
          f"{ray.cluster_resources().get('CPU', 0):g}; median of {args.repeats} serial/Ray pairs")
    for label, policy, per_worker, per_call, count in cases:
        episodes = plan_episodes(seeds=range(count))
        serial = serial_player(args, policy)
        one = paired_rates(args, serial, policy, episodes, 1, per_worker, per_call)
        two = paired_rates(args, serial, policy, episodes, 2, per_worker, per_call)
        print(f"  {label}: {count} episodes, {per_worker} env{'s' if per_worker > 1 else ''} per worker, "
              f"{per_call} episode{'s' if per_call > 1 else ''} per call")
        for name, r in (("1 worker ", one), ("2 workers", two)):
            print(f"    {name} {r['ray']:8.1f} ep/s   serial {r['serial']:8.1f} ep/s   {r['ratio']:5.2f}x serial"
                  f"   (start-up {r['startup']:.1f} s)")
        print(f"    2 workers / 1 worker: {two['ratio'] / one['ratio']:.2f}x")
    ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
