"""StructuredActions: numeric observations and MultiDiscrete actions over rods environments."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rods_envs
from rods_agents.candidates import user_spans
from rods_agents.structured import StructuredActions
from rods_agents.structured_oracle import StructuredOracle, oracle_coverage

ENV_IDS = [*rods_envs.ENV_IDS.values(), rods_envs.MIXED_ENV_ID]


@pytest.fixture(scope="module")
def mixed():
    return StructuredActions(gym.make("rods/Mixed-v0", split="all"))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_passes_gymnasium_and_sb3_checkers(env_id):
    sb3_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    env = StructuredActions(gym.make(env_id))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # "the environment is wrapped": it is meant to be
        check_env(env, skip_render_check=True)
        sb3_checker.check_env(env, warn=False)
    assert env.tool_names == sorted({t for d in env.unwrapped.domains.values() for t in d.tools})


def test_spaces_follow_the_vocabulary(mixed):
    assert mixed.max_slots == 6
    assert list(mixed.action_space.nvec) == [2 * mixed.n_tools + 1] + [32] * 6
    assert mixed.head_meaning(0) == ("call", mixed.tool_names[0])
    assert mixed.head_meaning(mixed.n_tools) == ("reply", None)
    assert mixed.head_meaning(mixed.n_tools + 1 + 3) == ("ask", mixed.tool_names[3])
    with pytest.raises(ValueError, match="head must be"):
        mixed.head_meaning(2 * mixed.n_tools + 1)
    with pytest.raises(ValueError, match="max_candidates must be at least"):
        StructuredActions(gym.make("rods/Travel-v0"), max_candidates=3)


def test_masks_follow_the_episode_domain(mixed):
    _, info = mixed.reset(options={"task_id": "files-train-0000"})
    mask = info["action_mask"]
    assert mask.dtype == bool and mask.shape == (int(mixed.action_space.nvec.sum()),)
    heads = mask[:mixed.action_space.nvec[0]]
    files = set(mixed.unwrapped.domains["files"].tools)
    assert {mixed.head_meaning(h)[1] for h in np.flatnonzero(heads[:mixed.n_tools])} == files
    assert heads[mixed.n_tools]                                    # reply
    assert not heads[mixed.n_tools + 1 + mixed.tool_names.index("pwd")]   # pwd has nothing to ask
    slots = mask[len(heads):].reshape(mixed.S, mixed.K)
    assert slots.any(axis=1).all()
    # cat takes a path from the candidates: only places holding a candidate, never "none" (required).
    cat = mixed.slot_mask(mixed.tool_names.index("cat"))
    n = len(info["candidates"])
    assert cat[0, :n].all() and not cat[0, n:].any()
    assert cat[1:, -1].all() and not cat[1:, :-1].any()
    # mkdir's boolean takes [true, false] or "none" (optional).
    mkdir = mixed.slot_mask(mixed.tool_names.index("mkdir"))
    assert mkdir[1].tolist() == [True, True] + [False] * (mixed.K - 3) + [True]


def test_actions_become_calls_replies_and_questions(mixed):
    _, info = mixed.reset(options={"task_id": "files-train-0000"})   # the file is held back
    ask = np.full(1 + mixed.S, mixed.K - 1)
    ask[0], ask[1] = mixed.n_tools + 1 + mixed.tool_names.index("mv"), 0   # mv's source: a file
    _, _, _, _, info = mixed.step(ask)
    assert info["action_text"].endswith("?") and "file" in info["action_text"]
    assert "~/projects/delta/README.md" in info["candidates"]
    call = np.full(1 + mixed.S, mixed.K - 1)
    call[0] = mixed.tool_names.index("cat")
    call[1] = info["candidates"].index("~/projects/delta/README.md")
    _, _, _, _, info = mixed.step(call)
    assert info["action_text"] == '{"name": "cat", "arguments": {"path": "~/projects/delta/README.md"}}'
    assert not info["messages"][0]["content"].startswith("Error")
    reply = np.full(1 + mixed.S, mixed.K - 1)
    reply[0], reply[1] = mixed.n_tools, 0
    first = info["candidates"][0]
    _, _, _, _, info = mixed.step(reply)
    assert info["action_text"] == f"Done: {first}."
    assert info["turn"] == 1                                  # the reply ended the turn


def test_user_spans_find_ids_paths_names_and_enums():
    spans = dict(user_spans('My email is sara.patel3@example.com. Cancel order #W1001 (no longer needed), '
                            'fly JFK on 2025-06-25 at 13:55, put Kofi Chen in seat 3B, read ~/logs/app.log '
                            'and the network 10.90.0.0/16 called edge; the last line is "pepper river".',
                            ("no longer needed",), frozenset({"network"})))
    for value, kind in [("sara.patel3@example.com", "email"), ("#W1001", "code"), ("JFK", "code"),
                        ("2025-06-25", "date"), ("13:55", "time"), ("Kofi Chen", "name"), ("3B", "code"),
                        ("~/logs/app.log", "path"), ("10.90.0.0/16", "cidr"), ("edge", "named"),
                        ("pepper river", "quoted"), ("1", "number")]:
        assert spans.get(value) == kind, (value, spans)
    assert "no longer needed" in spans
    assert "Cancel" not in spans and "My" not in spans


@pytest.mark.parametrize("split, floor", [("train", 0.95), ("test", 0.95)])
def test_structured_oracle_covers_the_suite(split, floor):
    report = oracle_coverage("rods/Mixed-v0", split)
    assert report["outcome"]["all"] >= floor, report["outcome"]
    for domain in ("retail", "files", "cloudops"):
        assert report["outcome"][domain] >= 0.95, report["outcome"]
    assert report["outcome"]["travel"] >= 0.85, report["outcome"]
    # What it cannot cover, it says why.
    assert all(reasons and reasons != ["(no miss recorded)"] for reasons in report["misses"].values())


def test_oracle_actions_stay_within_the_masks(mixed):
    oracle = StructuredOracle(mixed)
    for task_id in ("retail-train-0003", "travel-train-0000", "files-train-0001", "cloudops-train-0000"):
        obs, info = mixed.reset(options={"task_id": task_id})
        done = False
        while not done:
            action = oracle.act(obs, info)
            head = int(action[0])
            assert info["action_mask"][head]
            slots = mixed.slot_mask(head)
            assert all(slots[j, a] for j, a in enumerate(action[1:])), (task_id, mixed.head_meaning(head), action)
            obs, _, terminated, truncated, info = mixed.step(action)
            done = terminated or truncated
        assert info["outcome"] == 1, (task_id, oracle.misses)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**16), data=st.data())
def test_no_action_in_the_space_raises(mixed, seed, data):
    obs, info = mixed.reset(seed=seed)
    nvec = mixed.action_space.nvec
    for _ in range(12):
        action = np.array([data.draw(st.integers(0, int(n) - 1)) for n in nvec])
        obs, _, terminated, truncated, info = mixed.step(action)
        assert mixed.observation_space.contains(obs) and np.isfinite(obs).all()
        assert info["action_mask"].shape == (int(nvec.sum()),)
        if terminated or truncated:
            obs, info = mixed.reset(seed=seed + 1)


def test_bad_actions_get_a_clear_error(mixed):
    mixed.reset(seed=0)
    for bad in ([0], "call cat", np.full(1 + mixed.S, 99)):
        with pytest.raises(ValueError, match="action"):
            mixed.step(bad)


def test_same_seed_and_actions_same_observations():
    env = StructuredActions(gym.make("rods/Mixed-v0"))
    env.action_space.seed(7)
    actions = [env.action_space.sample() for _ in range(30)]

    def run():
        observations = [env.reset(seed=3)[0]]
        for a in actions:
            obs, _, terminated, truncated, _ = env.step(a)
            observations.append(obs)
            if terminated or truncated:
                observations.append(env.reset(seed=4)[0])
        return np.stack(observations)

    assert np.array_equal(run(), run())


def test_stable_baselines3_ppo_runs():
    sb3 = pytest.importorskip("stable_baselines3")
    env = StructuredActions(gym.make("rods/Files-v0"))
    model = sb3.PPO("MlpPolicy", env, n_steps=64, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=64)
    action, _ = model.predict(env.reset(seed=0)[0], deterministic=True)
    assert env.action_space.contains(action)
