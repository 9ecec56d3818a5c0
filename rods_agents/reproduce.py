"""``rods reproduce``: RODS against static data at equal trajectory budgets.

Four arms share the GRPO settings, the warm start and the budget of trajectories, per training
seed; only where their tasks come from differs:

- ``grpo``: the rods-v1 training seeds, sampled uniformly (fixed-data GRPO);
- ``grpo+filter``: the same, with dynamic filtering of zero-variance groups;
- ``offline-pool``: a large pool of ``resample_like`` variants of the seeds (17,000 by default,
  plus the seeds), made up front and sampled uniformly;
- ``rods``: the co-evolving replay buffer, fed by the boundary detector.

Each arm is evaluated greedily on the held-out test split every ``eval_every`` trajectories. The
run writes ``curves.csv`` (arm, seed, trajectories, outcome, progress, ...), ``curves.png`` and
``summary.json`` under ``--out``, and prints the budget at which RODS reaches the offline pool's
final score (with the ratio of budgets) and the gap between RODS and fixed-data GRPO at equal
budget.
"""

from __future__ import annotations

import copy
import csv
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .replay_buffer import BufferPolicy

ARMS = {"grpo": {"data": "seeds"}, "grpo+filter": {"data": "seeds", "dynamic_filtering": True},
        "offline-pool": {"data": "pool"}, "rods": {"data": "rods"}}
# Variations of RODS, to find out what its result depends on (``--arms`` picks any of these too).
ABLATIONS = {
    "rods-same-wl": {"data": "rods", "same_wl": True},                # variants keep the seed's plan shape
    "rods-slow": {"data": "rods", "buffer": BufferPolicy(variants_per_task=1, max_admit=8)},
    "rods-strict": {"data": "rods", "buffer": BufferPolicy(hard_patience=1)},   # hard tasks retire at once
    "rods-narrow": {"data": "rods", "boundary_variance": 0.4},        # only strongly split groups count
}


@dataclass
class Experiment:
    seeds: tuple = (0, 1, 2)
    budget: int = 5120              # trajectories per arm and seed (a multiple of 64, one update's worth)
    eval_every: int = 1024
    eval_tasks: int | None = None   # None: the whole test split
    arms: tuple = tuple(ARMS)
    pool_size: int = 17000
    warm_start_steps: int = 800
    workers: int = 2
    out: str = "runs/reproduce"


QUICK = {"budget": 384, "eval_every": 128, "eval_tasks": 48, "pool_size": 1000, "warm_start_steps": 200}


