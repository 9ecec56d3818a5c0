"""``rods synth``: write verified variants of a suite split's tasks to a JSONL file."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from ..suite import load_suite
from .mutations import MUTATIONS
from .synthesizer import Synthesizer

OPERATIONS = ["resample_like", *MUTATIONS, "compose"]


def add_parser(sub) -> None:
    p = sub.add_parser("synth", help="synthesize verified variants of a suite's tasks")
    p.add_argument("--suite", default="rods-v1")
    p.add_argument("--split", default="train", choices=["train", "test", "all"])
    p.add_argument("--domain", action="append", help="only this domain (repeatable)")
    p.add_argument("--per-seed", type=int, default=10, help="variants to make per seed task")
    p.add_argument("--op", choices=OPERATIONS, action="append",
                   help="operations to use (repeatable; default: resample_like)")
    p.add_argument("--same-wl", action="store_true", help="resample_like keeps the plan's WL hash")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="JSONL file to write (replaced atomically)")
    p.set_defaults(run=run)


def _bar(done: int, total: int, started: float) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    rate = done / max(time.perf_counter() - started, 1e-9)
    line = f"  [{'#' * filled}{'.' * (width - filled)}] {done}/{total} seeds  {rate:.1f}/s"
    # Redraw in place on a terminal; in a log, one line per update.
    sys.stderr.write(f"\r{line}" if sys.stderr.isatty() else f"{line}\n")
    sys.stderr.flush()


def run(args) -> int:
    if args.suite == "bfcl-v3":          # BFCL's tasks are not a rods suite: their own synthesizer
        from ..bfcl.synth_cli import run_bfcl
        return run_bfcl(args)
    suite = load_suite(args.suite)
    operations = args.op or ["resample_like"]
    seeds = suite.split(args.split)
    domains = args.domain or sorted({t.domain for t in seeds})
    rng = np.random.default_rng(args.seed)
    out = Path(args.out)
    tmp = out.with_name(out.name + ".tmp")
    emitted, matched, asked = 0, 0, 0
    rejected: Counter = Counter()
    started = time.perf_counter()
    with tmp.open("w", encoding="utf-8") as sink:
        for domain in domains:
            mine = [t for t in seeds if t.domain == domain]
            synth = Synthesizer(domain, suite.split("all", domain=domain), seed=args.seed)
            for k, task in enumerate(mine):
                for op in operations:
                    if op == "resample_like":
                        variants = synth.resample_like(task, args.per_seed, rng, same_wl=args.same_wl)
                        matched += len(variants)
                        asked += args.per_seed
                    else:
                        variants = [v for v in (synth.mutate(task, op, rng) for _ in range(args.per_seed)) if v]
                    for v in variants:
                        sink.write(json.dumps(v.to_dict(), ensure_ascii=False) + "\n")
                    emitted += len(variants)
                if sys.stderr.isatty() or k % 10 == 0 or k == len(mine) - 1:
                    _bar(k + 1, len(mine), started)
            sys.stderr.write(f"  {domain}\n" if sys.stderr.isatty() else f"  {domain} done\n")
            rejected.update(synth.rejected)
    tmp.replace(out)
    elapsed = time.perf_counter() - started
    print(f"emitted {emitted} verified variants in {elapsed:.1f}s ({emitted / elapsed:.0f}/s) -> {out}")
    if asked:
        print(f"resample_like: {matched} of {asked} requested variants made; every one matches its seed's signature")
    total = sum(rejected.values())
    print(f"rejected attempts: {total}" + "".join(f"\n  {n:6d}  {reason}" for reason, n in rejected.most_common()))
    return 0
