"""The synthesizer: mutate or resample tasks into verified, solvable variants.

    synth = Synthesizer("retail", seeds, seed=0)
    variants = synth.resample_like(task, 10)        # same depth and turns, calls within one
    variant = synth.mutate(task, "deepen")          # or None, with the reason counted

Nothing is emitted unverified: a variant must validate against the task schema, be solved by the
oracle through the environment (outcome 1), fail the do-nothing policy on every turn, change the
state or owe the user an answer in every turn, and differ from every task seen so far. Rejected
attempts are counted by reason in ``synth.rejected``.
"""

from __future__ import annotations

import collections
import contextlib
import gc

import numpy as np

from ..domains import get_domain
from ..env import ToolUseEnv
from ..episode import DoNothingPolicy, run_episode
from ..oracle import OraclePolicy
from ..task import Task, TaskError, content_key, state_digest
from .draws import Draws, draws
from .mutations import MUTATIONS, LiteralPool, compose, tagged
from .phrasing import Paraphraser, Phrasebook
from .realize import Realiser, Unrealizable
from .resumable import Resumable
from .skeleton import Skeleton, lift
from .walk import walk_like

WORLDS = 16   # new worlds per synthesizer; every variant draws one (building worlds is the slow part)
SAME_WORLD = {"swap", "deepen", "widen", "prune", "withhold"}
REUSE = 0.5   # how often resample_like rebinds a plan it walked before instead of walking anew


