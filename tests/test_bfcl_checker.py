"""Our per-turn BFCL check against bfcl-eval's own multi_turn_checker, run beside it.

Agreement is tested on gold trajectories and on perturbed ones: a dropped call, a wrong argument,
an extra read-only call, two independent calls swapped, an empty turn. The default run covers a
fixed quarter of each category; ``RODS_BFCL_FULL=1`` runs all 800 tasks (about 20 s).
"""

import itertools
import os
import zlib

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rods_envs.bfcl import INSTALL_COMMAND

pytest.importorskip("bfcl_eval", reason=f"bfcl-eval is not installed ({INSTALL_COMMAND})")

from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker import multi_turn_checker  # noqa: E402
from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_utils import execute_multi_turn_func_call  # noqa: E402

from rods_envs.bfcl import load_tasks  # noqa: E402
from rods_envs.bfcl.calls import format_call  # noqa: E402
from rods_envs.bfcl.checker import check_decoded, score_trajectory  # noqa: E402
from rods_envs.bfcl.env import BFCLEnv  # noqa: E402
from rods_envs.bfcl.plan import gold_run  # noqa: E402

ALL = load_tasks()
SAMPLE = ALL if os.environ.get("RODS_BFCL_FULL") else [t for t in ALL if t.index % 4 == 1]
_names = itertools.count()


def bfcl_verdict(task, decoded) -> bool:
    # A fresh model name each time: BFCL caches backend instances in globals under that name.
    return multi_turn_checker(decoded, [list(g) for g in task.gold], task.record, task.category,
                              f"rods_test_{next(_names)}")["valid"]


def as_decoded(turns):
    """Turns of call strings as BFCL's decoded model result: one step per turn that has calls."""
    return [[list(t)] if t else [] for t in turns]


def _rng(task, kind):
    return np.random.default_rng(zlib.crc32(f"{task.id}/{kind}".encode()))


def perturbed(task, kind):
    """The gold turns with one change of the given kind, or None when the task offers none."""
    turns = [list(g) for g in task.gold]
    rng = _rng(task, kind)
    nonempty = [t for t, calls in enumerate(turns) if calls]
    pick = lambda options: options[int(rng.integers(len(options)))] if options else None  # noqa: E731
    if kind == "gold":
        return turns
    if kind == "dropped call":
        t = pick(nonempty)
        del turns[t][int(rng.integers(len(turns[t])))]
        return turns
    if kind == "empty turn":
        turns[pick(nonempty)] = []
        return turns
    calls = [(t, i, call) for t in nonempty for i, call in enumerate(gold_run_by_turn(task)[t])]
    if kind == "wrong argument":
        choice = pick([(t, i, c) for t, i, c in calls if c["args"]])
        if choice is None:
            return None
        t, i, call = choice
        args = dict(call["args"])
        key = sorted(args)[int(rng.integers(len(args)))]
        value = args[key]
        args[key] = (not value if type(value) is bool else value + 1 if type(value) is int
                     else value * 2 + 1 if type(value) is float else value + "_x" if type(value) is str
                     else value[:-1] if isinstance(value, list) and value else ["x"])
        turns[t][i] = format_call(call["tool"], args)
        return turns
    if kind == "extra read-only call":
        choice = pick([(t, i) for t, i, c in calls if not c["writes"]])
        if choice is None:
            return None
        t, i = choice
        turns[t].insert(i + 1, turns[t][i])
        return turns
    if kind == "independent calls reordered":
        graph, ids = task.graph, {}
        for k, (t, i, _) in enumerate(calls):
            ids[(t, i)] = f"c{k}"
        by_pos = {(t, i): c for t, i, c in calls}
        # Independent: no dependency path, and they commute (different backends, or both reads).
        choice = pick([(t, i) for t, i, c in calls if (t, i + 1) in by_pos
                       and not nx.has_path(graph, ids[(t, i)], ids[(t, i + 1)])
                       and (c["cls"] != by_pos[(t, i + 1)]["cls"]
                            or not (c["writes"] or by_pos[(t, i + 1)]["writes"]))])
        if choice is None:
            return None
        t, i = choice
        turns[t][i], turns[t][i + 1] = turns[t][i + 1], turns[t][i]
        return turns
    raise ValueError(kind)


def gold_run_by_turn(task):
    out = [[] for _ in task.gold]
    for call in gold_run(task):
        out[call["turn"]].append(call)
    return out


