"""The synthesizer on BFCL's backends: every emitted variant is solved by the BFCL oracle through
BFCLEnv, failed by idling, recorded with its lineage and readable back from JSONL; resample_like
keeps the seed's signature; the same seeds and rng seed give the same variants."""

import itertools
import json
from functools import lru_cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rods_envs.bfcl import INSTALL_COMMAND

pytest.importorskip("bfcl_eval", reason=f"bfcl-eval is not installed ({INSTALL_COMMAND})")

import networkx as nx  # noqa: E402

from rods_envs.bfcl import load_tasks  # noqa: E402
from rods_envs.bfcl.checker import task_functions  # noqa: E402
from rods_envs.bfcl.env import BFCLEnv  # noqa: E402
from rods_envs.bfcl.oracle import BFCLOraclePolicy  # noqa: E402
from rods_envs.bfcl.synth import (OPERATIONS, BFCLSynthesizer, load_variants, synthesize_bfcl,  # noqa: E402
                                  task_from_record, write_variants)
from rods_envs.bfcl.synth_phrasing import action, needed  # noqa: E402
from rods_envs.bfcl.synth_plan import failed  # noqa: E402
from rods_envs.episode import DoNothingPolicy, run_episode  # noqa: E402
from rods_envs.synth import matches  # noqa: E402

SEEDS = load_tasks("all", "train")
BY_ID = {t.id: t for t in load_tasks()}
BFCL_IDS = set(BY_ID)


@lru_cache(maxsize=None)
def synthesizer(seed: int = 0) -> BFCLSynthesizer:
    return BFCLSynthesizer(SEEDS, seed=seed)


def used_backends(task) -> set:
    functions = task_functions(task.classes)
    return {functions[name].cls for name in nx.get_node_attributes(task.graph, "tool").values()}


def assert_verified(variant, seed):
    again = task_from_record(json.loads(json.dumps(variant.record)))     # what a JSONL line gives back
    assert again.id == variant.id and again.gold == variant.gold and again.turns == variant.turns
    env = BFCLEnv(tasks=[again])
    solved = run_episode(env, BFCLOraclePolicy([again]), options={"task_id": again.id})
    assert (solved.outcome, solved.progress) == (1, 1.0)
    idle = run_episode(env, DoNothingPolicy(), options={"task_id": again.id})
    asks = sum(1 for g in again.gold if not g)
    assert idle.outcome == 0 and idle.progress * len(again.turns) == pytest.approx(asks)
    assert all(again.gold[t + 1] for t, g in enumerate(again.gold) if not g)   # an ask is answered next
    assert asks == 0 or again.category == "miss_param"
    # Lineage, ids and split.
    lineage = variant.record["lineage"]
    assert lineage["seed"] == seed.record.get("lineage", {}).get("seed", seed.id) and lineage["mutations"]
    assert variant.id.startswith("synth_") and variant.id not in BFCL_IDS
    assert variant.index == seed.index and variant.split == seed.split
    assert variant.initial_config == seed.initial_config and variant.classes == seed.classes
    assert variant.long_context == seed.long_context
    # A sentence a template wrote states each value it needs (or names the result it comes from).
    partner = BY_ID.get(lineage.get("composed_with"))
    human = [t for task in (seed, BY_ID.get(lineage["seed"]), partner) if task for t in task.turns if t.strip()]
    for t, text in enumerate(variant.turns):
        if any(h in text for h in human) or not variant.gold[t]:
            continue
        if t and not variant.gold[t - 1]:
            text = variant.turns[t - 1] + " " + text        # the ask, then the value held back
        calls = variant.expected.turns[t].calls
        for name, kwargs in calls:
            for param, value in kwargs.items():
                if f"{param} set to the " in text:
                    continue
                assert all(s in text for s in needed(value)), (param, value, text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, len(SEEDS) - 1), op=st.sampled_from([op for op in OPERATIONS if op != "resample_like"]),
       rng_seed=st.integers(0, 2**32 - 1))
def test_every_emitted_mutation_is_verified(index, op, rng_seed):
    seed = SEEDS[index]
    variant = synthesizer().mutate(seed, op, np.random.default_rng(rng_seed))
    if variant is not None:
        assert_verified(variant, seed)
        assert variant.record["lineage"]["mutations"][-1] == op


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, len(SEEDS) - 1), rng_seed=st.integers(0, 2**32 - 1))
def test_resample_like_matches_the_signature(index, rng_seed):
    seed = SEEDS[index]
    for variant in synthesizer().resample_like(seed, 2, np.random.default_rng(rng_seed)):
        assert matches(variant.signature, seed.signature)
        assert used_backends(variant) == used_backends(seed)
        assert_verified(variant, seed)


