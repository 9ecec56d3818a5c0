"""Evaluate a policy on a suite split: every task, several trials, one record per episode.

``evaluate("oracle", "rods-v1", "test", trials=4, out="results.json", workers=4)`` runs each
(task, trial) pair once, in worker processes when ``workers > 1`` (each builds its own policy
and environments), journals each finished episode next to ``out`` so that an interrupted run
resumes where it stopped, and writes the results file of ``leaderboard/schema/``.

Results do not depend on the order or the process an episode ran in: each episode's seed comes
from (seed, task id, trial) alone, the environment is reset with it, and a policy with a
``seed(int)`` method is reseeded with it before the episode. So ``--workers 4`` writes the same
episodes as a serial run, and a resumed run the same as an uninterrupted one.

A policy is ``oracle`` (replays the gold plan: a sanity check), ``random``, or ``MODULE:FACTORY``
(called with no arguments; the object needs ``act(observation, info)``, and may have
``reset(info)``, ``seed(int)`` and a ``metadata`` dict, recorded in the results).
Two prefixes name language models (``rods_agents.lm.policies``): ``hf:DIR`` runs a local
transformers model directory with ``HFPolicy`` (speaking through the ``reply_to_user`` tool when
the directory's ``rods.json`` says ``{"reply_tool": true}``), and ``openai:MODEL@BASE_URL`` any
OpenAI-compatible chat endpoint with ``OpenAIChatPolicy`` (key from ``OPENAI_API_KEY``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import math
import multiprocessing
import os
import platform
import signal
import threading
import time
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from functools import cached_property, lru_cache
from importlib import metadata as dist_metadata
from pathlib import Path

import gymnasium as gym

import rods_envs
from rods_envs.episode import EpisodeResult, run_episode

from .leaderboard.atomic import write_atomically
from .leaderboard.journal import Journal, journal_path
from .leaderboard.metrics import summarize
from .leaderboard.progress import progress_bar
from .policies import OraclePolicy, RandomPolicy

RESULTS_FORMAT = "rods-results/1"
RECORD_FIELDS = {"domain", "trial", *(f.name for f in fields(EpisodeResult))}
BUILTIN_POLICIES = ("oracle", "random")
MODEL_POLICY_PREFIXES = ("hf:", "openai:")    # checked before MODULE:FACTORY, so these names are taken
MAX_METADATA_ITEMS, MAX_METADATA_CHARS, MAX_NAME_CHARS = 32, 500, 200


class EvalError(ValueError):
    """An evaluation that cannot go on (a policy that crashed, a bad argument)."""


class Interrupted(Exception):
    """Ctrl-C: the finished episodes are safe in the journal."""

    def __init__(self, done: int, total: int, journal: Path | None):
        self.done, self.total, self.journal = done, total, journal
        saved = f"; they are saved in {journal}, run the same command again to resume" if journal else \
            " (no --out, so nothing was saved)"
        super().__init__(f"interrupted after {done} of {total} episodes{saved}")


# -- where tasks and environments come from ---------------------------------------------------------

class RodsSuiteSource:
    """A frozen rods suite (``tasks/<name>/``) and the native domain environments."""

    def __init__(self, name: str):
        self.suite = rods_envs.load_suite(name)
        self.name = name

    @property
    def hash(self) -> str:
        return self.suite.hash

    def tasks(self, split: str) -> list:
        return self.suite.split(split)

    def env_spec(self, domain: str, split: str) -> dict:
        return {"id": rods_envs.ENV_IDS[domain], "kwargs": {"suite": self.name, "split": split}}

    def make_env(self, domain: str, split: str) -> gym.Env:
        spec = self.env_spec(domain, split)
        return gym.make(spec["id"], **spec["kwargs"])

    def oracle(self, tasks: list) -> object:
        return OraclePolicy(tasks)


@dataclass(frozen=True)
class CategoryTask:
    """A BFCL task as evaluation sees it: its category plays the part of a domain."""
    id: str
    domain: str
    turns: tuple


class BFCLSource:
    """BFCL V3 multi-turn (``--suite bfcl-v3``) through ``rods_envs.bfcl``, whose data comes from
    the installed bfcl-eval. Its "domains" are BFCL's categories; its hash covers every task's
    question, configuration and ground truth, so results from other BFCL data do not verify."""

    name = "bfcl-v3"

    def __init__(self):
        from rods_envs import bfcl
        bfcl.require_bfcl()
        self.bfcl = bfcl
        self.by_id = {t.id: t for t in bfcl.load_tasks("all", "all")}

    @cached_property
    def hash(self) -> str:
        digest = hashlib.sha256()
        for task_id in sorted(self.by_id):
            task = self.by_id[task_id]
            digest.update(json.dumps({"id": task.id, "record": task.record, "gold": task.gold},
                                     sort_keys=True, separators=(",", ":")).encode())
        return digest.hexdigest()

    def tasks(self, split: str) -> list[CategoryTask]:
        return [CategoryTask(t.id, t.category, tuple(t.turns)) for t in self.bfcl.load_tasks("all", split)]

    def env_spec(self, domain: str, split: str) -> dict:
        return {"id": self.bfcl.ENV_ID, "kwargs": {"category": domain, "split": split}}

    def make_env(self, domain: str, split: str) -> gym.Env:
        spec = self.env_spec(domain, split)
        return gym.make(spec["id"], **spec["kwargs"])

    def oracle(self, tasks: list) -> object:
        from rods_envs.bfcl.oracle import BFCLOraclePolicy
        return BFCLOraclePolicy([self.by_id[t.id] for t in tasks])


@lru_cache(maxsize=8)
def load_source(name: str):
    """The task source behind ``--suite NAME``: a frozen rods suite, or ``bfcl-v3``."""
    if name.lower().startswith("bfcl"):
        if name != BFCLSource.name:
            raise EvalError(f"unknown BFCL suite {name!r}; the BFCL multi-turn suite is {BFCLSource.name!r}")
        try:
            return BFCLSource()
        except (ImportError, gym.error.DependencyNotInstalled) as exc:
            raise EvalError(f"suite {name!r}: {exc}") from None
    return RodsSuiteSource(name)


# -- the plan of a run ------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunConfig:
    policy: str
    suite: str
    split: str
    trials: int
    seed: int
    domains: tuple[str, ...] | None

    def identity(self, suite_hash: str) -> dict:
        """What a journal must match to be resumed by this run."""
        return {"policy": self.policy, "suite": self.suite, "suite_hash": suite_hash, "split": self.split,
                "trials": self.trials, "seed": self.seed,
                "domains": list(self.domains) if self.domains else None}


@dataclass(frozen=True)
class Job:
    task_id: str
    domain: str
    trial: int
    seed: int


def episode_seed(seed: int, task_id: str, trial: int) -> int:
    """A 32-bit seed from (run seed, task, trial) alone, so no episode depends on another."""
    digest = hashlib.sha256(f"{seed}/{task_id}/{trial}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def select_tasks(source, split: str, domains) -> list:
    tasks = source.tasks(split)
    if domains:
        known = sorted({t.domain for t in tasks})
        unknown = sorted(set(domains) - set(known))
        if unknown:
            raise EvalError(f"no tasks of domain {', '.join(unknown)} in {source.name}/{split}; "
                            f"its domains are {', '.join(known)}")
        tasks = [t for t in tasks if t.domain in domains]
    return tasks


def plan_jobs(tasks: list, trials: int, seed: int) -> list[Job]:
    """Trial-major: an interrupted run has whole early trials rather than a few finished tasks."""
    return [Job(t.id, t.domain, trial, episode_seed(seed, t.id, trial))
            for trial in range(trials) for t in tasks]


# -- policies ---------------------------------------------------------------------------------------

class EpisodeSeededRandom:
    """The random baseline, reseeded for every episode so its play is order-free."""

    metadata = {"kind": "baseline", "description": "random schema-shaped tool calls"}

    def __init__(self):
        self.inner = RandomPolicy(0)

    def seed(self, seed: int) -> None:
        self.inner = RandomPolicy(seed)

    def reset(self, info: dict) -> None:
        self.inner.reset(info)

    def act(self, observation, info):
        return self.inner.act(observation, info)


def policy_factory(spec: str):
    """The factory behind ``MODULE:FACTORY`` (imported, not called), or None for a built-in."""
    if spec in BUILTIN_POLICIES:
        return None
    if spec.startswith(MODEL_POLICY_PREFIXES):
        from .lm.policies import policy_spec_factory
        try:
            return policy_spec_factory(spec)
        except ValueError as exc:
            raise EvalError(str(exc)) from None
    module_name, sep, factory_name = spec.partition(":")
    if not sep or not module_name or not factory_name:
        raise EvalError("--policy must be oracle, random, MODULE:FACTORY, hf:DIR or openai:MODEL@BASE_URL, "
                        f"not {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise EvalError(f"--policy {spec}: cannot import {module_name}: {exc}") from None
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        raise EvalError(f"--policy {spec}: {module_name} has no callable {factory_name!r}")
    return factory


def build_policy(spec: str, source, tasks: list) -> object:
    if spec == "oracle":
        return source.oracle(tasks)
    if spec == "random":
        return EpisodeSeededRandom()
    factory = policy_factory(spec)
    policy = factory()
    if not callable(getattr(policy, "act", None)):
        raise EvalError(f"--policy {spec}: {spec}() returned {type(policy).__name__}, "
                        "which has no act(observation, info) method")
    return policy


def policy_metadata(policy) -> dict:
    """The policy's ``metadata`` dict, cut to short JSON scalars (it is shown on the leaderboard)."""
    raw = getattr(policy, "metadata", None)
    if not isinstance(raw, dict):
        return {}
    clean = {}
    for key, value in list(raw.items())[:MAX_METADATA_ITEMS]:
        scalar = isinstance(value, (str, int, float, bool, type(None)))
        if not scalar or isinstance(value, float) and not math.isfinite(value):
            value = str(value)     # JSON has no NaN or infinity, and no objects here
        if isinstance(value, str):
            value = value[:MAX_METADATA_CHARS]
        clean[str(key)[:64]] = value
    return clean


