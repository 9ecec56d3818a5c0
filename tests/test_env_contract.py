"""The Gymnasium contract: check_env, determinism, rewards, episode ends, bad input."""

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import rods_envs
from rods_envs.episode import DoNothingPolicy, run_episode
from rods_envs.oracle import OraclePolicy

IDS = sorted(rods_envs.ENV_IDS.values()) + [rods_envs.MIXED_ENV_ID]


@pytest.mark.parametrize("env_id", IDS)
def test_check_env(env_id):
    env = gym.make(env_id, split="test")
    check_env(env.unwrapped, skip_render_check=False)


def _play(env, actions, seed):
    obs, info = env.reset(seed=seed)
    log = [(obs, info["task_id"])]
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        log.append((obs, reward, terminated, truncated, info["progress"]))
        if terminated or truncated:
            break
    return log


@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_same_episode(env_id):
    actions = ['{"name": "nope", "arguments": {}}', "Could you tell me your email?", "Done.", "Okay."] * 3
    first = _play(gym.make(env_id), actions, seed=7)
    second = _play(gym.make(env_id), actions, seed=7)
    assert first == second
    tasks = {_play(gym.make(env_id), [], seed=s)[0][1] for s in range(12)}
    assert len(tasks) > 1, "different seeds should reach different tasks"


def test_pinned_task_and_unknown_task(suite):
    task = suite.split("test", domain="retail")[3]
    env = gym.make("rods/Retail-v0", split="test")
    _, info = env.reset(options={"task_id": task.id})
    assert info["task_id"] == task.id
    with pytest.raises(ValueError, match="unknown task_id"):
        env.reset(options={"task_id": "no-such-task"})


@pytest.mark.parametrize("reward_mode", ["progress", "outcome"])
def test_rewards_sum_to_score(suite, reward_mode):
    tasks = suite.split("test", domain="files")[:10]
    env = gym.make("rods/Files-v0", split="test", reward_mode=reward_mode)
    for task in tasks:
        for policy in (OraclePolicy(tasks), DoNothingPolicy()):
            result = run_episode(env, policy, options={"task_id": task.id})
            expected = result.progress if reward_mode == "progress" else result.outcome
            assert result.reward == pytest.approx(expected)
            assert not result.truncated


def test_progress_reward_is_paid_per_turn(suite):
    task = next(t for t in suite.split("train", domain="retail") if len(t.turns) >= 3)
    env = gym.make("rods/Retail-v0")
    oracle = OraclePolicy([task])
    obs, info = env.reset(options={"task_id": task.id})
    oracle.reset(info)
    rewards = []
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(oracle.act(obs, info))
        done = terminated or truncated
        if reward:
            rewards.append(reward)
    assert rewards == [pytest.approx(1 / len(task.turns))] * len(task.turns)
    assert terminated and not truncated and info["outcome"] == 1


def test_truncation_is_not_termination():
    env = gym.make("rods/CloudOps-v0", max_steps=3)
    env.reset(seed=0)
    flags = [env.step('{"name": "list_images", "arguments": {}}')[2:4] for _ in range(3)]
    assert flags[-1] == (False, True) and flags[0] == (False, False)
    with pytest.raises(gym.error.ResetNeeded):
        env.step("hello")


def test_give_up_terminates():
    env = gym.make("rods/Travel-v0")
    _, info = env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step("Sorry, I cannot help. ###STOP###")
    assert terminated and not truncated and reward == 0
    assert info["outcome"] == 0 and len(info["turns_passed"]) == info["num_turns"]


def test_info_carries_structured_messages_and_tools():
    env = gym.make("rods/Retail-v0")
    obs, info = env.reset(seed=1)
    assert info["messages"][0]["role"] == "user" and info["messages"][0]["content"] in obs
    names = {t["function"]["name"] for t in info["tools"]}
    assert "get_order" in names and all(t["type"] == "function" for t in info["tools"])
    assert all("x-semantic" not in str(t) for t in info["tools"])
    message = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "abc", "type": "function", "function": {"name": "get_order", "arguments": '{"order_id": "#W1001"}'}}]}
    _, _, _, _, info = env.step(message)
    (tool_message,) = info["messages"]
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == "abc"


@pytest.mark.parametrize("action, expected", [
    ('{"name": "get_order", "arguments": {"order_id": 12}}', "is not of type 'string'"),
    ('{"name": "get_order", "arguments": {}}', "'order_id' is a required property"),
    ('{"name": "get_order", "arguments": {"order_id": "#W1", "x": 1}}', "Additional properties"),
    ('{"name": "launch_rockets", "arguments": {}}', "unknown tool 'launch_rockets'"),
    ('{"name": "get_order", "arguments": {"order_id": "#nope"}}', "not found"),
    ('{"name": "get_order"', "malformed JSON"),
    ("<tool_call>{\"name\": \"get_order\"", "not closed"),
    ("[" * 50_000, "malformed JSON"),
    ("x" * 70_000, "limit"),
    (None, "an action must be"),
    (42, "an action must be"),
    ({"tool_calls": {"a": 1}}, "must be a list"),
])
def test_bad_actions_become_error_observations(action, expected):
    env = gym.make("rods/Retail-v0")
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(action)
    assert expected in obs and "Error" in obs
    assert reward == 0 and not terminated


def test_refused_call_leaves_state_untouched(suite):
    env = gym.make("rods/Retail-v0").unwrapped
    env.reset(seed=0)
    before = repr(env.state)
    pending = [o for o in env.state["orders"].values() if o["status"] != "pending"]
    env.step({"name": "cancel_order", "arguments": {"order_id": pending[0]["order_id"], "reason": "ordered by mistake"}})
    assert repr(env.state) == before


def test_render_ansi_transcript():
    env = gym.make("rods/Files-v0", render_mode="ansi")
    env.reset(seed=0)
    env.step('{"name": "pwd", "arguments": {}}')
    text = env.render()
    assert "[user]" in text and "[tool pwd]" in text


def test_dict_actions_with_non_json_values_are_errors():
    env = gym.make("rods/Retail-v0")
    env.reset(seed=0)
    for action in ({"name": "find_customer_by_email", "arguments": {"email": {1, 2}}},
                   [{"name": "get_order", "arguments": {"order_id": object()}}]):
        obs, reward, terminated, truncated, info = env.step(action)
        assert "must be JSON values" in obs and not terminated


def test_mixed_env_serves_every_domain_with_its_own_tools():
    env = gym.make(rods_envs.MIXED_ENV_ID, split="test")
    seen = {}
    for seed in range(40):
        _, info = env.reset(seed=seed)
        seen[info["domain"]] = {t["function"]["name"] for t in info["tools"]}
    assert set(seen) == set(rods_envs.DOMAINS)
    assert seen["files"] != seen["retail"]
    task = rods_envs.load_suite().split("test", domain="cloudops")[0]
    _, info = env.reset(options={"task": task})
    assert info["domain"] == "cloudops" and run_episode(env.unwrapped, OraclePolicy([task]),
                                                        options={"task": task}).outcome == 1
