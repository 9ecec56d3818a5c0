"""The ``rods`` command line."""

from __future__ import annotations

import argparse
import sys


def _eval(args) -> int:
    from .evaluate import evaluate, format_summary, write_results

    for spec in args.policy.split(","):
        results = evaluate(spec, args.suite, args.split, args.trials, args.seed, args.domain)
        print(format_summary(results))
        if args.out:
            out = args.out if "," not in args.policy else args.out.replace(".json", f".{spec}.json")
            write_results(results, out)
            print(f"  results: {out}")
    return 0


def _suite(args) -> int:
    import rods_envs

    suite = rods_envs.load_suite(args.suite)
    print(f"{suite.name}  hash {suite.hash[:16]}")
    for split, entry in suite.manifest["splits"].items():
        print(f"  {split}: {entry['count']} tasks, domains {entry['domains']}, depths {entry['depths']}, turns {entry['turns']}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="rods", description="Tool-use RL environments and the RODS loop.")
    sub = parser.add_subparsers(dest="command", required=True)

    ev = sub.add_parser("eval", help="evaluate a policy on a task suite")
    ev.add_argument("--policy", default="oracle", help="oracle, random, MODULE:FACTORY, or a comma list")
    ev.add_argument("--suite", default="rods-v1")
    ev.add_argument("--split", default="test", choices=["train", "test", "all"])
    ev.add_argument("--trials", type=int, default=1)
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--domain", action="append", help="only this domain (repeatable)")
    ev.add_argument("--out", help="write the results JSON here")
    ev.set_defaults(run=_eval)

    su = sub.add_parser("suite", help="describe a task suite")
    su.add_argument("--suite", default="rods-v1")
    su.set_defaults(run=_suite)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, KeyError, OSError, ImportError, AttributeError) as exc:
        print(f"rods {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