def test_resample_like_yields_on_most_seeds():
    synth = BFCLSynthesizer(SEEDS, seed=3)
    rng = np.random.default_rng(3)
    seeds = SEEDS[::40]
    made = [len(synth.resample_like(task, 2, rng)) for task in seeds]
    assert sum(made) >= len(seeds), (made, synth.rejected)       # half the requested variants at least
    assert synth.emitted == sum(made) and synth.attempts >= synth.emitted


def test_same_wl_keeps_the_plan_dag():
    synth = BFCLSynthesizer(SEEDS, seed=4)
    seed = next(t for t in SEEDS if t.category == "base" and t.signature["calls"] >= 4)
    made = synth.resample_like(seed, 2, np.random.default_rng(4), same_wl=True)
    for variant in made:
        assert variant.signature["wl_hash"] == seed.signature["wl_hash"]
        assert_verified(variant, seed)


def test_mutations_do_what_they_say():
    synth = BFCLSynthesizer(SEEDS, seed=5)
    rng = np.random.default_rng(5)
    found = {}
    for task, op in itertools.product(SEEDS[:60:3], ["deepen", "widen", "prune", "withhold", "compose", "swap"]):
        if op not in found:
            variant = synth.mutate(task, op, rng)
            if variant is not None:
                found[op] = (task, variant)
    assert set(found) == {"deepen", "widen", "prune", "withhold", "compose", "swap"}, synth.rejected
    task, v = found["deepen"]
    assert v.signature["depth"] == task.signature["depth"] + 1
    task, v = found["widen"]
    assert v.signature["calls"] == task.signature["calls"] + 1 and v.signature["depth"] == task.signature["depth"]
    task, v = found["prune"]
    assert sum(map(len, v.gold)) == sum(map(len, task.gold)) - 1
    task, v = found["withhold"]
    assert v.category == "miss_param" and () in v.gold
    ask = v.gold.index(())
    assert v.expects(ask) == "ask" and v.turns[ask + 1].startswith("Sorry, I left something out")
    task, v = found["compose"]
    assert v.record["lineage"]["composed_with"] and len(v.turns) > len(task.turns) - (() in task.gold)
    for op, (task, v) in found.items():
        assert_verified(v, task)


def test_reinstantiate_is_counted_as_not_applying_and_unknown_ops_are_refused():
    synth = BFCLSynthesizer(SEEDS[:4], seed=0)
    assert synth.mutate(SEEDS[0], "reinstantiate") is None
    assert any("reinstantiate does not apply" in r for r in synth.rejected)
    with pytest.raises(ValueError, match="unknown mutation"):
        synth.mutate(SEEDS[0], "transmogrify")


def test_same_seed_same_variants():
    def run(seed):
        synth = BFCLSynthesizer(SEEDS, seed=seed)
        out = [v.record for task in SEEDS[:40:8] for v in synth.resample_like(task, 2, np.random.default_rng(11))]
        out += [v.record for task in SEEDS[:40:8] for op in ("deepen", "withhold", "swap")
                if (v := synth.mutate(task, op, np.random.default_rng(12)))]
        return json.dumps(out, sort_keys=True)
    assert run(0) == run(0)


def test_mutating_a_variant_keeps_the_lineage():
    synth = BFCLSynthesizer(SEEDS, seed=6)
    rng = np.random.default_rng(6)
    first = next(v for task in SEEDS[::5] if (v := synth.mutate(task, "widen", rng)))
    second = next((v for _ in range(20) if (v := synth.mutate(first, "deepen", rng) or synth.mutate(first, "prune", rng))), None)
    assert second is not None, synth.rejected
    assert second.record["lineage"]["seed"] == first.record["lineage"]["seed"]
    assert second.record["lineage"]["mutations"][0] == "widen" and len(second.record["lineage"]["mutations"]) == 2


def test_jsonl_round_trip_serves_variants(tmp_path):
    records = list(itertools.islice(synthesize_bfcl("train", 1, 0, ["prune", "resample_like"]), 6))
    assert len(records) == 6
    path = tmp_path / "variants.jsonl"
    assert write_variants(path, records) == 6
    loaded = load_variants(path)
    assert [t.record for t in loaded] == records
    env = BFCLEnv(tasks=loaded)
    for task in loaded:
        assert run_episode(env, BFCLOraclePolicy(loaded), options={"task_id": task.id}).outcome == 1


