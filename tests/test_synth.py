"""The synthesizer: every emitted variant is valid, solvable through the env, failed by idling,
and recorded with its lineage; resample_like keeps the seed's signature; mutations do what they say."""

import json
from functools import lru_cache

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rods_envs
from rods_envs.episode import DoNothingPolicy, run_episode
from rods_envs.oracle import OraclePolicy
from rods_envs.synth import MUTATIONS, Synthesizer, matches
from rods_envs.synth.phrasing import show
from rods_envs.task import Task

DOMAINS = sorted(rods_envs.DOMAINS)
OPERATIONS = sorted(MUTATIONS) + ["compose"]


@lru_cache(maxsize=None)
def synthesizer(domain: str) -> Synthesizer:
    return Synthesizer(domain, rods_envs.load_suite().split("train", domain=domain), seed=0)


def seeds(domain):
    return rods_envs.load_suite().split("train", domain=domain)


def assert_verified(variant: Task, seed: Task):
    again = Task.from_dict(json.loads(json.dumps(variant.to_dict())))
    assert again.key == variant.key
    env = gym.make(rods_envs.ENV_IDS[variant.domain], tasks=[again], max_steps=256)
    solved = run_episode(env, OraclePolicy([again]), options={"task_id": again.id})
    assert (solved.outcome, solved.progress) == (1, 1.0)
    assert run_episode(env, DoNothingPolicy(), options={"task_id": again.id}).progress == 0.0
    assert variant.record["lineage"]["seed"] == seed.id and variant.record["lineage"]["mutations"]
    assert variant.key != seed.key
    for t, turn in enumerate(variant.turns):   # the user states every value they do not hold back
        held = {json.dumps(f["value"]) for f in turn["facts"]}
        for call in variant.calls_in_turn(t):
            for value in call["args"].values():
                if not isinstance(value, (dict, list)) and json.dumps(value) not in held:
                    assert show(value) in turn["instruction"], (value, turn["instruction"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(domain=st.sampled_from(DOMAINS), index=st.integers(0, 104), op=st.sampled_from(OPERATIONS),
       rng_seed=st.integers(0, 2**32 - 1))
def test_every_emitted_variant_is_verified(domain, index, op, rng_seed):
    seed = seeds(domain)[index]
    variant = synthesizer(domain).mutate(seed, op, np.random.default_rng(rng_seed))
    if variant is not None:
        assert_verified(variant, seed)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(domain=st.sampled_from(DOMAINS), index=st.integers(0, 104), rng_seed=st.integers(0, 2**32 - 1),
       same_wl=st.booleans())
def test_resample_like_matches_the_signature(domain, index, rng_seed, same_wl):
    seed = seeds(domain)[index]
    for variant in synthesizer(domain).resample_like(seed, 2, np.random.default_rng(rng_seed), same_wl=same_wl):
        assert matches(variant.signature, seed.signature, same_wl)
        assert {rods_envs.get_domain(domain).tools[c["tool"]].category for c in variant.calls} == \
            {rods_envs.get_domain(domain).tools[c["tool"]].category for c in seed.calls}
        assert_verified(variant, seed)


@pytest.mark.parametrize("domain", DOMAINS)
def test_resample_like_yields_on_every_domain(domain):
    synth = Synthesizer(domain, seeds(domain), seed=1)
    made = [v for task in seeds(domain)[:10] for v in synth.resample_like(task, 2, np.random.default_rng(2))]
    assert len(made) >= 5, synth.rejected   # a quarter of the requested variants at least


def test_same_seed_same_variants():
    task = seeds("retail")[5]
    runs = []
    for _ in range(2):
        synth = Synthesizer("retail", seeds("retail"), seed=3)
        runs.append([v.to_dict() for v in synth.resample_like(task, 3, np.random.default_rng(9))])
    assert runs[0] == runs[1] and runs[0]


def _first(domain, op, want=lambda v, s: True, tries=60):
    synth = Synthesizer(domain, seeds(domain), seed=4)
    rng = np.random.default_rng(5)
    for seed in seeds(domain)[:tries]:
        variant = synth.mutate(seed, op, rng)
        if variant is not None and want(variant, seed):
            return variant, seed
    raise AssertionError(f"no {op} variant in {domain}: {synth.rejected}")


@pytest.mark.parametrize("domain", DOMAINS)
def test_mutations_change_what_they_say(domain):
    v, s = _first(domain, "reinstantiate")
    assert [c["tool"] for c in v.calls] == [c["tool"] for c in s.calls]
    assert v.signature["wl_hash"] == s.signature["wl_hash"]
    assert v.record["initial_state"] != s.record["initial_state"]
    v, s = _first(domain, "prune")
    assert v.signature["calls"] == s.signature["calls"] - 1
    v, s = _first(domain, "widen")
    assert v.signature["calls"] == s.signature["calls"] + 1
    v, s = _first(domain, "deepen")
    assert v.signature["depth"] == s.signature["depth"] + 1
    v, s = _first(domain, "withhold")
    assert sum(len(t["facts"]) for t in v.turns) == sum(len(t["facts"]) for t in s.turns) + 1
    v, s = _first(domain, "compose")
    assert len(v.turns) > len(s.turns)
    v, s = _first(domain, "swap")
    assert v.signature["calls"] == s.signature["calls"] and v.signature["tools"] != s.signature["tools"]


class Dropper:
    """A paraphraser that loses the values: its output must be refused."""

    def paraphrase(self, text, rng):
        return "Please help me with my request."


class Shouter:
    def paraphrase(self, text, rng):
        return "URGENT: " + text


def test_paraphrases_must_keep_every_value():
    tasks = seeds("retail")
    dropped = Synthesizer("retail", tasks, seed=0, paraphraser=Dropper())
    made = [v for t in tasks[:5] for v in dropped.resample_like(t, 1, np.random.default_rng(0))]
    assert made and dropped.phrasebook.paraphrases_rejected > 0
    assert all(not turn["instruction"].startswith("Please help me") for v in made for turn in v.turns)
    kept = Synthesizer("retail", tasks, seed=0, paraphraser=Shouter())
    made = [v for t in tasks[:5] for v in kept.resample_like(t, 1, np.random.default_rng(0))]
    assert made and all(turn["instruction"].startswith("URGENT: ") for v in made for turn in v.turns)


def test_unknown_mutation_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown mutation"):
        synthesizer("files").mutate(seeds("files")[0], "explode")
