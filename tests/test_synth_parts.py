"""The synthesizer's fast paths agree with the plain definitions they replace: signatures read
off the calls, the cut counting, taking a call back, the draws, the validator's yes/no and the
tools' quiet attempt."""

import gc
import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rods_envs
from rods_envs.plan import (
    _SIGNATURES,
    calls_signature,
    parts,
    plan_graph,
    refs_in,
    resolve,
    signature,
)
from rods_envs.synth import Synthesizer
from rods_envs.synth.draws import Draws, draws, in_random_order
from rods_envs.synth.realize import Realisation, Unrealizable
from rods_envs.synth.synthesizer import gc_paused
from rods_envs.synth.walk import _cuts
from rods_envs.tool import ToolError


def suite_tasks():
    return rods_envs.load_suite().split("all")


# -- signatures ---------------------------------------------------------------------------------

def test_calls_signature_is_the_graph_signature_on_every_suite_task():
    for task in suite_tasks():
        _SIGNATURES.clear()           # each computed from scratch, not from the other's memo
        fast = calls_signature(task.calls, len(task.turns))
        _SIGNATURES.clear()
        assert fast == signature(plan_graph(task.calls), len(task.turns)), task.id


@st.composite
def dags(draw):
    n = draw(st.integers(1, 10))
    calls = []
    for k in range(n):
        refs = [{"$ref": f"c{j}", "path": ["x"]} for j in range(k) if draw(st.booleans())]
        args = {"a": refs[0]} if len(refs) == 1 else {"a": refs, "b": 1}
        calls.append({"id": f"c{k}", "tool": draw(st.sampled_from("pqr")), "turn": 0, "args": args})
    return calls


@settings(max_examples=150, deadline=None)
@given(calls=dags(), turns=st.integers(1, 5))
def test_calls_signature_matches_networkx_on_random_dags(calls, turns):
    _SIGNATURES.clear()
    fast = calls_signature(calls, turns)
    _SIGNATURES.clear()
    assert fast == signature(plan_graph(calls), turns)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=3),
                           lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.sampled_from(["$ref", "path", "k"]), inner, max_size=3),
                           max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_refs_in_finds_what_parts_finds(value):
    assert refs_in(value) == list(parts(value, lambda x: type(x) is dict and "$ref" in x))


def test_resolve_fills_references():
    results = {"c1": {"orders": [{"id": "a"}, {"id": "b"}]}}
    value = {"x": {"$ref": "c1", "path": ["orders", 1, "id"]}, "y": [1, {"$ref": "c1", "path": []}], "z": "s"}
    assert resolve(value, results) == {"x": "b", "y": [1, results["c1"]], "z": "s"}


# -- cutting a walk into turns --------------------------------------------------------------------

class _Walked:
    def __init__(self, changed):
        self.nodes, self.changed = list(range(len(changed))), changed


def _valid_cuts(changed, closes, turns):
    n = len(changed)
    for cuts in itertools.combinations(range(1, n), turns - 1):
        bounds = [0, *cuts, n]
        if all(any(changed[a:b]) or closes[b - 1] for a, b in itertools.pairwise(bounds)):
            yield cuts