@contextlib.contextmanager
def gc_paused():
    """The cyclic garbage collector off for the duration (and back as it was after). A variant
    allocates thousands of short-lived dicts and lists (world copies, records, episodes), so the
    collector would run every few hundred microseconds and walk every live object (the suite,
    the worlds) to find the little cyclic garbage synthesis leaves; it is collected afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def matches(signature: dict, target: dict, same_wl: bool = False) -> bool:
    """Does ``signature`` match ``target`` as resample_like promises?"""
    ok = (signature["depth"] == target["depth"] and signature["turns"] == target["turns"]
          and abs(signature["calls"] - target["calls"]) <= 1)
    return ok and (not same_wl or signature["wl_hash"] == target["wl_hash"])


class Synthesizer(Resumable):
    def __init__(self, domain: str, seeds: list[Task], seed: int = 0, paraphraser: Paraphraser | None = None,
                 worlds: int = WORLDS):
        self.domain = get_domain(domain)
        self.seeds = [t for t in seeds if t.domain == domain]
        self.rng = np.random.default_rng([seed, 0x5EED])
        self.world_rng = np.random.default_rng([seed, 0xB0B])
        self.skeletons = {t.id: lift(t) for t in self.seeds}
        self.pool = LiteralPool(list(self.skeletons.values()))
        self.phrasebook = Phrasebook(self.domain.phrases, paraphraser)
        self.realiser = Realiser(self.domain, self.phrasebook)
        # One environment verifies every variant (each runs with options={"task": ...}).
        self.env = ToolUseEnv(domain, tasks=self.seeds, max_steps=256) if self.seeds else None
        self._worlds = [self.domain.make_world(self.world_rng) for _ in range(worlds)]
        self._digests: dict[int, tuple[dict, str]] = {}
        for world in self._worlds:       # per-world work no attempt changes: done with the worlds
            self._digest(world)
            self.realiser.blob(world)
        self.seen = {self._key(t.record) for t in self.seeds}
        self.rejected: collections.Counter = collections.Counter()
        self.emitted = 0
        self.attempts = 0

    # -- public API -------------------------------------------------------------------------------
    def mutate(self, task: Task, mutation: str, rng: np.random.Generator | None = None,
               other: Task | None = None) -> Task | None:
        with gc_paused():
            return self._mutate(task, mutation, draws(rng if rng is not None else self.rng), other)

    def resample_like(self, task: Task, n: int, rng: np.random.Generator | None = None,
                      same_wl: bool = False, max_attempts: int | None = None) -> list[Task]:
        """Up to ``n`` new verified tasks whose signature matches ``task``'s (see ``matches``)."""
        with gc_paused():
            return self._resample_like(task, n, draws(rng if rng is not None else self.rng), same_wl, max_attempts)

    # -- internals --------------------------------------------------------------------------------
    def _mutate(self, task: Task, mutation: str, rng: Draws, other: Task | None) -> Task | None:
        skeleton = self._skeleton(task)
        if mutation == "compose":
            partner = other or self.seeds[int(rng.integers(len(self.seeds)))]
            mutated = compose(skeleton, self._skeleton(partner))
        elif mutation in MUTATIONS:
            mutated = MUTATIONS[mutation](skeleton, self.domain, self.pool, rng)
        else:
            raise ValueError(f"unknown mutation {mutation!r}; choose from {sorted(MUTATIONS) + ['compose']}")
        if mutated is None:
            self.rejected[f"{mutation} does not apply"] += 1
            return None
        # A structural change keeps the seed's world and values, so the variant differs by that
        # change alone; compose keeps the first task's world; reinstantiate is about a new one.
        world = task.record["initial_state"] if mutation != "reinstantiate" else None
        return self._emit(mutated, rng, world=world, keep_values=mutation in SAME_WORLD)

    def _resample_like(self, task: Task, n: int, rng: Draws, same_wl: bool, max_attempts: int | None) -> list[Task]:
        target = task.signature
        categories = {self.domain.tools[c["tool"]].category for c in task.calls}
        skeleton = self._skeleton(task)
        out: list[Task] = []
        walked_plans: list[Skeleton] = []    # plans a walk found: rebound on other worlds too
        # The worlds each plan was tried on (the seed's own plan is -1): a plan is rebound on a
        # world it has not been tried on, where it neither failed nor made a variant already.
        tried: dict[int, set[int]] = collections.defaultdict(set)
        for _ in range(max_attempts or 20 * n):
            if len(out) == n:
                break
            if walked_plans and rng.random() < REUSE:
                k = int(rng.integers(len(walked_plans)))
                w = self._world_index(rng, tried[k])
                tried[k].add(w)
                variant = self._emit(tagged(walked_plans[k], "reinstantiate"), rng, target=target,
                                     world=self._worlds[w])
            elif same_wl or rng.random() < 0.3:
                same = tagged(tagged(skeleton, "resample_like"), "reinstantiate")
                w = self._world_index(rng, tried[-1])
                tried[-1].add(w)
                variant = self._emit(same, rng, target=target, same_wl=same_wl, world=self._worlds[w])
            else:
                w = self._world_index(rng)
                walked = walk_like(target, categories, self.domain, self.pool, self.realiser, self._worlds[w], rng,
                                   {"seed": task.id, "mutations": ["resample_like"]})
                if walked is None:
                    self.rejected["no walk fits the signature"] += 1
                    continue
                variant = self._emit(walked[0], rng, target=target, realisation=walked[1])
                if variant is not None:
                    tried[len(walked_plans)].add(w)
                    walked_plans.append(walked[0])
            if variant is not None:
                out.append(variant)
        return out

    def _skeleton(self, task: Task) -> Skeleton:
        if task.id not in self.skeletons:
            self.skeletons[task.id] = lift(task)
        return self.skeletons[task.id]

    def _world(self, rng) -> dict:
        return self._worlds[self._world_index(rng)]

    def _world_index(self, rng, avoid: set[int] = frozenset()) -> int:
        """A pool world, at random among those not in ``avoid`` (among all, if none is left)."""
        left = [k for k in range(len(self._worlds)) if k not in avoid] if avoid else None
        if not left:
            return int(rng.integers(len(self._worlds)))
        return left[int(rng.integers(len(left)))]

    def _emit(self, skeleton: Skeleton, rng, target: dict | None = None, same_wl: bool = False,
              realisation=None, world: dict | None = None, keep_values: bool = False) -> Task | None:
        """Realise (unless a walk already did; on ``world`` or a new one), verify, and count."""
        self.attempts += 1
        variant_id = f"{skeleton.lineage.get('seed', self.domain.name)}.v{self.attempts}"[:128]
        try:
            run = realisation or self.realiser.realise(skeleton, world or self._world(rng), rng,
                                                       keep_values=keep_values)
            record = run.record(skeleton, variant_id)
        except Unrealizable as exc:
            self.rejected[exc.reason] += 1
            return None
        key = self._key(record)
        reason, task = self.verify(record, lambda task: run.gold(skeleton, task), key=key)
        if reason is None and target is not None and not matches(task.signature, target, same_wl):
            reason = "signature mismatch"
        if reason is not None:
            self.rejected[reason] += 1
            return None
        self.seen.add(key)
        self.emitted += 1
        return task

    def _key(self, record: dict) -> str:
        """``content_key``, with each world's digest computed once (worlds are few and shared)."""
        return content_key(record, self._digest(record["initial_state"]))

    def _digest(self, world: dict) -> str:
        if id(world) not in self._digests:     # the entry holds the world, so its id stays its own
            self._digests[id(world)] = (world, state_digest(world))
        return self._digests[id(world)][1]

    def verify(self, record: dict, gold=None, key: str | None = None) -> tuple[str | None, Task | None]:
        """(None, task) when ``record`` may be emitted, else (the reason, None). ``gold``, if
        given, makes the task's gold from a run of its plan already made; ``key``, if given, is
        the record's ``content_key``."""
        if (key or self._key(record)) in self.seen:
            return "duplicate", None
        try:
            task = Task.from_dict(record)
            if gold is not None:
                task.with_gold(gold(task))
            gold = task.gold
        except (TaskError, ValueError):
            return "invalid task", None
        if any(unchanged and not answers for unchanged, answers in zip(gold.unchanged, gold.answers)):
            return "trivial turn", None
        blob = self.realiser.known_blob(record["initial_state"])
        if blob is not None:     # the frozen world each episode's reset thaws: already made
            task.with_initial_blob(blob)
        env = self.env or ToolUseEnv(self.domain.name, tasks=[task], max_steps=256)
        solved = run_episode(env, OraclePolicy([task]), options={"task": task})
        if solved.outcome != 1:
            return "oracle failed", None
        idle = run_episode(env, DoNothingPolicy(), options={"task": task})
        if idle.progress != 0.0:
            return "do-nothing passed", None
        return None, task
