"""Synthesizer throughput: verified variants per second on one core, and the share of attempts
rejected, with the suite generator's verified tasks per second (scenario-built, the same
verification) measured in the same run as the baseline.

    python benchmarks/synth_throughput.py [--seeds 40] [--per-seed 5] [--op resample_like] [--profile] [--floor]

Target: >= 1,000 verified variants per second; 100% signature match for resample_like.
``--profile`` runs the synthesizer once more under cProfile and prints where its time goes, by
stage (shares of the profiled time; the profiler itself inflates code that makes many calls).
``--floor`` times each verification check alone on the variants emitted (best of 5 rounds, CPU
time): their sum is what a variant costs even if making it cost nothing, so its inverse bounds
the verified variants per second this machine can reach with every check kept.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import pstats
import sys
import time

import numpy as np

import rods_envs
from rods_envs.checker import gold_from_run
from rods_envs.env import ToolUseEnv
from rods_envs.episode import DoNothingPolicy, run_episode
from rods_envs.generate import build_task, verify
from rods_envs.oracle import OraclePolicy
from rods_envs.plan import calls_signature
from rods_envs.synth import Synthesizer, matches
from rods_envs.task import Task, content_key, state_digest


def measure_synth(op: str, seeds_per_domain: int, per_seed: int, seed: int) -> dict:
    suite = rods_envs.load_suite()
    emitted = attempts = matched = 0
    rejected: collections.Counter = collections.Counter()
    made: list = []
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
            made += variants
        elapsed += time.perf_counter() - start
        attempts += synth.attempts
        rejected.update(synth.rejected)
    return {"emitted": emitted, "rate": emitted / elapsed, "attempts": attempts, "matched": matched,
            "rejected": rejected, "variants": made}


def profile_synth(op: str, seeds_per_domain: int, per_seed: int, seed: int) -> None:
    """Run ``measure_synth`` under cProfile and print the stages' shares of the profiled time."""
    from rods_envs import episode, task
    from rods_envs.plan import calls_signature
    from rods_envs.synth import realize, synthesizer, walk

    profiler = cProfile.Profile()
    profiler.enable()
    measure_synth(op, seeds_per_domain, per_seed, seed)
    profiler.disable()
    stats = pstats.Stats(profiler).stats

    def key(fn) -> tuple:
        code = fn.__code__
        return code.co_filename, code.co_firstlineno, code.co_name

    def cumulative(fn, caller=None) -> float:
        entry = stats.get(key(fn))
        if entry is None:
            return 0.0
        return entry[3] if caller is None else entry[4].get(key(caller), (0, 0, 0, 0))[3]

    Synth = synthesizer.Synthesizer
    total = cumulative(Synth.resample_like if op == "resample_like" else Synth.mutate)
    stages = [
        ("walks on the API graph (walk_like, failed ones included)", cumulative(walk.walk_like)),
        ("  of which calls proposed and run (Realisation.add)", cumulative(realize.Realisation.add, walk._grow)),
        ("rebinding plans on new worlds (Realiser.realise)", cumulative(realize.Realiser.realise)),
        ("writing the task: answers, phrasing (Realisation.record)", cumulative(realize.Realisation.record)),
        ("duplicate check (content hash)", cumulative(Synth._key)),
        ("verify: schema and plan checks (Task.from_dict)", cumulative(task.Task.from_dict)),
        ("verify: gold states and answers (Realisation.gold)", cumulative(realize.Realisation.gold)),
        ("verify: oracle and do-nothing episodes (run_episode)", cumulative(episode.run_episode)),
        ("signature (calls_signature)", cumulative(calls_signature)),
    ]
    rest = total - sum(value for label, value in stages if not label.startswith(" "))
    print(f"where the synthesizer's time goes ({op}; cProfile, {total:.2f} s profiled):")
    for label, value in stages + [("everything else (choosing, lineage, counters)", rest)]:
        print(f"  {label:58s} {value / max(total, 1e-9):6.1%}")


def verification_floor(variants: list, rounds: int = 5) -> list[tuple[str, float]]:
    """Seconds of CPU per variant for each check the synthesizer makes before emitting one, each
    timed alone over ``variants`` (best of ``rounds``), as the synthesizer makes it: the world's
    digest is computed once per world, and the gold comes from the run that made the variant."""
    envs = {d: ToolUseEnv(d, tasks=[v for v in variants if v.domain == d], max_steps=256)
            for d in {v.domain for v in variants}}
    oracle = OraclePolicy(variants)
    idle = DoNothingPolicy()

    digests = {id(v.record["initial_state"]): state_digest(v.record["initial_state"]) for v in variants}

    checks = [
        ("schema and plan checks (Task.from_dict)", lambda v: Task.from_dict(v.record)),
        ("duplicate check (content hash)", lambda v: content_key(v.record, digests[id(v.record["initial_state"])])),
        ("signature", lambda v: calls_signature(v.calls, len(v.turns))),
        ("gold answers and turn checks (gold_from_run)",
         lambda v: gold_from_run(v, v.gold.results, v.gold.states)),
        ("oracle episode through the environment", lambda v: run_episode(envs[v.domain], oracle, options={"task": v})),
        ("do-nothing episode through the environment", lambda v: run_episode(envs[v.domain], idle, options={"task": v})),
    ]
    out = []
    for label, check in checks:
        best = float("inf")
        for _ in range(rounds):
            start = time.process_time()
            for v in variants:
                check(v)
            best = min(best, time.process_time() - start)
        out.append((label, best / max(len(variants), 1)))
    return out


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
    parser.add_argument("--profile", action="store_true", help="print where the synthesizer's time goes")
    parser.add_argument("--floor", action="store_true", help="time each verification check alone")
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
    if args.floor:
        floor = verification_floor(synth["variants"])
        total = sum(seconds for _, seconds in floor)
        print(f"verification alone, each check timed apart on the {synth['emitted']} variants (CPU ms per variant):")
        for label, seconds in floor:
            print(f"  {label:50s} {seconds * 1e3:6.3f}")
        print(f"  {'total':50s} {total * 1e3:6.3f}  -> at most {1 / total:.0f} verified variants/s "
              f"with generation free ({synth['rate'] * total:.0%} of the measured time per variant)")
    if args.profile:
        profile_synth(args.op, args.seeds, args.per_seed, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
