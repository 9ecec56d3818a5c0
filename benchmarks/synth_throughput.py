"""Synthesizer throughput: verified variants per second on one core, and the share of attempts
rejected, with the suite generator's verified tasks per second (scenario-built, the same
verification) measured in the same run as the baseline.

    python benchmarks/synth_throughput.py [--seeds 40] [--per-seed 5] [--op resample_like]

Target: >= 1,000 verified variants per second; 100% signature match for resample_like.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time

import numpy as np

import rods_envs
from rods_envs.generate import build_task, verify
from rods_envs.synth import Synthesizer, matches


def measure_synth(op: str, seeds_per_domain: int, per_seed: int, seed: int) -> dict:
    suite = rods_envs.load_suite()
    emitted = attempts = matched = 0
    rejected: collections.Counter = collections.Counter()
    elapsed = 0.0
    for domain in rods_envs.DOMAINS:
        seeds = suite.split("train", domain=domain)
        synth = Synthesizer(domain, seeds, seed=seed)       # set-up (lifting, worlds) is not timed
        rng = np.random.default_rng(seed)
        start = time.perf_counter()
        for task in seeds[:seeds_per_domain]:
            if op == "resample_like":
                variants = synth.resample_like(task, per_seed, rng)
                matched += sum(matches(v.signature, task.signature) for v in variants)
            else:
                variants = [v for v in (synth.mutate(task, op, rng) for _ in range(per_seed)) if v]
            emitted += len(variants)
        elapsed += time.perf_counter() - start
        attempts += synth.attempts
        rejected.update(synth.rejected)
    return {"emitted": emitted, "rate": emitted / elapsed, "attempts": attempts, "matched": matched,
            "rejected": rejected}


def measure_generator(count: int, seed: int) -> float:
    made, elapsed = 0, 0.0
    for domain in rods_envs.DOMAINS:
        rng = np.random.default_rng(seed)
        start = time.perf_counter()
        for n in range(count):
            task = build_task(rods_envs.get_domain(domain), rng, f"bench-{n}")
            if task is not None and verify(task) is None:
                made += 1
        elapsed += time.perf_counter() - start
    return made / elapsed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=40, help="seed tasks per domain")
    parser.add_argument("--per-seed", type=int, default=5)
    parser.add_argument("--op", default="resample_like")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    synth = measure_synth(args.op, args.seeds, args.per_seed, args.seed)
    baseline = measure_generator(args.seeds, args.seed)
    rejected = sum(synth["rejected"].values())   # every failed attempt, walks that found no plan included
    share = rejected / max(rejected + synth["emitted"], 1)
    print(f"synthesizer ({args.op}): {synth['emitted']} verified variants, {synth['rate']:.0f}/s on one core")
    print(f"  attempts {rejected + synth['emitted']}, rejected {share:.0%}; top reasons: "
          + ", ".join(f"{r} {n}" for r, n in synth["rejected"].most_common(4)))
    if args.op == "resample_like":
        print(f"  signature match: {synth['matched']}/{synth['emitted']} "
              f"({synth['matched'] / max(synth['emitted'], 1):.0%})")
    print(f"suite generator (scenarios, same verification): {baseline:.0f} verified tasks/s")
    print(f"ratio synthesizer / generator: {synth['rate'] / baseline:.2f}x")
    print(f"target >= 1000 variants/s: {'ok' if synth['rate'] >= 1000 else 'BELOW TARGET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