def build_pool(seeds: list, size: int, seed: int = 0, report=None) -> list:
    """``size`` verified ``resample_like`` variants of ``seeds``, spread evenly over them."""
    from .replay import VariantSource

    source = VariantSource(seeds, seed=seed)
    rng = np.random.default_rng([seed, 0x9001])
    per_seed = -(-size // len(seeds))
    pool: list = []
    for k, task in enumerate(seeds):
        pool += source(task, min(per_seed, size - len(pool)), rng)
        if report:
            report(k + 1, len(seeds), len(pool))
        if len(pool) >= size:
            break
    return pool


# Shared with worker processes (forked: inherited, not pickled).
_SHARED: dict = {}


def _run_arm(job: tuple) -> list[dict]:
    import torch

    from . import grpo
    seed, arm, args, weights = job
    torch.set_num_threads(1)
    seeds, test, pool = _SHARED["seeds"], _SHARED["test"], _SHARED["pool"]
    policy = grpo.new_policy(args, grpo.make_env(seeds, args))
    policy.load_state_dict(weights)
    started = time.perf_counter()

    def report(stats):
        print(f"  [{arm:12s} seed {seed}] {stats['trajectories']:6d}/{args.total_trajectories} trajectories  "
              f"train reward {stats['train_reward']:.3f}  buffer {stats['buffer']:5d}  "
              f"{time.perf_counter() - started:5.0f}s", file=sys.stderr, flush=True)
    curve = grpo.train(args, policy, seeds, test, pool=pool if args.data == "pool" else None, progress=report)
    return [{"arm": arm, "seed": seed, **point} for point in curve]


def _warm_start(args) -> dict:
    """The policy every arm of one seed starts from: behaviour cloning on the structured oracle's
    steps for ``args.warm_start_tasks`` training seeds, drawn with the seed."""
    import torch

    from . import grpo
    torch.set_num_threads(1)
    seeds = _SHARED["seeds"]
    rng = np.random.default_rng([args.seed, 0xDE40])
    demo_tasks = [seeds[int(i)] for i in rng.permutation(len(seeds))[: args.warm_start_tasks]]
    policy = grpo.new_policy(args, grpo.make_env(seeds, args))
    grpo.warm_start(policy, grpo.demonstrations(demo_tasks, args), args)
    return copy.deepcopy(policy.state_dict())


class _InProcess:
    """``ProcessPoolExecutor``'s map, run here (one worker: no processes to fork)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def map(self, fn, items):
        return map(fn, items)


def _executor(workers: int):
    return ProcessPoolExecutor(max_workers=workers) if workers > 1 else _InProcess()


def run(exp: Experiment) -> dict:
    import torch

    import rods_envs

    from . import grpo
    started = time.perf_counter()
    torch.set_num_threads(1)
    suite = rods_envs.load_suite()
    seeds, test = suite.split("train"), suite.split("test")
    pool = seeds
    if "offline-pool" in exp.arms:
        print(f"offline pool: synthesizing {exp.pool_size} variants of {len(seeds)} seeds", file=sys.stderr)
        pool = seeds + build_pool(seeds, exp.pool_size, report=_bar("pool"))
    _SHARED.update(seeds=seeds, test=test, pool=pool)
    settings = [grpo.Args(seed=seed, total_trajectories=exp.budget, eval_every=exp.eval_every,
                          eval_tasks=exp.eval_tasks, warm_start_steps=exp.warm_start_steps) for seed in exp.seeds]
    arms = {arm: {**ARMS, **ABLATIONS}[arm] for arm in exp.arms}
    print(f"warm start: behaviour cloning for {len(exp.seeds)} seeds; then {len(arms) * len(exp.seeds)} runs "
          f"({len(arms)} arms x {len(exp.seeds)} seeds, {exp.budget} trajectories each) on {exp.workers} worker(s)",
          file=sys.stderr)
    rows: list[dict] = []
    with _executor(exp.workers) as pool_exec:
        starts = list(pool_exec.map(_warm_start, settings))
        jobs = [(args.seed, arm, replace(args, **overrides), weights)
                for args, weights in zip(settings, starts) for arm, overrides in arms.items()]
        for curve in pool_exec.map(_run_arm, jobs):
            rows += curve
    out = Path(exp.out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(rows, out / "curves.csv")
    summary = summarise(rows, exp)
    summary["pool_size"] = len(pool) - len(seeds)
    summary["elapsed_s"] = round(time.perf_counter() - started, 1)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    plotted = plot(rows, out / "curves.png")
    print_summary(summary, out, plotted)
    return summary


def _bar(label: str):
    def report(done: int, total: int, made: int) -> None:
        if done == total or done % max(total // 20, 1) == 0:
            width = 30
            filled = int(width * done / total)
            line = f"  {label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} seeds, {made} variants"
            sys.stderr.write(f"\r{line}" if sys.stderr.isatty() else f"{line}\n")
            if done == total and sys.stderr.isatty():
                sys.stderr.write("\n")
    return report


def write_csv(rows: list[dict], path: Path) -> None:
    fields = ["arm", "seed", "trajectories", "outcome", "progress", "train_reward", "buffer", "informative"]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def _arms(rows: list[dict]) -> list[str]:
    return list(dict.fromkeys(r["arm"] for r in rows))


def mean_curves(rows: list[dict], metric: str) -> dict[str, list[tuple[int, float]]]:
    """Per arm: (trajectories, mean over seeds of ``metric``) at each checkpoint."""
    out: dict[str, list[tuple[int, float]]] = {}
    for arm in _arms(rows):
        points: dict[int, list[float]] = {}
        for r in rows:
            if r["arm"] == arm:
                points.setdefault(r["trajectories"], []).append(r[metric])
        out[arm] = [(t, float(np.mean(v))) for t, v in sorted(points.items())]
    return out


def summarise(rows: list[dict], exp: Experiment) -> dict:
    arms = _arms(rows)
    summary: dict = {"seeds": list(exp.seeds), "budget": exp.budget, "arms": arms, "metrics": {}}
    # Why an arm learns or not: the share of its groups whose rewards varied (the rest carry no
    # gradient), and how many tasks it ended with.
    last = max(r["trajectories"] for r in rows)
    summary["informative_groups"] = {
        arm: float(np.mean([r["informative"] for r in rows if r["arm"] == arm and r["informative"] is not None] or [0.0]))
        for arm in arms}
    summary["final_buffer"] = {
        arm: float(np.mean([r["buffer"] for r in rows if r["arm"] == arm and r["trajectories"] == last])) for arm in arms}
    for metric in ("outcome", "progress"):
        curves = mean_curves(rows, metric)
        final = {arm: c[-1][1] for arm, c in curves.items() if c}
        m: dict = {"final": final, "start": curves[arms[0]][0][1]}
        if "rods" in curves and "offline-pool" in curves:
            target, start = final["offline-pool"], m["start"]
            # Only a pool that improved on the shared warm start sets a score worth reaching.
            reached = next((t for t, v in curves["rods"][1:] if v >= target), None) if target > start else None
            m.update(pool_improved=target > start, rods_reaches_pool_final_at=reached,
                     pool_budget=curves["offline-pool"][-1][0],
                     budget_ratio=(curves["offline-pool"][-1][0] / reached) if reached else None)
        if "rods" in curves and "grpo" in curves:
            gaps = [r - g for (_, r), (_, g) in zip(curves["rods"], curves["grpo"])]
            m.update(rods_minus_grpo_final=final["rods"] - final["grpo"],
                     rods_minus_grpo_mean_over_checkpoints=float(np.mean(gaps[1:])) if len(gaps) > 1 else 0.0)
        summary["metrics"][metric] = m
    return summary


def plot(rows: list[dict], path: Path) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in zip(axes, ("outcome", "progress")):
        for arm, curve in mean_curves(rows, metric).items():
            ax.plot([t for t, _ in curve], [v for _, v in curve], marker="o", label=arm)
        ax.set_xlabel("trajectories consumed")
        ax.set_ylabel(f"held-out test {metric}")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle("GRPO on rods-v1: RODS vs static data (mean over seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def print_summary(summary: dict, out: Path, plotted: bool) -> None:
    print(f"\nheld-out rods-v1 test after {summary['budget']} trajectories (mean over seeds {summary['seeds']}):")
    for arm in summary["arms"]:
        o, p = summary["metrics"]["outcome"]["final"][arm], summary["metrics"]["progress"]["final"][arm]
        print(f"  {arm:13s} outcome {o:.3f}  progress {p:.3f}  groups with a gradient "
              f"{summary['informative_groups'][arm]:.0%}  tasks {summary['final_buffer'][arm]:.0f}")
    for metric in ("outcome", "progress"):
        m = summary["metrics"][metric]
        if "pool_improved" in m:
            if not m["pool_improved"]:
                print(f"{metric}: the offline pool ends at {m['final']['offline-pool']:.3f}, not above the warm "
                      f"start's {m['start']:.3f}: no pool score to reach")
            elif m["rods_reaches_pool_final_at"]:
                print(f"{metric}: RODS reaches the offline pool's final {m['final']['offline-pool']:.3f} after "
                      f"{m['rods_reaches_pool_final_at']} trajectories; the pool used {m['pool_budget']} "
                      f"({m['budget_ratio']:.1f}x)")
            else:
                print(f"{metric}: RODS does not reach the offline pool's final {m['final']['offline-pool']:.3f} "
                      f"within {summary['budget']} trajectories")
        if "rods_minus_grpo_final" in m:
            print(f"{metric}: RODS - GRPO at equal budget: {m['rods_minus_grpo_final']:+.3f} at the end, "
                  f"{m['rods_minus_grpo_mean_over_checkpoints']:+.3f} averaged over checkpoints")
    print(f"curves: {out / 'curves.csv'}" + (f"\nplot: {out / 'curves.png'}" if plotted else ""))
    print(f"took {summary['elapsed_s']:.0f}s")


def add_parser(sub) -> None:
    p = sub.add_parser("reproduce", help="RODS vs static-data GRPO at equal trajectory budgets")
    p.add_argument("--quick", action="store_true", help="a small run (a few minutes) that shows the loop working")
    p.add_argument("--seeds", type=int, nargs="+", help="training seeds (default 0 1 2)")
    p.add_argument("--budget", type=int, help="trajectories per arm and seed")
    p.add_argument("--eval-every", type=int)
    p.add_argument("--eval-tasks", type=int, help="held-out tasks per evaluation (default: all)")
    p.add_argument("--pool-size", type=int, help="variants in the offline pool")
    p.add_argument("--warm-start-steps", type=int, help="behaviour-cloning steps before GRPO")
    p.add_argument("--arms", nargs="+", choices=[*ARMS, *ABLATIONS],
                   help=f"arms to train (default: {' '.join(ARMS)}; ablations: {' '.join(ABLATIONS)})")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--out", default="runs/reproduce")
    p.set_defaults(run=_cli)


def _cli(args) -> int:
    settings = dict(QUICK) if args.quick else {}
    for name in ("budget", "eval_every", "eval_tasks", "pool_size", "warm_start_steps"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    if args.seeds:
        settings["seeds"] = tuple(args.seeds)
    if args.arms:
        settings["arms"] = tuple(dict.fromkeys(args.arms))
    exp = Experiment(workers=args.workers, out=args.out, **settings)
    if exp.budget < 1 or exp.eval_every < 1 or exp.pool_size < 0 or exp.workers < 1:
        print("error: --budget, --eval-every and --workers must be positive, --pool-size not negative",
              file=sys.stderr)
        return 2
    run(exp)
    return 0
