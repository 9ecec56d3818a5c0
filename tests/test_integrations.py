"""rods from other libraries: Stable-Baselines3 (examples/sb3_ppo.py), PettingZoo (the two-agent
conversation) and Gymnasium's vector environments."""

import importlib.util
import sys
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import rods_envs
from rods_agents.structured import StructuredActions
from rods_envs.multiagent import (
    END_TURN,
    RodsConversation,
    RodsConversationParallel,
    Utterance,
)

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sb3_ppo.py"


@pytest.fixture(scope="module")
def sb3_example():
    pytest.importorskip("stable_baselines3")
    spec = importlib.util.spec_from_file_location("rods_example_sb3_ppo", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module              # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# -- Stable-Baselines3 ------------------------------------------------------------------------------
def test_ppo_example_trains_and_scores(sb3_example):
    s = sb3_example.Settings(timesteps=256, n_envs=2, n_steps=64, batch_size=64, n_epochs=1, max_steps=8,
                             warm_start_tasks=3, warm_start_epochs=2, hidden=32)
    scores = sb3_example.compare(s, limit=3)
    for name in ("ppo", "warm_start", "masked_random", "uniform_random"):
        assert scores[name]["episodes"] == 3
        assert 0.0 <= scores[name]["outcome"] <= scores[name]["progress"] <= 1.0


def test_valid_actions_redirect_only_what_the_mask_forbids(sb3_example):
    env = sb3_example.make_env("rods/Files-v0", "train", max_steps=8)
    inner = sb3_example.structured_view(env)
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    changed = 0
    for _ in range(200):
        raw = np.array([rng.integers(n) for n in env.action_space.nvec])
        folded = env.action(raw)
        head = folded[0]
        assert inner.head_mask()[head]
        mask = inner.slot_mask(head)
        assert all(folded[1 + j] in sb3_example.valid_indices(mask[j]) for j in range(inner.S))
        if inner.head_mask()[raw[0]] and all(inner.slot_mask(raw[0])[j, raw[1 + j]] for j in range(inner.S)):
            assert (folded == raw).all()          # a valid action goes through untouched
        changed += int((folded != raw).any())
        _, _, terminated, truncated, _ = env.step(raw)
        if terminated or truncated:
            env.reset()
    assert changed > 0


def test_masked_random_baseline_only_takes_valid_choices(sb3_example):
    env = sb3_example.make_env("rods/Retail-v0", "test", max_steps=6, valid=False)
    act = sb3_example.masked_random(np.random.default_rng(1))
    obs, info = env.reset(seed=3)
    for _ in range(30):
        a = act(env, obs, info)
        mask = env.slot_mask(a[0])
        assert env.head_mask()[a[0]] and all(a[1 + j] in sb3_example.valid_indices(mask[j]) for j in range(env.S))
        obs, _, terminated, truncated, info = env.step(a)
        if terminated or truncated:
            obs, info = env.reset()


def test_example_rejects_a_foreign_env_id(sb3_example, capsys):
    with pytest.raises(SystemExit) as exit_info:
        sb3_example.main(["--env-id", "CartPole-v1"])
    assert exit_info.value.code == 2
    assert "native rods id" in capsys.readouterr().err


# -- PettingZoo ---------------------------------------------------------------------------------------
def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # "observation is not a NumPy array": it is text
        return fn(*args, **kwargs)


def test_aec_and_parallel_pass_pettingzoo_api_tests():
    from pettingzoo.test import api_test, parallel_api_test
    _quiet(api_test, RodsConversation("rods/Files-v0", split="test", max_steps=12), num_cycles=60)
    _quiet(parallel_api_test, RodsConversationParallel("rods/Retail-v0", split="test", max_steps=12), num_cycles=60)


def _play(env, assistant, user):
    """Run an AEC episode; returns the final infos and the summed rewards per agent."""
    totals = {a: 0.0 for a in env.possible_agents}
    final = {}
    for agent in env.agent_iter():
        obs, reward, terminated, truncated, info = env.last()
        totals[agent] += reward
        assert isinstance(obs, Utterance) and isinstance(obs, str)
        if terminated or truncated:
            final[agent] = info
            env.step(None)
            continue
        env.step(assistant(obs, info) if agent == "assistant" else user(obs, info))
    return final, totals


def _task_with_facts(suite, domain: str):
    return next(t for t in suite.split("test", domain=domain) if any(turn["facts"] for turn in t.turns))


@pytest.mark.parametrize("domain", ["files", "retail", "travel", "cloudops"])
def test_oracle_assistant_and_scripted_user_reach_outcome_one(suite, domain):
    task = _task_with_facts(suite, domain)
    env = RodsConversation(rods_envs.ENV_IDS[domain], split="test")
    oracle = rods_envs.OraclePolicy([task])
    env.reset(seed=0, options={"task_id": task.id})
    final, totals = _play(env, oracle.act, lambda obs, info: "")
    assert final["assistant"]["outcome"] == 1 and final["user"]["outcome"] == 1
    assert totals["assistant"] == pytest.approx(1.0) and totals["user"] == pytest.approx(1.0)
    assert env.agents == []


def test_a_user_policy_speaks_for_the_user(suite):
    task = _task_with_facts(suite, "retail")
    env = RodsConversation("rods/Retail-v0", split="test", user_reward="none", render_mode="ansi")
    oracle = rods_envs.OraclePolicy([task])
    said = []

    def user_policy(obs, info):
        """Open with the script's request; answer a question with the facts; else end the turn."""
        view = info["user"]
        assert ("[assistant]" in obs) == (view["phase"] == "respond" and bool(view["message"]))
        if view["phase"] == "open":
            text = "Hello! " + view["instruction"]
        elif "?" in view["message"] and view["facts"]:
            text = "Sure, here you go: " + " ".join(f["reply"] for f in view["facts"])
        else:
            following = view["turn"] + 1
            text = END_TURN + (" " + task.turns[following]["instruction"] if following < view["num_turns"] else "")
        said.append(text)
        return text

    env.reset(seed=0, options={"task_id": task.id})
    assert env.render() == ""                    # nothing said yet
    final, totals = _play(env, oracle.act, user_policy)
    assert "[user] Hello! " in env.render()
    assert final["assistant"]["outcome"] == 1
    assert totals["assistant"] == pytest.approx(1.0) and totals["user"] == 0.0   # user_reward="none"
    user_lines = [m["content"] for m in env.inner.messages if m["role"] == "user"]
    assert user_lines[0].startswith("Hello! ")
    assert any(line.startswith("Sure, here you go: ") for line in user_lines)
    assert all(not line.startswith(END_TURN) for line in user_lines)


def test_a_user_who_ends_the_turn_at_once_fails_it(suite):
    task = next(t for t in suite.split("test", domain="files") if len(t.turns) >= 2)
    env = RodsConversation("rods/Files-v0", split="test")
    env.reset(seed=0, options={"task_id": task.id})
    env.step("")                                 # the scripted opening
    env.step("On it?")                           # the assistant talks before doing anything
    assert env.agent_selection == "user"
    env.step(END_TURN + " Now something else entirely.")
    assert env.agent_selection == "assistant" and env.infos["assistant"]["turns_passed"] == [False]
    assert env.observe("assistant").endswith("Now something else entirely.")
    env.step("Done.")
    with pytest.raises(TypeError, match="user's action is text"):
        env.step(3)


def test_parallel_form_applies_the_acting_agent_only(suite):
    task = _task_with_facts(suite, "files")
    env = RodsConversationParallel("rods/Files-v0", split="test")
    oracle = rods_envs.OraclePolicy([task])
    obs, infos = env.reset(seed=0, options={"task_id": task.id})
    total = 0.0
    while env.agents:
        acting = next(a for a in env.agents if infos[a]["acting"])
        actions = {"assistant": oracle.act(obs["assistant"], infos["assistant"]) if acting == "assistant" else "ignored",
                   "user": "" if acting == "user" else "ignored: not my move"}
        obs, rewards, _, _, infos = env.step(actions)
        total += rewards["assistant"]
    assert infos["assistant"]["outcome"] == 1 and total == pytest.approx(1.0)


def test_conversation_rejects_bad_arguments():
    with pytest.raises(ValueError, match="user_reward"):
        RodsConversation("rods/Files-v0", user_reward="half")
    with pytest.raises(ValueError, match="unknown agent"):
        RodsConversation("rods/Files-v0").action_space("critic")
    with pytest.raises(TypeError, match="not a native rods environment"):
        RodsConversation("CartPole-v1")
    with pytest.raises(ValueError, match="unknown environment id"):
        RodsConversation("rods/Nowhere-v0")


# -- vector environments ------------------------------------------------------------------------------
def _split_infos(infos: dict, n: int) -> list[dict]:
    return [{k: v[i] for k, v in infos.items() if not k.startswith("_")} for i in range(n)]


@pytest.mark.parametrize("mode, kwargs", [("sync", {}), ("async", {"shared_memory": False})])
def test_text_vector_envs_run_the_oracle_and_autoreset_next_step(suite, mode, kwargs):
    assert rods_envs.ToolUseEnv.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    envs = gym.make_vec("rods/Travel-v0", num_envs=2, vectorization_mode=mode, vector_kwargs=kwargs, split="test")
    assert envs.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    oracles = [rods_envs.OraclePolicy(suite.split("test", domain="travel")) for _ in range(2)]
    obs, infos = envs.reset(seed=[0, 1])
    outcomes, resets = [None, None], [0, 0]
    just_ended = np.zeros(2, bool)
    for _ in range(300):
        if None not in outcomes and min(resets) >= 1:
            break
        per_env = _split_infos(infos, 2)
        # The oracle plays each sub-env's first episode; after it, "###STOP###" ends every episode
        # at once, so each sub-env goes through terminal steps and resets.
        actions = tuple(oracles[i].act(obs[i], per_env[i]) if outcomes[i] is None else "###STOP###" for i in range(2))
        obs, rewards, terminated, truncated, infos = envs.step(actions)
        assert not truncated.any()
        for i in range(2):
            if just_ended[i]:                 # NEXT_STEP: this step reset the sub-env, action ignored
                assert rewards[i] == 0.0 and not terminated[i] and infos["turn"][i] == 0
                assert obs[i].startswith("[user] ")
                resets[i] += 1
            elif terminated[i] and outcomes[i] is None:
                outcomes[i] = int(infos["outcome"][i])
        just_ended = terminated | truncated
    assert outcomes == [1, 1] and min(resets) >= 1
    envs.close()


def test_async_text_vector_env_needs_shared_memory_off():
    envs = gym.vector.AsyncVectorEnv([lambda: gym.make("rods/Files-v0", split="test")] * 2, shared_memory=False)
    single = gym.make("rods/Files-v0", split="test")
    obs, _ = envs.reset(seed=[5, 6])
    assert list(obs) == [single.reset(seed=5)[0], single.reset(seed=6)[0]]
    envs.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_structured_vector_envs_match_a_single_env_and_autoreset(mode):
    envs = gym.make_vec("rods/CloudOps-v0", num_envs=2, vectorization_mode=mode, wrappers=[StructuredActions],
                        split="test", max_steps=2)
    single = StructuredActions(gym.make("rods/CloudOps-v0", split="test", max_steps=2))
    assert envs.single_observation_space == single.observation_space
    assert envs.single_action_space == single.action_space
    obs, infos = envs.reset(seed=[3, 4])
    reply = np.full((2, 1 + single.S), single.K - 1)
    reply[:, 0] = single.n_tools                      # "Done." ends the turn: valid in every state
    singles = []
    for seed in (3, 4):
        o, _ = single.reset(seed=seed)
        trace = [o]
        for _ in range(2):
            o = single.step(reply[0])[0]
            trace.append(o)
        singles.append(trace)
    trace = [obs]
    ended = np.zeros(2, bool)
    for _ in range(2):
        obs, rewards, terminated, truncated, infos = envs.step(reply)
        trace.append(obs)
        ended = terminated | truncated
    assert infos["action_mask"].shape == (2, int(single.action_space.nvec.sum()))
    for k in range(2):
        for step, expected in enumerate(singles[k]):
            np.testing.assert_array_equal(trace[step][k], expected)
    assert ended.all()                              # max_steps=2 (or a 1-2 turn task finished)
    obs, rewards, terminated, truncated, infos = envs.step(reply)
    assert (rewards == 0).all() and not (terminated | truncated).any()
    assert (infos["turn"] == 0).all()
    envs.close()
