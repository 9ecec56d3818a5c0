"""Write verified BFCL variants to JSONL: what ``rods synth --suite bfcl-v3`` runs.

    python -m rods_envs.bfcl.synth_cli --split train --per-seed 2 --op resample_like --out bfcl_variants.jsonl

``run_bfcl(args)`` takes the namespace of ``rods synth`` (``split``, ``per_seed``, ``op``,
``same_wl``, ``seed``, ``out``; ``domain`` is not used) and prints the same closing summary:
emitted, rate, the resample_like match, rejected attempts by reason.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .install import INSTALL_COMMAND, bfcl_available
from .synth import OPERATIONS, synthesize_bfcl, write_variants


def run_bfcl(args) -> int:
    if not bfcl_available():
        print(f"error: the bfcl-v3 suite needs bfcl-eval ({INSTALL_COMMAND})", file=sys.stderr)
        return 2
    ops = args.op or ["resample_like"]
    unknown = [op for op in ops if op not in OPERATIONS]
    if unknown:
        print(f"error: unknown operation {unknown[0]!r}; choose from {list(OPERATIONS)}", file=sys.stderr)
        return 2
    if args.per_seed < 1:
        print("error: --per-seed must be at least 1", file=sys.stderr)
        return 2
    out = Path(args.out)
    stats: dict = {}
    started = time.perf_counter()
    records = synthesize_bfcl(args.split, args.per_seed, args.seed, ops,
                              same_wl=getattr(args, "same_wl", False), stats=stats)

    def progress():
        for record in records:
            yield record
            done = stats["seeds"]
            if done and done % 50 == 0 and stats.get("_shown") != done:
                stats["_shown"] = done
                print(f"  {done}/{stats['total_seeds']} seeds, {stats['emitted']} variants", file=sys.stderr)
    try:
        emitted = write_variants(out, progress())
    except OSError as exc:
        print(f"error: cannot write {out}: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    print(f"emitted {emitted} verified BFCL variants in {elapsed:.1f}s ({emitted / elapsed:.1f}/s) -> {out}")
    if stats.get("requested"):
        print(f"resample_like: {stats['matched']} of {stats['requested']} requested variants made; "
              "every one matches its seed's signature")
    rejected = stats.get("rejected", {})
    total = sum(rejected.values())
    print(f"rejected attempts: {total}" + "".join(f"\n  {n:6d}  {reason}" for reason, n in rejected.most_common()))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rods_envs.bfcl.synth_cli", description=__doc__.splitlines()[0])
    p.add_argument("--split", default="train", choices=["train", "test", "all"])
    p.add_argument("--per-seed", type=int, default=10, help="variants to make per seed task")
    p.add_argument("--op", choices=OPERATIONS, action="append", help="operations (repeatable; default: resample_like)")
    p.add_argument("--same-wl", action="store_true", help="resample_like keeps the plan's WL hash")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="JSONL file to write (replaced atomically)")
    return run_bfcl(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