KINDS = ["gold", "dropped call", "wrong argument", "extra read-only call",
         "independent calls reordered", "empty turn"]


@pytest.mark.parametrize("kind", KINDS)
def test_outcome_equals_bfcl_multi_turn_checker(kind):
    verdicts = []
    for task in SAMPLE:
        turns = perturbed(task, kind)
        if turns is None:
            continue
        decoded = as_decoded(turns)
        ours, theirs = check_decoded(task, decoded).outcome, bfcl_verdict(task, decoded)
        assert ours == int(theirs), (kind, task.id, turns)
        verdicts.append(ours)
    assert len(verdicts) >= len(SAMPLE) // 5
    # What each change does to BFCL's verdict, so that the agreement above is not vacuous.
    passed = sum(verdicts) / len(verdicts)
    expected = {"gold": passed == 1, "empty turn": passed == 0,
                "dropped call": passed < 0.5, "wrong argument": 0 < passed < 0.5,
                "extra read-only call": passed > 0.9, "independent calls reordered": passed > 0.9}
    assert expected[kind], (kind, passed)


def test_gold_results_are_bfcl_executors_results():
    for task in SAMPLE:
        name = f"rods_test_exec_{next(_names)}"
        for t, calls in enumerate(task.gold):
            theirs, _ = execute_multi_turn_func_call(list(calls), task.initial_config, list(task.classes), name,
                                                     task.id, long_context=task.long_context, is_evaL_run=True)
            assert list(task.expected.turns[t].results) == theirs, (task.id, t)


def test_results_render_as_json_dumps_does():
    import json

    from bfcl_eval.eval_checker.multi_turn_eval.func_source_code import long_context
    from rods_envs.bfcl.backends import render_result
    padding = [v for k, v in vars(long_context).items() if k.isupper() and isinstance(v, (list, dict))]
    for value in padding:
        result = {"a": 1, "pad": value, "b": "\x00rods:x\x00"}
        try:
            expected = json.dumps(result)
        except TypeError:
            expected = str(result)
        assert render_result(result) == expected
    assert render_result({"x": {1, 2}}) == str({"x": {1, 2}}) and render_result(3.5) == "3.5"


def test_gold_is_computed_once_per_task():
    task = ALL[5]
    assert task.expected is task.expected is load_tasks()[5].expected


def test_environment_verdict_agrees_with_bfcl_on_recorded_episodes():
    """Episodes played through env.step, then their recorded calls judged by BFCL's checker."""
    for task in SAMPLE[::4]:
        for kind in ("gold", "dropped call", "wrong argument"):
            turns = perturbed(task, kind)
            if turns is None:
                continue
            env = BFCLEnv(tasks=[task])
            env.reset(seed=0)
            for calls in turns:
                for call in calls:                      # one call per step, as a model might
                    env.step(call)
                *_, info = env.step("Done.")
            decoded = [[[format_call(n, k) for n, k in step] for step in steps] for steps in env.recorded]
            assert info["outcome"] == int(bfcl_verdict(task, decoded)), (kind, task.id)


# -- the live verdict, the replayed score and the replay without the gold shortcut agree --------
TASKS = ALL[::25]


@st.composite
def episodes(draw):
    task = draw(st.sampled_from(TASKS))
    actions = []
    for t, gold in enumerate(task.gold):
        calls = list(gold)
        if calls and draw(st.booleans()):
            i = draw(st.integers(0, len(calls) - 1))
            calls[i] = draw(st.sampled_from([calls[i].replace("'", "'x", 1), "ls()", "pwd()", "get_ticket(ticket_id=1)",
                                             "cd(folder=1)", "no_such()", calls[i] + calls[i]]))
        if draw(st.booleans()):
            calls = calls[: draw(st.integers(0, len(calls)))]
        split = draw(st.integers(1, 3))
        actions += ["[" + ", ".join(calls[k::split]) + "]" for k in range(split) if calls[k::split]]
        actions.append("Done.")
    return task, actions


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(episode=episodes())
def test_live_verdict_equals_replayed_score(episode):
    task, actions = episode
    env = BFCLEnv(tasks=[task])
    env.reset(seed=0)
    for action in actions:
        env.step(action)
    assert env.done
    replayed = score_trajectory(task, env.recorded)
    assert list(replayed.passed) == env.passed
    assert score_trajectory(task, env.recorded, resume_from_gold=False) == replayed
