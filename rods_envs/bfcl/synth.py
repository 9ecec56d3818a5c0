"""Verified variants of BFCL multi-turn tasks: the synthesizer of ``rods_envs.synth`` on BFCL's
backends.

    from rods_envs.bfcl import load_tasks
    from rods_envs.bfcl.synth import BFCLSynthesizer

    seeds = load_tasks("base", "train")
    synth = BFCLSynthesizer(seeds, seed=0)
    variants = synth.resample_like(seeds[0], 5, rng)     # same depth and turns, calls within one
    harder = synth.mutate(seeds[0], "deepen", rng)        # a BFCLTask, or None (reason counted)

A variant keeps its seed's world (BFCL's configs are written for one scenario, so entities cannot
be rebound generically) and changes the calls: new plans are walked over the seed's backends
(the API graph's value links, and the order that backend state imposes), with arguments read off
earlier results or drawn from the values the gold calls on that world used; every call runs
forward on fresh backends, and one that fails sinks the attempt. Turns whose calls the seed's
words still describe keep those words; every other call is phrased from its function's doc.

Nothing is emitted unverified: the variant is a well-formed BFCL entry; no gold call fails; the
BFCL oracle scores outcome 1 through ``BFCLEnv``; the do-nothing policy passes no turn that has
gold calls; every such turn changes the state or returns something the user must receive; its
content (world and gold calls) is new. Rejected attempts are counted by reason in ``rejected``.

Operations: ``resample_like``, ``swap``, ``deepen``, ``widen``, ``prune``, ``compose`` (two tasks
on one world, in sequence), ``withhold`` (BFCL's miss_param: a turn without a required value and
without gold calls, where the agent must ask, then a turn that gives it). ``reinstantiate`` does
not apply to BFCL (no world generator) and is counted as such.

Variants are ``BFCLTask`` objects whose ``record`` is a BFCL entry (``question``, ``ground_truth``,
``initial_config``, ``involved_classes``) plus ``category``, ``index`` (the seed's, so a variant
stays in its seed's split) and ``lineage``; ids are ``synth_<seed id>_<content hash>``, which no
BFCL id can be. ``write_variants`` / ``load_variants`` keep them in JSONL.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable, Iterator

import networkx as nx
import numpy as np

from ..episode import DoNothingPolicy, run_episode
from ..synth import matches
from ..synth.mutations import fields_of_type
from ..synth.patterns import STAR
from ..synth.phrasing import MissingValue, Paraphraser
from ..synth.resumable import Resumable
from ..tool import SEMANTIC
from . import backends
from .backends import MULTI_TURN_CLASSES, public_state
from .calls import CallSyntaxError, format_call
from .checker import call_key, parse_gold_call, task_functions
from .data import CATEGORIES, BFCLTask, load_tasks
from .env import BFCLEnv
from .oracle import BFCLOraclePolicy
from .synth_phrasing import Phraser
from .synth_plan import Call, LiteralPool, Plan, Run, Turn, failed, informative, lift, run_plan, source_of, tagged
from .tools import api_graph, backend_tools

MUTATIONS = ("reinstantiate", "swap", "deepen", "widen", "prune", "withhold")
OPERATIONS = ("resample_like", *MUTATIONS, "compose")
ID_PREFIX = "synth_"
PROPOSALS = 8        # proposals per position before a walk or a mutation gives up
REBIND = 0.3         # how often resample_like redraws the seed's own plan's arguments instead of walking
RECORD_KEYS = ("id", "category", "index", "question", "ground_truth", "initial_config", "involved_classes")


class Reject(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# -- content, ids, records ----------------------------------------------------------------------

def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=repr)


def content_key(task: BFCLTask, world: str | None = None) -> str:
    """Two tasks with the same world, backends and gold calls share it (the words may differ:
    a rewording of the same calls is no new task)."""
    functions = task_functions(task.classes)
    gold = [[call_key(*parse_gold_call(s, functions)) for s in turn] for turn in task.gold]
    world = world or hashlib.sha256(_canonical(task.initial_config).encode()).hexdigest()
    body = _canonical({"world": world, "classes": sorted(task.classes), "long": task.long_context, "gold": gold})
    return hashlib.sha256(body.encode()).hexdigest()


def task_from_record(record: Any) -> BFCLTask:
    """A variant record (as ``variant.record`` holds it, or a JSONL line) as a BFCLTask; a
    ValueError with one line saying what is wrong otherwise."""
    if not isinstance(record, dict):
        raise ValueError(f"a variant record must be a JSON object, not {type(record).__name__}")
    missing = [k for k in RECORD_KEYS if k not in record]
    if missing:
        raise ValueError(f"variant record lacks {missing}")
    rid = record["id"]
    if not isinstance(rid, str) or not rid or len(rid) > 256:
        raise ValueError("variant id must be a non-empty string of at most 256 characters")
    if record["category"] not in CATEGORIES:
        raise ValueError(f"variant {rid[:80]}: unknown category {str(record['category'])[:40]!r}")
    if type(record["index"]) is not int or record["index"] < 0:
        raise ValueError(f"variant {rid[:80]}: index must be a non-negative int")
    classes = record["involved_classes"]
    if not isinstance(classes, list) or not classes or not all(c in MULTI_TURN_CLASSES for c in classes):
        raise ValueError(f"variant {rid[:80]}: involved_classes must name BFCL multi-turn backends")
    config = record["initial_config"]
    if not isinstance(config, dict):
        raise ValueError(f"variant {rid[:80]}: initial_config must be an object")
    question, truth = record["question"], record["ground_truth"]
    if not isinstance(question, list) or not isinstance(truth, list) or len(question) != len(truth) or not question:
        raise ValueError(f"variant {rid[:80]}: question and ground_truth must be lists of equal, non-zero length")
    functions = task_functions(tuple(classes))
    turns = []
    for t, (messages, calls) in enumerate(zip(question, truth)):
        if not isinstance(messages, list) or not all(isinstance(m, dict) and isinstance(m.get("content"), str)
                                                     for m in messages):
            raise ValueError(f"variant {rid[:80]}: turn {t}: question must be a list of messages with content")
        if not isinstance(calls, list) or not all(isinstance(c, str) for c in calls):
            raise ValueError(f"variant {rid[:80]}: turn {t}: ground_truth must be a list of call strings")
        for c in calls:
            try:
                parse_gold_call(c, functions)
            except (ValueError, CallSyntaxError) as exc:
                raise ValueError(f"variant {rid[:80]}: turn {t}: {str(exc)[:160]}") from None
        turns.append("\n".join(m["content"] for m in messages if m.get("role") == "user"))
    revealed = {int(t): tuple(names) for t, names in (record.get("missed_function") or {}).items()}
    return BFCLTask(id=rid, category=record["category"], index=record["index"], turns=tuple(turns),
                    gold=tuple(tuple(c) for c in truth), initial_config=config, classes=tuple(classes),
                    revealed=revealed, record=record)


def write_variants(path: str | Path, variants: Iterable[BFCLTask | dict]) -> int:
    """Write variants (tasks or records) as JSONL, replacing ``path`` atomically; the count."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    try:
        with tmp.open("w", encoding="utf-8") as sink:
            for v in variants:
                sink.write(json.dumps(v.record if isinstance(v, BFCLTask) else v, ensure_ascii=False) + "\n")
                n += 1
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)      # an interrupted run leaves the old file as it was
        raise
    return n