# -- running episodes (top-level functions, so spawned workers can import them) ---------------------

def one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class EpisodeRunner:
    """One process's policy and environments (one per domain, reused across episodes)."""

    def __init__(self, config: RunConfig):
        self.config = config
        self.source = load_source(config.suite)
        self.policy = build_policy(config.policy, self.source, select_tasks(self.source, config.split, config.domains))
        self.metadata = policy_metadata(self.policy)
        self.envs: dict[str, gym.Env] = {}

    def run(self, job: Job) -> dict:
        if job.domain not in self.envs:
            self.envs[job.domain] = self.source.make_env(job.domain, self.config.split)
        if callable(getattr(self.policy, "seed", None)):
            self.policy.seed(job.seed)
        result = run_episode(self.envs[job.domain], self.policy, seed=job.seed, options={"task_id": job.task_id})
        record = asdict(result)
        return {"task_id": job.task_id, "domain": job.domain, "trial": job.trial, **record}

    def run_safely(self, job: Job) -> dict:
        try:
            return {"episode": self.run(job), "policy": self.metadata}
        except Exception as exc:  # reported by the parent as one line, with the journal kept
            return {"error": f"task {job.task_id} trial {job.trial}: {one_line(exc)}"}


_worker_runner: EpisodeRunner | None = None
_worker_error: str | None = None