@settings(max_examples=300, deadline=None)
@given(data=st.data(), n=st.integers(1, 9), turns=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_cuts_are_valid_and_found_whenever_one_exists(data, n, turns, seed):
    changed = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    closes = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    valid = set(_valid_cuts(changed, closes, turns))
    cuts = _cuts(_Walked(changed), turns, closes, np.random.default_rng(seed))
    assert (cuts is None) == (not valid)
    assert cuts is None or tuple(cuts) in valid


def test_cuts_are_drawn_uniformly():
    changed = [False, True, False, False, True, False, False]
    closes = [True, False, True, False, False, True, False]
    valid = set(_valid_cuts(changed, closes, 3))
    rng = Draws(np.random.default_rng(0))
    seen = [tuple(_cuts(_Walked(changed), 3, closes, rng)) for _ in range(4000)]
    counts = [seen.count(c) for c in valid]
    assert set(seen) == valid and max(counts) < 1.25 * min(counts)


# -- taking a call back ---------------------------------------------------------------------------

def _realised(domain="retail"):
    synth = Synthesizer(domain, rods_envs.load_suite().split("train", domain=domain), seed=0)
    for task in synth.seeds:
        try:
            run = synth.realiser.realise(synth._skeleton(task), task.record["initial_state"],
                                         np.random.default_rng(0), keep_values=True)
        except Unrealizable:
            continue
        writes = [n for n, node in enumerate(run.nodes) if synth.domain.tools[node.tool].writes]
        if writes and writes[-1] == len(run.nodes) - 1:
            return synth, task, run
    raise AssertionError("no seed realised on its own world with a write last")


def test_pop_takes_a_call_back_and_never_repeats_it():
    synth, task, run = _realised()
    skeleton = synth._skeleton(task)
    before = Realisation(synth.realiser, task.record["initial_state"], np.random.default_rng(0), keep_values=True)
    for node in skeleton.nodes[:-1]:
        assert before.add(node) is None
    node = run.pop()
    assert node is skeleton.nodes[-1]
    assert run.state == before.state
    assert (run.results, run.args, run.nodes) == (before.results, before.args, before.nodes)
    assert run.add(node) == "a dead end"        # the same call at the same place: not again


# -- tools and validation -------------------------------------------------------------------------

@pytest.mark.parametrize("domain", sorted(rods_envs.DOMAINS))
def test_attempt_agrees_with_calling_the_tool(domain):
    tools = rods_envs.get_domain(domain).tools
    for task in rods_envs.load_suite().split("train", domain=domain)[:15]:
        for call in task.calls:
            tool = tools[call["tool"]]
            args = resolve(call["args"], task.gold.results)
            for trial in (args, {**args, "unexpected": 1}, {}):
                outcomes = []
                for run in (tool.__call__, tool.attempt):
                    state = task.fresh_state()
                    try:
                        outcomes.append((json.dumps(run(state, dict(trial)), sort_keys=True), state))
                    except ToolError:
                        outcomes.append(("refused", state))
                assert outcomes[0] == outcomes[1], (call, trial)


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_valid_is_error_is_none(value):
    for tool in rods_envs.get_domain("travel").tools.values():
        args = {name: value for name in tool.parameters["properties"]}
        assert tool.validator.valid(args) == (tool.validator.error(args) is None)
        assert tool.validator.valid(value) == (tool.validator.error(value) is None)


# -- draws and the collector ------------------------------------------------------------------------

def test_draws_are_determined_by_the_generator():
    a, b = Draws(np.random.default_rng(7)), Draws(np.random.default_rng(7))
    seq = [(a.integers(10), a.integers(3, 5), a.random(), a.permutation(6), list(a.order(4))) for _ in range(50)]
    assert seq == [(b.integers(10), b.integers(3, 5), b.random(), b.permutation(6), list(b.order(4))) for _ in range(50)]
    assert all(0 <= x < 10 and 3 <= y < 5 and sorted(p) == list(range(6)) for x, y, _, p, _ in seq)
    assert draws(a) is a
    assert sorted(in_random_order(np.random.default_rng(1), 5)) == list(range(5))
    assert isinstance(a.generator(), np.random.Generator)


def test_gc_paused_restores_the_collector():
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("inside")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()      # left off, as it was found
    finally:
        gc.enable()


def test_same_seed_same_mutants():
    seeds = rods_envs.load_suite().split("train", domain="cloudops")
    runs = []
    for _ in range(2):
        synth = Synthesizer("cloudops", seeds, seed=2)
        rng = np.random.default_rng(4)
        runs.append([v.to_dict() if v else None for op in ("swap", "deepen", "widen", "prune", "withhold",
                                                           "compose", "reinstantiate")
                     for v in (synth.mutate(seeds[k], op, rng) for k in range(6))])
    assert runs[0] == runs[1] and any(runs[0])