def load_variants(path: str | Path) -> list[BFCLTask]:
    """Variants written by ``write_variants`` (or ``rods synth --suite bfcl-v3``), for
    ``BFCLEnv(tasks=...)``. A bad line is a ValueError naming the file and line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    out, ids = [], set()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            task = task_from_record(json.loads(line))
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"{path}:{n}: {str(exc)[:200]}") from None
        if task.id in ids:
            raise ValueError(f"{path}:{n}: duplicate id {task.id[:80]!r}")
        ids.add(task.id)
        out.append(task)
    return out


# -- the synthesizer ----------------------------------------------------------------------------

def _depths(graph: nx.DiGraph) -> dict[str, int]:
    depth = {}
    for node in nx.topological_sort(graph):
        depth[node] = 1 + max((depth[p] for p in graph.predecessors(node)), default=0)
    return depth


def _at(value: Any, path: tuple) -> list:
    """The values at ``path`` in a parsed result (``*`` steps through a list)."""
    if not path:
        return [value]
    step, rest = path[0], path[1:]
    if step == STAR:
        return [x for item in value for x in _at(item, rest)] if isinstance(value, list) else []
    return _at(value[step], rest) if isinstance(value, dict) and step in value else []


class BFCLSynthesizer(Resumable):
    def __init__(self, seeds: list[BFCLTask], seed: int = 0, paraphraser: Paraphraser | None = None):
        strangers = [t for t in seeds if not isinstance(t, BFCLTask)]
        if strangers:
            raise ValueError(f"seeds must be BFCLTask objects, got {type(strangers[0]).__name__}")
        self.seeds = list(seeds)
        self.rng = np.random.default_rng([seed, 0xBFC1])
        self._digests: dict[int, tuple[dict, str]] = {}
        self._plans: dict[str, Plan] = {}
        self._pools: dict[str, LiteralPool] = {}
        self._graphs: dict[tuple, nx.DiGraph] = {}
        by_world = collections.defaultdict(list)
        for t in self.seeds:
            by_world[self._world(t)].append(t)
        self.by_world = dict(by_world)
        self.phraser = Phraser(backends.all_functions(), paraphraser)
        self.env = BFCLEnv(tasks=self.seeds) if self.seeds else None
        self.seen = {content_key(t, self._digest(t)) for t in self.seeds}
        self.rejected: collections.Counter = collections.Counter()
        self.emitted = 0
        self.attempts = 0

    # -- public API -------------------------------------------------------------------------------
    def mutate(self, task: BFCLTask, mutation: str, rng: np.random.Generator | None = None,
               other: BFCLTask | None = None) -> BFCLTask | None:
        """One verified variant of ``task`` by ``mutation``, or None (the reason counted)."""
        if mutation not in MUTATIONS and mutation != "compose":
            raise ValueError(f"unknown mutation {mutation!r}; choose from {list(MUTATIONS) + ['compose']}")
        rng = rng if rng is not None else self.rng
        self.attempts += 1
        if mutation == "reinstantiate":
            self.rejected["reinstantiate does not apply (BFCL worlds are fixed per scenario)"] += 1
            return None
        plan = self._plan(task)
        try:
            if mutation == "compose":
                return self._compose(task, plan, rng, other)
            return getattr(self, "_" + mutation)(task, plan, rng)
        except Reject as exc:
            self.rejected[exc.reason] += 1
            return None

    def resample_like(self, task: BFCLTask, n: int, rng: np.random.Generator | None = None,
                      same_wl: bool = False, max_attempts: int | None = None) -> list[BFCLTask]:
        """Up to ``n`` new verified tasks on ``task``'s world whose signature matches ``task``'s
        (``rods_envs.synth.matches``: same depth and turns, calls within one; and here the same
        backends called). ``same_wl``: the same tools on the same DAG, with new arguments."""
        rng = rng if rng is not None else self.rng
        target = task.signature
        functions = task_functions(task.classes)
        used = {functions[name].cls for name in nx.get_node_attributes(task.graph, "tool").values()}
        plan = self._plan(task)
        out: list[BFCLTask] = []
        for _ in range(max_attempts or 20 * n):
            if len(out) == n:
                break
            self.attempts += 1
            try:
                walked = None
                if same_wl or rng.random() < REBIND:
                    walked, run = self._rebind(task, plan, rng, quiet=not same_wl), None
                if walked is None:
                    walked, run = self._walk(task, target, used, rng)
                variant = self._emit(task, walked, rng, run=run, target=target, same_wl=same_wl, used=used)
            except Reject as exc:
                self.rejected[exc.reason] += 1
                continue
            out.append(variant)
        return out

    def verify(self, variant: BFCLTask) -> str | None:
        """None when ``variant`` may be emitted, else the reason it may not."""
        try:
            gold = variant.expected
        except (ValueError, CallSyntaxError):
            return "invalid task"
        turns = gold.turns
        if any(failed(r) for turn in turns for r in turn.results):
            return "a call fails"
        before = {name: public_state(inst) for name, inst in backends.fresh_instances(variant).items()}
        asks = 0
        for t, turn in enumerate(turns):
            if not turn.calls:
                # Only BFCL's miss_param turn may have no calls: the agent asks, the next turn answers.
                if variant.category != "miss_param" or t + 1 == len(turns) or not turns[t + 1].calls:
                    return "trivial turn"
                asks += 1
                continue
            try:
                changed = turn.state != before
            except RecursionError:
                changed = True
            if not changed and not any(informative(r) for r in turn.results):
                return "trivial turn"
            before = turn.state
        if content_key(variant, self._digest(variant)) in self.seen:
            return "duplicate"
        env = self.env or BFCLEnv(tasks=[variant])
        solved = run_episode(env, BFCLOraclePolicy([variant]), options={"task": variant})
        if solved.outcome != 1:
            return "oracle failed"
        idle = run_episode(env, DoNothingPolicy(), options={"task": variant})
        # Do-nothing passes the turns BFCL leaves unchecked (a miss_param ask) and nothing else.
        if idle.outcome != 0 or idle.progress * len(turns) > asks + 1e-9:
            return "do-nothing passed"
        return None

    # -- worlds, plans, pools ---------------------------------------------------------------------
    def _digest(self, task: BFCLTask) -> str:
        config = task.initial_config
        entry = self._digests.get(id(config))
        if entry is None or entry[0] is not config:
            entry = self._digests[id(config)] = (config, hashlib.sha256(_canonical(config).encode()).hexdigest())
        return entry[1]

    def _world(self, task: BFCLTask) -> tuple:
        return self._digest(task), tuple(sorted(task.classes)), task.long_context

    def _plan(self, task: BFCLTask) -> Plan:
        if task.id not in self._plans:
            self._plans[task.id] = lift(task)
        return self._plans[task.id]

    def _pool(self, task: BFCLTask) -> LiteralPool:
        digest = self._digest(task)
        if digest not in self._pools:
            tasks = [t for t in self.seeds if self._digest(t) == digest] or [task]
            self._pools[digest] = LiteralPool(tasks)
        return self._pools[digest]

    # -- emitting ---------------------------------------------------------------------------------
    def _emit(self, base: BFCLTask, plan: Plan, rng, run: Run | None = None, target: dict | None = None,
              same_wl: bool = False, used: set | None = None, check=None) -> BFCLTask:
        """Run (unless done), phrase, build and verify a variant of ``base``; Reject otherwise."""
        if run is None:
            run, problem = run_plan(base, plan)
            if problem:
                raise Reject(problem)
        try:
            turns = self.phraser.turns(plan, run, rng)
        except MissingValue as exc:
            raise Reject(str(exc)) from None
        asks = any(not calls for _, calls in turns)
        if asks and base.long_context:
            raise Reject("withhold does not apply to long-context tasks")
        category = "miss_param" if asks else "long_context" if base.long_context else "base"
        ground_truth = [[format_call(c.name, c.kwargs) for c in calls] for _, calls in turns]
        functions = task_functions(base.classes)
        record = {
            "id": "", "category": category, "index": base.index,
            "question": [[{"role": "user", "content": text}] for text, _ in turns],
            "initial_config": base.initial_config, "involved_classes": list(base.classes),
            "ground_truth": ground_truth,
            "path": [f"{functions[c.name].cls}.{c.name}" for _, calls in turns for c in calls],
            "lineage": {**plan.lineage, "mutations": list(plan.lineage.get("mutations", []))},
        }
        probe = task_from_record({**record, "id": "probe"})
        key = content_key(probe, self._digest(base))
        record["id"] = f"{ID_PREFIX}{plan.lineage.get('seed', base.id)}_{key[:12]}"[:256]
        variant = task_from_record(record)
        # The variant's backends are its base's (same world, classes and mode): share the pickled
        # copy rather than build and keep one per variant (backends caches one per task id).
        backends.share_backends(variant, base)
        reason = self.verify(variant)
        if reason is None and target is not None:
            if not matches(variant.signature, target, same_wl):
                reason = "signature mismatch"
            elif used is not None and {functions[c].cls for c in nx.get_node_attributes(
                    variant.graph, "tool").values()} != used:
                reason = "other backends called"
        if reason is None and check is not None:
            reason = check(variant)
        if reason is not None:
            backends.forget_backends(variant)
            raise Reject(reason)
        self.seen.add(key)
        self.emitted += 1
        return variant

    # -- proposals --------------------------------------------------------------------------------
    def _graph(self, classes) -> nx.DiGraph:
        key = tuple(sorted(classes))
        if key not in self._graphs:
            self._graphs[key] = api_graph(key)
        return self._graphs[key]

    def _drawable(self, task, classes) -> list[str]:
        """The functions of ``classes`` the literal pool can give arguments to."""
        pool = self._pool(task)
        return sorted(n for n, f in task_functions(task.classes).items() if f.cls in classes and pool.can_draw(f))

    def _propose(self, task, run: Run, names: list[str], rng, parent: int | None = None) -> Call | None:
        """A call: one reading a value off call ``parent``'s result along an API-graph edge
        (when ``parent`` is given and such an edge fits), else one of ``names`` with arguments
        from the literal pool."""
        functions = task_functions(task.classes)
        if parent is not None:
            linked = self._linked(task, run, parent, set(names), rng)
            if linked is not None:
                return linked
            cls = run.cls(run.calls[parent].name)
            names = [n for n in names if functions[n].cls == cls] or names
        if not names:
            return None
        name = names[int(rng.integers(len(names)))]
        kwargs = self._pool(task).draw(functions[name], rng)
        return None if kwargs is None else Call(name, kwargs)

    def _linked(self, task, run: Run, parent: int, allowed: set, rng) -> Call | None:
        producer_name = run.calls[parent].name
        tools = backend_tools(run.cls(producer_name))
        producer = tools[producer_name]
        graph = self._graph(task.classes)
        successors = sorted(s for s in graph.successors(producer_name) if s in allowed)
        functions = task_functions(task.classes)
        for k in rng.permutation(len(successors)):
            tool = tools[successors[int(k)]]
            options = [(param, path) for param, schema in tool.parameters["properties"].items()
                       if schema.get(SEMANTIC) in producer.produces
                       for path in fields_of_type(producer.result, schema[SEMANTIC])]
            if not options:
                continue
            param, path = options[int(rng.integers(len(options)))]
            values = [v for v in _at(run.parsed[parent], path) if type(v) in (str, int)]
            if not values:
                continue
            value = values[int(rng.integers(len(values)))]
            kwargs = self._pool(task).draw(functions[tool.name], rng, fixed={param: value})
            if kwargs is None:
                continue
            derived = source_of(run.parsed, len(run), value) is not None
            return Call(tool.name, kwargs, frozenset({param}) if derived else frozenset())
        return None

    def _grow(self, run: Run, propose, accept, turn: int = 0, tries: int = PROPOSALS) -> Call:
        """Add the first proposal ``accept`` takes and the backends run; Reject if none."""
        problem = "no proposal fits"
        for _ in range(tries):
            call = propose()
            if call is None or not accept(call):
                continue
            problem = run.add(call, turn)
            if problem is None:
                return call
        raise Reject(problem)

    def _prefix(self, task, plan: Plan, end: int) -> Run:
        """``plan``'s first ``end`` calls, run."""
        run = Run(task)
        k = 0
        for t, turn in enumerate(plan.turns):
            for call in turn.calls:
                if k == end:
                    return run
                if run.add(call, t):
                    raise Reject("a call fails")
                k += 1
        return run

    # -- resample_like ----------------------------------------------------------------------------
    def _walk(self, task, target: dict, used: set, rng) -> tuple[Plan, Run]:
        """A new plan on ``task``'s world with the target's depth and turns. Calls grow one at a
        time, each run at once. Depth comes from chains of state changes on one backend (and
        values read off results), so the walk extends the deepest chain whenever the calls
        left would not reach the target depth otherwise, and refuses calls that overshoot."""
        depth, turns = target["depth"], target["turns"]
        low = max(depth, turns, target["calls"] - 1)
        n = int(rng.integers(low, max(low, target["calls"] + 1) + 1))
        names = self._drawable(task, used)
        functions = task_functions(task.classes)
        writes = {name: backend_tools(functions[name].cls)[name].writes for name in names}
        run = Run(task)
        while len(run) < n:
            left = n - len(run)
            top, chain = run.frontier()
            called = {run.cls(c.name) for c in run.calls}
            uncalled = [x for x in names if functions[x].cls not in called]
            parent = None
            if uncalled and len(used - called) >= left:
                pick = uncalled                                   # every backend must be called
            elif top + left - 1 < depth or (run.max_depth < depth and rng.random() < (depth - run.max_depth) / left):
                pick = [x for x in names if writes[x] and (not chain or functions[x].cls in chain)] or names
                if rng.random() < 0.3 and len(run):
                    parent = max(range(len(run)), key=lambda j: (run.depth[j], j))
            else:
                pick = names
                if len(run) and rng.random() < 0.3:
                    parent = int(rng.integers(len(run)))

            def accept(call, top=top, deepest=run.max_depth, left=left):
                d = run.depth_of(call)
                reach = max(top, d) if writes.get(call.name, True) else top
                return max(deepest, d) <= depth and depth <= max(deepest, d, reach + left - 1)
            try:
                self._grow(run, lambda: self._propose(task, run, pick, rng, parent), accept, tries=2 * PROPOSALS)
            except Reject:
                raise Reject("no walk fits the signature") from None
        if run.max_depth != depth or {run.cls(c.name) for c in run.calls} != used:
            raise Reject("no walk fits the signature")
        for _ in range(PROPOSALS):      # cut into turns that each change something or answer
            cuts = sorted(int(c) for c in rng.choice(np.arange(1, n), size=turns - 1, replace=False)) if turns > 1 else []
            bounds = [0, *cuts, n]
            if all(any(run.useful[bounds[t]:bounds[t + 1]]) for t in range(turns)):
                break
        else:
            raise Reject("no walk fits the signature")
        plan = Plan(tuple(Turn(tuple(run.calls[bounds[t]:bounds[t + 1]])) for t in range(turns)),
                    {"seed": self._root(task), "mutations": ["resample_like"]})
        return plan, run

    def _rebind(self, task, plan: Plan, rng, quiet: bool = False) -> Plan | None:
        """The seed's plan with some stated arguments redrawn from the literal pool: the same
        tools on the same DAG (unless the new values change what depends on what). Where that
        cannot be done: None if ``quiet`` (the caller walks instead), else Reject."""
        def fail(reason):
            if quiet:
                return None
            raise Reject(reason)
        if len(plan.turns) != len(task.turns):
            return fail("same_wl does not apply to tasks with turns that ask")
        pool = self._pool(task)
        functions = task_functions(task.classes)
        turns, changed = [], False
        for turn in plan.turns:
            calls = []
            for call in turn.calls:
                kwargs = dict(call.kwargs)
                for param in kwargs:
                    options = pool.values.get((functions[call.name].cls, param), [])
                    if param not in call.derive and len(options) > 1 and rng.random() < 0.5:
                        kwargs[param] = options[int(rng.integers(len(options)))]
                calls.append(Call(call.name, kwargs, call.derive))
            if calls != list(turn.calls):
                changed = True
                turns.append(Turn(tuple(calls)))
            else:
                turns.append(turn)
        if not changed:
            return fail("same_wl: no argument to redraw")
        return tagged(Plan(tuple(turns), {"seed": self._root(task), "mutations": []}), "resample_like")

    def _root(self, task) -> str:
        return (task.record.get("lineage") or {}).get("seed", task.id)

    # -- the mutations ----------------------------------------------------------------------------
    def _prune(self, task, plan: Plan, rng) -> BFCLTask:
        """Drop a leaf call of a turn with others; that turn is phrased anew."""
        graph = task.graph
        options = [k for k in range(len(plan.calls)) if graph.out_degree(f"c{k}") == 0
                   and len(plan.turns[plan.locate(k)[0]].calls) > 1]
        if not options:
            raise Reject("prune does not apply")
        k = options[int(rng.integers(len(options)))]
        t, i = plan.locate(k)
        turn = plan.turns[t]
        withhold = turn.withhold
        if withhold is not None:
            withhold = None if withhold[0] == i else (withhold[0] - (withhold[0] > i), withhold[1])
        calls = turn.calls[:i] + turn.calls[i + 1:]
        return self._emit(task, tagged(plan.with_turn(t, Turn(calls, withhold=withhold)), "prune"), rng)

    def _deepen(self, task, plan: Plan, rng) -> BFCLTask:
        """Add a call, at the end of its turn, that depends on a call at the greatest depth."""
        depth = _depths(task.graph)
        top = max(depth.values())
        deepest = sorted(int(node[1:]) for node, d in depth.items() if d == top)
        k = deepest[int(rng.integers(len(deepest)))]
        t, _ = plan.locate(k)
        end = sum(len(turn.calls) for turn in plan.turns[: t + 1])
        run = self._prefix(task, plan, end)
        names = sorted(task_functions(task.classes))
        try:
            call = self._grow(run, lambda: self._propose(task, run, names, rng, k),
                              lambda c: run.depth_of(c) == top + 1, t)
        except Reject:
            raise Reject("deepen does not apply") from None
        turn = plan.turns[t]
        new = Turn(turn.calls + (call,), turn.human, turn.lead, turn.tail + (not turn.templated), turn.withhold)
        want = task.signature["depth"] + 1
        return self._emit(task, tagged(plan.with_turn(t, new), "deepen"), rng,
                          check=lambda v: None if v.signature["depth"] == want else "deepen did not deepen")

    def _widen(self, task, plan: Plan, rng) -> BFCLTask:
        """Add an independent call (a new branch): one that depends on nothing before it, at the
        start of the first turn or the end of some turn."""
        names = sorted(task_functions(task.classes))
        sizes = [len(turn.calls) for turn in plan.turns]
        for _ in range(PROPOSALS):
            t = int(rng.integers(len(plan.turns)))
            lead = t == 0 and rng.random() < 0.5
            end = 0 if lead else sum(sizes[: t + 1])
            run = self._prefix(task, plan, end)
            try:
                call = self._grow(run, lambda: self._propose(task, run, names, rng),
                                  lambda c: run.depth_of(c) == 1, t)
            except Reject:
                continue
            if not run.useful[-1]:
                continue
            turn = plan.turns[t]
            if lead:
                new = Turn((call,) + turn.calls, turn.human, turn.lead + (not turn.templated), turn.tail,
                           turn.withhold and (turn.withhold[0] + 1, turn.withhold[1]))
            else:
                new = Turn(turn.calls + (call,), turn.human, turn.lead, turn.tail + (not turn.templated), turn.withhold)
            old, index = task.signature, end

            def check(v):
                ok = v.signature["calls"] == old["calls"] + 1 and v.signature["depth"] == old["depth"] \
                    and v.graph.in_degree(f"c{index}") == 0
                return None if ok else "widen did not add a branch"
            return self._emit(task, tagged(plan.with_turn(t, new), "widen"), rng, check=check)
        raise Reject("widen does not apply")

    def _swap(self, task, plan: Plan, rng) -> BFCLTask:
        """Replace a call whose result no later call reads by another function of its backend
        that also writes (or also only reads); its inputs carry over where names or semantic
        types agree. Its turn is phrased anew."""
        graph = task.graph
        options = [k for k in range(len(plan.calls))
                   if not any(d.get("kind") == "value" for _, _, d in graph.out_edges(f"c{k}", data=True))]
        if not options:
            raise Reject("swap does not apply")
        k = options[int(rng.integers(len(options)))]
        t, i = plan.locate(k)
        old = plan.calls[k]
        functions = task_functions(task.classes)
        cls = functions[old.name].cls
        tools = backend_tools(cls)
        before = tools[old.name]
        candidates = sorted(n for n, tool in tools.items() if n != old.name and tool.writes == before.writes)
        pool = self._pool(task)
        run = self._prefix(task, plan, k)
        old_types = {before.parameters["properties"].get(p, {}).get(SEMANTIC): p for p in old.kwargs}
        for j in rng.permutation(len(candidates))[:PROPOSALS]:
            tool = tools[candidates[int(j)]]
            fixed = {}
            for param, schema in tool.parameters["properties"].items():
                source = param if param in old.kwargs else old_types.get(schema.get(SEMANTIC)) if schema.get(SEMANTIC) else None
                if source is not None:
                    fixed[param] = old.kwargs[source]
            kwargs = pool.draw(functions[tool.name], rng, fixed=fixed)
            if kwargs is None:
                continue
            derive = frozenset(p for p in fixed if (p if p in old.kwargs else old_types.get(
                tool.parameters["properties"][p].get(SEMANTIC))) in old.derive)
            call = Call(tool.name, kwargs, derive)
            if run.add(call, t) is not None:
                continue                            # refused: the state is as it was
            if not run.useful[-1]:
                run = self._prefix(task, plan, k)   # the next candidate starts from the same point
                continue
            turn = plan.turns[t]
            calls = turn.calls[:i] + (call,) + turn.calls[i + 1:]
            withhold = turn.withhold if turn.withhold and turn.withhold[0] != i else None
            return self._emit(task, tagged(plan.with_turn(t, Turn(calls, withhold=withhold)), "swap"), rng)
        raise Reject("swap does not apply")

    def _withhold(self, task, plan: Plan, rng) -> BFCLTask:
        """BFCL's miss_param: a turn loses a required value the user states, so the agent must
        ask (that turn has no gold calls), and the next turn gives it."""
        if task.long_context:
            raise Reject("withhold does not apply to long-context tasks")
        functions = task_functions(task.classes)
        options = [(t, i, p) for t, turn in enumerate(plan.turns) if turn.withhold is None
                   for i, call in enumerate(turn.calls)
                   for p in functions[call.name].schema.get("required", [])
                   if p in call.kwargs and p not in call.derive and type(call.kwargs[p]) in (str, int, float)
                   and str(call.kwargs[p]).strip()]
        if not options:
            raise Reject("withhold does not apply")
        t, i, p = options[int(rng.integers(len(options)))]
        turn = plan.turns[t]
        return self._emit(task, tagged(plan.with_turn(t, Turn(turn.calls, withhold=(i, p))), "withhold"), rng)

    def _compose(self, task, plan: Plan, rng, other: BFCLTask | None) -> BFCLTask:
        """``task``'s turns, then another task's on the same world (same config, backends, mode)."""
        world = self._world(task)
        if other is None:
            partners = [t for t in self.by_world.get(world, []) if t.id != task.id]
            if not partners:
                raise Reject("compose does not apply (no other task on this world)")
            other = partners[int(rng.integers(len(partners)))]
        elif self._world(other) != world:
            raise Reject("compose does not apply (the tasks are on different worlds)")
        second = self._plan(other)
        composed = tagged(Plan(plan.turns + second.turns, plan.lineage), "compose",
                          composed_with=self._root(other))
        return self._emit(task, composed, rng)