def _start_worker(config: RunConfig) -> None:
    global _worker_runner, _worker_error
    try:
        _worker_runner = EpisodeRunner(config)
    except Exception as exc:  # a pool initializer that raises would be restarted forever
        _worker_error = one_line(exc)


def _work(job: Job) -> dict:
    if _worker_runner is None:
        return {"error": f"a worker could not start: {_worker_error}"}
    return _worker_runner.run_safely(job)


def run_jobs(config: RunConfig, jobs: list[Job], workers: int, runner: EpisodeRunner | None = None):
    """Yield each job's outcome as it finishes: in this process (with ``runner``, built there
    already), or in a pool of spawned ones."""
    if not jobs:
        return
    if workers == 1:
        runner = runner or EpisodeRunner(config)
        for job in jobs:
            yield runner.run_safely(job)
        return
    context = multiprocessing.get_context("spawn")
    in_main_thread = threading.current_thread() is threading.main_thread()
    # Workers start with Ctrl-C ignored (inherited through exec), so only this process handles it.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main_thread else None
    try:
        pool = context.Pool(min(workers, len(jobs)), initializer=_start_worker, initargs=(config,))
    finally:
        if in_main_thread:
            signal.signal(signal.SIGINT, previous)
    with pool:  # leaving it (done, error, Ctrl-C) terminates the workers
        yield from pool.imap_unordered(_work, jobs, chunksize=1)


# -- the results file -------------------------------------------------------------------------------

def package_versions() -> dict:
    found = {"python": platform.python_version(), "implementation": platform.python_implementation(),
             "platform": platform.platform()}
    for dist in ("rods", "gymnasium", "numpy", "networkx", "jsonschema", "pettingzoo",
                 "torch", "transformers", "trl", "bfcl-eval"):
        try:
            found[dist] = dist_metadata.version(dist)
        except dist_metadata.PackageNotFoundError:
            pass
    return found


