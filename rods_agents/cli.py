"""The ``rods`` command line: one function per subcommand, each registered on the subparsers."""

from __future__ import annotations

import argparse
import re
import sys

INTERRUPTED = 130  # the shell's code for a run stopped by Ctrl-C


def cmd_eval(args) -> int:
    from .evaluate import Interrupted, evaluate, format_summary

    specs = [s for s in args.policy.split(",") if s]
    if len(specs) > 1 and (args.name or args.model):
        raise ValueError("--name and --model describe one policy; evaluate one policy at a time to use them")
    for spec in specs:
        out = args.out
        if out and len(specs) > 1:
            out = re.sub(r"(\.json)?$", f".{re.sub(r'[^A-Za-z0-9_.-]+', '_', spec)}.json", out, count=1)
        try:
            results = evaluate(spec, args.suite, args.split, args.trials, args.seed, args.domain,
                               workers=args.workers, out=out, name=args.name, model=args.model,
                               progress=not args.no_progress)
        except Interrupted as stop:
            print(f"rods eval: {stop}", file=sys.stderr)
            return INTERRUPTED
        print(format_summary(results))
        if results["run"]["resumed_episodes"]:
            print(f"  resumed: {results['run']['resumed_episodes']} episodes came from the journal")
        if out:
            print(f"  results: {out}")
    return 0


def cmd_submit(args) -> int:
    from .leaderboard.submit import Rejected, submit

    try:
        accepted = submit(args.results, args.dir, check_only=args.check)
    except Rejected as rejection:
        print(f"rods submit: rejected {args.results}: {rejection}", file=sys.stderr)
        return 1
    print(f"{'valid' if args.check else 'accepted'}: {accepted}")
    return 0


def cmd_leaderboard_build(args) -> int:
    from .leaderboard.site import build_site

    written = build_site(args.out, args.submissions)
    for path in written:
        print(f"wrote {path}")
    return 0


def cmd_suite(args) -> int:
    import rods_envs

    suite = rods_envs.load_suite(args.suite)
    print(f"{suite.name}  hash {suite.hash[:16]}")
    for split, entry in suite.manifest["splits"].items():
        print(f"  {split}: {entry['count']} tasks, domains {entry['domains']}, depths {entry['depths']}, turns {entry['turns']}")
    return 0


def main(argv=None) -> int:
    from .leaderboard import SUBMISSIONS_DIR

    parser = argparse.ArgumentParser(prog="rods", description="Tool-use RL environments and the RODS loop.")
    sub = parser.add_subparsers(dest="command", required=True)

    ev = sub.add_parser("eval", help="evaluate a policy on a task suite")
    ev.add_argument("--policy", default="oracle", help="oracle, random, MODULE:FACTORY, hf:DIR, openai:MODEL@BASE_URL, or a comma list")
    ev.add_argument("--suite", default="rods-v1", help="a rods suite, or a BFCL id once that adapter is installed")
    ev.add_argument("--split", default="test", choices=["train", "test", "all"])
    ev.add_argument("--trials", type=int, default=1, help="trials per task; pass^k is reported for k = 1..trials")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--domain", action="append", help="only this domain (repeatable; such a run cannot be submitted)")
    ev.add_argument("--out", help="write the results JSON here (journalled to OUT.partial, so a rerun resumes)")
    ev.add_argument("--workers", type=int, default=1, help="worker processes (each builds its own policy and envs)")
    ev.add_argument("--name", help="the name shown on the leaderboard (default: the policy spec)")
    ev.add_argument("--model", help="the model behind the policy, shown on the leaderboard")
    ev.add_argument("--no-progress", action="store_true", help="no progress bar")
    ev.set_defaults(run=cmd_eval)

    sm = sub.add_parser("submit", help="verify a results file and add it to the leaderboard")
    sm.add_argument("results", help="a results JSON written by rods eval --out")
    sm.add_argument("--dir", default=str(SUBMISSIONS_DIR), help="the submissions folder (default: %(default)s)")
    sm.add_argument("--check", action="store_true", help="verify only; write nothing")
    sm.set_defaults(run=cmd_submit)

    lb = sub.add_parser("leaderboard", help="build the leaderboard")
    lb_sub = lb.add_subparsers(dest="action", required=True)
    lb_build = lb_sub.add_parser("build", help="write the static page (index.html) and leaderboard.md")
    lb_build.add_argument("--out", default="site", help="output folder (default: %(default)s)")
    lb_build.add_argument("--submissions", default=str(SUBMISSIONS_DIR), help="(default: %(default)s)")
    lb_build.set_defaults(run=cmd_leaderboard_build)

    su = sub.add_parser("suite", help="describe a task suite")
    su.add_argument("--suite", default="rods-v1")
    su.set_defaults(run=cmd_suite)

    from rods_envs.synth.cli import add_parser as add_synth_parser
    add_synth_parser(sub)

    from .reproduce import add_parser as add_reproduce_parser   # needs the train extra only to run
    add_reproduce_parser(sub)

    from .lm.train import add_parser as add_train_parser          # the same: train extra to run
    add_train_parser(sub)

    from .lm.serve import add_parser as add_serve_parser          # the same: train extra to run
    add_serve_parser(sub)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"rods {args.command}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except (ValueError, KeyError, OSError, ImportError, AttributeError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"rods {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