# -- the CLI's entry point ------------------------------------------------------------------------

def synthesize_bfcl(split: str = "train", per_seed: int = 10, seed: int = 0,
                    ops: Iterable[str] = ("resample_like",), category: str = "all",
                    same_wl: bool = False, stats: dict | None = None) -> Iterator[dict]:
    """Variant records for every BFCL task of ``split`` (and ``category``): ``per_seed`` per seed
    and operation (resample_like asks for ``per_seed``; a mutation is tried ``per_seed`` times).
    ``stats``, if given, is kept up to date: emitted, attempts, requested and matched (for
    resample_like), rejected (a Counter by reason), seeds done."""
    ops = list(ops)
    unknown = [op for op in ops if op not in OPERATIONS]
    if unknown or not ops:
        raise ValueError(f"unknown operation {unknown or ops!r}; choose from {list(OPERATIONS)}")
    seeds = load_tasks(category, split)
    synth = BFCLSynthesizer(seeds, seed=seed)
    rng = np.random.default_rng(seed)
    stats = stats if stats is not None else {}
    stats.update(emitted=0, requested=0, matched=0, seeds=0, total_seeds=len(seeds), rejected=synth.rejected)
    for task in seeds:
        for op in ops:
            if op == "resample_like":
                variants = synth.resample_like(task, per_seed, rng, same_wl=same_wl)
                stats["requested"] += per_seed
                stats["matched"] += len(variants)
            else:
                variants = [v for v in (synth.mutate(task, op, rng) for _ in range(per_seed)) if v is not None]
            for v in variants:
                stats["emitted"] += 1
                yield v.record
        stats["seeds"] += 1
        stats["attempts"] = synth.attempts