def evaluate(policy_spec: str, suite: str = "rods-v1", split: str = "test", trials: int = 1,
             seed: int = 0, domains: list[str] | None = None, *, workers: int = 1, out: str | None = None,
             name: str | None = None, model: str | None = None, progress: bool = False,
             on_episode=None) -> dict:
    """Run every (task, trial) of the split and return the results (also written to ``out``)."""
    if trials < 1:
        raise EvalError(f"--trials must be at least 1, not {trials}")
    if workers < 1:
        raise EvalError(f"--workers must be at least 1, not {workers}")
    for flag, text in (("--name", name), ("--model", model)):
        if text is not None and not 1 <= len(text) <= MAX_NAME_CHARS:
            raise EvalError(f"{flag} must be 1 to {MAX_NAME_CHARS} characters, not {len(text)}")
    source = load_source(suite)
    tasks = select_tasks(source, split, domains)
    jobs = plan_jobs(tasks, trials, seed)
    planned = {(job.task_id, job.trial): job for job in jobs}
    config = RunConfig(policy_spec, suite, split, trials, seed, tuple(sorted(domains)) if domains else None)

    journal = Journal(journal_path(out), config.identity(source.hash)) if out else None
    done: dict[tuple[str, int], dict] = {}
    metadata = journal.policy_metadata if journal else None
    for record in journal.episodes if journal else []:
        key = (record.get("task_id"), record.get("trial"))
        if set(record) != RECORD_FIELDS or key not in planned or record["seed"] != planned[key].seed:
            raise EvalError(f"{journal.path}: episode {key} is not part of this run; delete the journal to start over")
        done[key] = record
    resumed = len(done)
    pending = [job for job in jobs if (job.task_id, job.trial) not in done]

    # Bad policies fail here, before a journal or a progress bar appears: a serial run builds its
    # policy now; a parallel one at least imports the factory each worker will call.
    runner = EpisodeRunner(config) if workers == 1 and pending else None
    if workers > 1 and pending:
        policy_factory(policy_spec)

    started = time.monotonic()
    bar = progress_bar(len(jobs), f"{policy_spec} on {suite}/{split}", initial=resumed, enabled=progress)
    try:
        with journal or contextlib.nullcontext(), contextlib.closing(run_jobs(config, pending, workers, runner)) as outcomes:
            for outcome in outcomes:
                if "error" in outcome:
                    kept = f"; the {len(done)} finished episodes are kept in {journal.path}" if journal else ""
                    raise EvalError(f"{policy_spec} failed on {outcome['error']}{kept}")
                record = outcome["episode"]
                done[(record["task_id"], record["trial"])] = record
                if journal:
                    journal.set_policy_metadata(outcome["policy"])
                    journal.add_episode(record)
                if metadata is None:
                    metadata = outcome["policy"]
                bar.update()
                if on_episode:
                    on_episode(record)
    except KeyboardInterrupt:
        raise Interrupted(len(done), len(jobs), journal.path if journal else None) from None
    finally:
        bar.close()

    episodes = [done[(job.task_id, job.trial)] for job in jobs]
    metadata = metadata or {}
    results = {
        "format": RESULTS_FORMAT,
        "suite": source.name, "suite_hash": source.hash, "split": split, "trials": trials,
        "policy": {"name": (name or policy_spec)[:MAX_NAME_CHARS], "spec": policy_spec, "seed": seed,
                   "model": model or str(metadata.get("model", ""))[:MAX_NAME_CHARS],
                   "sanity_check": policy_spec == "oracle" or metadata.get("sanity_check") is True,
                   "metadata": metadata},
        "envs": {domain: source.env_spec(domain, split) for domain in sorted({t.domain for t in tasks})},
        "run": {"created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "workers": workers,
                "seconds": round(time.monotonic() - started, 3), "resumed_episodes": resumed,
                "domains": list(config.domains) if config.domains else None},
        "versions": package_versions(),
        "episodes": episodes,
        "summary": summarize(episodes),
    }
    if out:
        write_results(results, out)
        journal.remove()
    return results


def write_results(results: dict, path: str | os.PathLike) -> None:
    write_atomically(path, (json.dumps(results, indent=1, ensure_ascii=False) + "\n").encode())


def format_summary(results: dict) -> str:
    s = results["summary"]

    def scores(part: dict) -> str:
        lo, hi = part["pass_hat_k_ci95"][0]
        text = f"pass^1 {part['pass_hat_k'][0]:.3f} [{lo:.3f}, {hi:.3f}]"
        if part["trials"] > 1:
            text += f"  pass^{part['trials']} {part['pass_hat_k'][-1]:.3f}"
        lo, hi = part["progress_ci95"]
        return text + f"  progress {part['progress']:.3f} [{lo:.3f}, {hi:.3f}]"

    lines = [f"{results['policy']['name']} on {results['suite']}/{results['split']} "
             f"({s['tasks']} tasks x {s['trials']} trials): {scores(s)}"]
    width = max(map(len, s["domains"]), default=0)
    for domain, part in s["domains"].items():
        lines.append(f"  {domain:<{width}}  {scores(part)}  ({part['tasks']} tasks)")
    return "\n".join(lines)