def test_synthesize_bfcl_keeps_its_stats():
    stats = {}
    records = list(itertools.islice(synthesize_bfcl("test", 2, 1, ["resample_like"], category="base", stats=stats), 8))
    assert stats["emitted"] == len(records) == 8 and stats["matched"] >= 8 - 2
    assert sum(stats["rejected"].values()) >= 0 and stats["total_seeds"] == 100
    assert all(load_tasks("base", "test")[0].split == "test" for _ in records)
    with pytest.raises(ValueError, match="unknown operation"):
        next(synthesize_bfcl("train", 1, 0, ["explode"]))


def test_bad_variant_files_get_one_line_errors(tmp_path):
    good = next(synthesize_bfcl("train", 1, 0, ["prune"]))
    cases = {
        "not json": "{oops",
        "not an object": "[1, 2]",
        "missing keys": json.dumps({"id": "x"}),
        "unknown backend": json.dumps({**good, "involved_classes": ["Nope"]}),
        "unknown function": json.dumps({**good, "ground_truth": [["explode()"]] * len(good["question"])}),
        "uneven turns": json.dumps({**good, "ground_truth": good["ground_truth"][:-1]}),
        "bad category": json.dumps({**good, "category": "web_search"}),
    }
    for name, line in cases.items():
        path = tmp_path / f"{name.replace(' ', '_')}.jsonl"
        path.write_text(json.dumps(good) + "\n" + line + "\n", encoding="utf-8")
        with pytest.raises(ValueError, match=r":2: ") as info:
            load_variants(path)
        assert "\n" not in str(info.value), name
    path = tmp_path / "twice.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate id"):
        load_variants(path)
    with pytest.raises(ValueError, match="cannot read"):
        load_variants(tmp_path / "absent.jsonl")


def test_verification_refuses_what_it_must():
    synth = BFCLSynthesizer(SEEDS, seed=0)
    seed = next(t for t in SEEDS if t.category == "base")
    record = {"id": "synth_probe", "category": "base", "index": seed.index,
              "question": [[{"role": "user", "content": t}] for t in seed.turns],
              "initial_config": seed.initial_config, "involved_classes": list(seed.classes),
              "ground_truth": [list(g) for g in seed.gold]}
    assert synth.verify(task_from_record(record)) == "duplicate"
    empty = {**record, "id": "synth_probe2", "ground_truth": [list(g) for g in seed.gold[:-1]] + [[]]}
    assert synth.verify(task_from_record(empty)) == "trivial turn"
    failing = {**record, "id": "synth_probe3",
               "ground_truth": [["cd(folder='no_such_folder')"]] + [list(g) for g in seed.gold[1:]]}
    assert synth.verify(task_from_record(failing)) == "a call fails"


def test_failures_and_actions_are_read_generally():
    assert failed("Error during execution: boom") and failed('{"error": "cd: no such folder"}')
    assert failed('{"booking_status": false, "error": "Card not registered"}')
    assert failed('{"success": false}') and failed('{"symbol": "Stock not found"}')
    assert not failed('{"status": false}') and not failed("None") and not failed('{"card_id": "1234"}')
    assert action("This tool belongs to X. Tool description: Gets the stock price. Args: ...") == "get the stock price"
    assert action("Tool description: Presses the brake pedal.") == "press the brake pedal"
    assert needed(["a", 3, {"k": True}]) == ["a", "3", "k", "True"]


class Polite:
    """A paraphraser that keeps every value (prefixes a greeting) or, when told to, drops them."""

    def __init__(self, drop: bool):
        self.drop = drop

    def paraphrase(self, text, rng):
        return "Thanks in advance." if self.drop else "Hey there. " + text


@pytest.mark.parametrize("drop", [False, True])
def test_a_paraphraser_is_kept_only_when_every_value_survives(drop):
    synth = BFCLSynthesizer(SEEDS, seed=8, paraphraser=Polite(drop))
    rng = np.random.default_rng(8)
    made = [v for task in SEEDS[:80:8] for v in synth.resample_like(task, 1, rng)]
    assert made
    templated = [text for v in made for text in v.turns]
    if drop:
        assert synth.phraser.paraphrases_rejected > 0
        assert not any(text == "Thanks in advance." for text in templated)
    else:
        assert synth.phraser.paraphrases_rejected == 0 and any(t.startswith("Hey there. ") for t in templated)
    for v in made:
        assert_verified(v, next(t for t in SEEDS if t.id == v.record["lineage"]["seed"]))
