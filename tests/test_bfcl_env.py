"""rods/BFCL-MultiTurn-v0: the environment contract, splits, turn semantics, isolation, safety."""

import json
import sys

import gymnasium as gym
import pytest
from gymnasium.error import DependencyNotInstalled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rods_envs
from rods_envs.bfcl import ENV_ID, INSTALL_COMMAND


def test_without_bfcl_eval_gym_make_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "bfcl_eval", None)     # what a missing package looks like
    with pytest.raises(DependencyNotInstalled, match="pip install --no-deps bfcl-eval mpmath"):
        gym.make(ENV_ID)
    assert INSTALL_COMMAND == "pip install --no-deps bfcl-eval mpmath"


pytest.importorskip("bfcl_eval", reason=f"bfcl-eval is not installed ({INSTALL_COMMAND})")

from gymnasium.utils.env_checker import check_env  # noqa: E402

from rods_envs.bfcl import CATEGORIES, load_tasks  # noqa: E402
from rods_envs.bfcl.env import BFCLEnv  # noqa: E402
from rods_envs.bfcl.oracle import BFCLOraclePolicy  # noqa: E402
from rods_envs.episode import DoNothingPolicy, run_episode  # noqa: E402

ALL = load_tasks()
BY_ID = {t.id: t for t in ALL}


def test_ids_categories_and_splits():
    assert len(ALL) == 800
    for category in CATEGORIES:
        tasks = load_tasks(category)
        assert len(tasks) == 200 and {t.category for t in tasks} == {category}
        train, test = load_tasks(category, "train"), load_tasks(category, "test")
        assert len(train) == len(test) == 100
        assert {t.index % 2 for t in train} == {0} and {t.index % 2 for t in test} == {1}
    train, test = load_tasks(split="train"), load_tasks(split="test")
    assert len(train) == len(test) == 400
    assert {t.id for t in train} | {t.id for t in test} == {t.id for t in ALL}
    # A scenario and its three variants share a split: no test scenario is seen in training.
    assert {t.index for t in train}.isdisjoint({t.index for t in test})
    assert load_tasks(["base", "miss_param"], "test") == load_tasks("base", "test") + load_tasks("miss_param", "test")
    with pytest.raises(ValueError, match="unknown BFCL category"):
        load_tasks("nope")
    with pytest.raises(ValueError, match="unknown split"):
        load_tasks(split="dev")


def test_gym_make_passes_gymnasiums_env_checker():
    env = gym.make(ENV_ID, category="base", split="test")
    assert isinstance(env.unwrapped, rods_envs.ToolUseEnv)
    check_env(env.unwrapped, skip_render_check=True)
    with pytest.raises(ValueError, match="reward_mode"):
        gym.make(ENV_ID, reward_mode="dense")


def test_oracle_scores_one_on_all_800_tasks():
    env = BFCLEnv(split="all")
    oracle = BFCLOraclePolicy(ALL)
    failed = [t.id for t in ALL if run_episode(env, oracle, options={"task_id": t.id}).outcome != 1]
    assert failed == []


@pytest.mark.parametrize("action_format", ["text", "dict"])
def test_oracle_in_json_and_openai_formats(action_format):
    tasks = ALL[::20]
    env = BFCLEnv(tasks=tasks)
    oracle = BFCLOraclePolicy(tasks, action_format)
    assert [run_episode(env, oracle, options={"task_id": t.id}).outcome for t in tasks] == [1] * len(tasks)


def _play(env, task, policy):
    """Run one episode; return the user messages in order, each info, and the last info."""
    obs, info = env.reset(options={"task_id": task.id})
    policy.reset(info)
    said, infos = [m["content"] for m in info["messages"] if m["role"] == "user"], [info]
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(policy.act(obs, info))
        said += [m["content"] for m in info["messages"] if m["role"] == "user"]
        infos.append(info)
        done = terminated or truncated
    return said, infos


def test_user_turns_are_served_in_order():
    env = BFCLEnv(split="all")
    for task in ALL[::37]:
        said, infos = _play(env, task, BFCLOraclePolicy(ALL))
        assert said == list(task.turns)
        questions = [m["content"] for turn in task.record["question"] for m in turn]
        assert [s for s in said if s in questions] == questions      # BFCL's own text, in its order
        assert infos[-1]["turns_passed"] == [True] * len(task.turns)


def test_miss_func_held_out_function_appears_at_its_turn():
    from bfcl_eval.constants.default_prompts import DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC as PROMPT
    env = BFCLEnv(category="miss_func", split="all")
    for task in load_tasks("miss_func"):
        (reveal, names), = task.revealed.items()
        assert task.record["question"][reveal] == [] and task.turns[reveal] == PROMPT
        assert task.gold[reveal - 1] == () and task.expects(reveal - 1) == "cannot"
        _, infos = _play(env, task, BFCLOraclePolicy(ALL))
        for info in infos:
            tools = {t["function"]["name"] for t in info["tools"]}
            shown = info["turn"] >= reveal
            assert set(names) <= tools if shown else not set(names) & tools, (task.id, info["turn"])
    # As in BFCL's harness, a held-out function is only missing from the tools: a call to it runs
    # (BFCL's own gold for miss_func_49 calls ``tail`` before the user reveals it).
    task = next(t for t in load_tasks("miss_func") if t.id == "multi_turn_miss_func_49")
    assert "tail" in task.hidden_before(1) and any(c.startswith("tail(") for c in task.gold[1])
    assert run_episode(env, BFCLOraclePolicy([task]), options={"task_id": task.id}).outcome == 1


def test_miss_param_expects_the_agent_to_ask():
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker import multi_turn_checker
    env = BFCLEnv(category="miss_param", split="all")
    tasks = [t for t in load_tasks("miss_param") if any(not g for g in t.gold)]
    assert len(tasks) == 200
    for n, task in enumerate(tasks[::10]):
        ask = next(k for k, g in enumerate(task.gold) if not g)
        assert task.expects(ask) == "ask" and task.gold[ask + 1]
        said, infos = _play(env, task, BFCLOraclePolicy(ALL))
        assert said[ask + 1] == task.turns[ask + 1] and infos[-1]["outcome"] == 1
        # An agent that guesses instead of asking does the next turn's work early: it fails here,
        # and BFCL's own checker fails it too.
        guess = [list(g) for g in task.gold]
        guess[ask], guess[ask + 1] = guess[ask + 1], []
        obs, info = env.reset(options={"task_id": task.id})
        for t, calls in enumerate(guess):
            if calls:
                env.step("[" + ", ".join(calls) + "]")
            obs, reward, terminated, truncated, info = env.step("Done.")
        decoded = [[g] if g else [] for g in guess]
        verdict = multi_turn_checker(decoded, [list(g) for g in task.gold], task.record, task.category,
                                     f"rods_test_guess_{n}")
        assert info["outcome"] == int(verdict["valid"]) == 0


def test_the_oracle_asks_in_the_miss_param_turn():
    task = next(t for t in load_tasks("miss_param") if any(not g for g in t.gold))
    env = BFCLEnv(tasks=[task])
    ask = task.gold.index(())
    _play(env, task, BFCLOraclePolicy([task]))
    replies = [m["content"] for m in env.messages if m["role"] == "assistant" and m["content"]]
    assert "?" in replies[ask]


def test_every_episode_has_its_own_backends():
    from bfcl_eval.eval_checker.multi_turn_eval import multi_turn_utils
    cached = sum(k.endswith("_instance") for k in vars(multi_turn_utils))
    task = BY_ID["multi_turn_base_0"]
    a, b = BFCLEnv(tasks=[task]), BFCLEnv(tasks=[task])
    a.reset(seed=0)
    b.reset(seed=0)
    a.step("[cd(folder='document'), mkdir(dir_name='temp')]")
    assert "temp" in a.step("ls()")[0] and "temp" not in b.step("ls()")[0]
    a.reset(seed=0)
    assert "temp" not in a.step("[cd(folder='document'), ls()]")[0]    # a reset starts afresh
    assert sum(k.endswith("_instance") for k in vars(multi_turn_utils)) == cached   # BFCL's cache untouched


def test_argument_objects_are_not_shared_with_the_backend():
    task = next(t for t in ALL if any(c.startswith("authenticate_twitter") for g in t.gold for c in g))
    env = BFCLEnv(tasks=[task])
    env.reset(seed=0)
    mentions = ["@a"]
    login = next(c for g in task.gold for c in g if c.startswith("authenticate_twitter"))
    env.step(f"[{login}]")
    env.step({"name": "post_tweet", "arguments": {"content": "hi", "mentions": mentions}})
    tweet_id = max(env.backends["TwitterAPI"].tweets)
    env.step(f"[mention(tweet_id={tweet_id}, mentioned_usernames=['@b'])]")
    assert mentions == ["@a"]                                  # what the agent sent is unchanged
    env.step("[post_tweet(content='no mentions')]")
    assert env.backends["TwitterAPI"].tweets[tweet_id + 1]["mentions"] == []   # no shared default


def test_rewards_progress_and_outcome_modes():
    task = BY_ID["multi_turn_base_0"]
    for mode in ("progress", "outcome"):
        env = BFCLEnv(tasks=[task], reward_mode=mode)
        result = run_episode(env, BFCLOraclePolicy([task]))
        assert result.reward == pytest.approx(1.0) and result.outcome == 1
    env = BFCLEnv(tasks=[task])
    result = run_episode(env, DoNothingPolicy())
    assert result.outcome == 0 and result.progress == 0.0 and result.reward == 0.0
    # A turn without gold calls is not checked, as in BFCL: doing nothing there passes it.
    quiet = next(t for t in load_tasks("miss_param") if t.gold[0])
    result = run_episode(BFCLEnv(tasks=[quiet]), DoNothingPolicy())
    assert result.progress == pytest.approx(sum(not g for g in quiet.gold) / len(quiet.turns))


def test_truncation_on_the_step_budget_and_giving_up():
    task = BY_ID["multi_turn_base_0"]
    env = BFCLEnv(tasks=[task], max_steps=3)
    env.reset(seed=0)
    assert env.step("pwd()")[3] is False and env.step("pwd()")[3] is False
    _, _, terminated, truncated, info = env.step("pwd()")
    assert truncated and not terminated and "outcome" in info
    env = BFCLEnv(tasks=[task])
    env.reset(seed=0)
    _, _, terminated, truncated, info = env.step("###STOP###")
    assert terminated and info["turns_passed"] == [False] * len(task.turns)
    env.reset(seed=0)
    assert env.max_steps == 21 * len(task.turns)    # BFCL's 20 steps with calls + the reply, per turn


def test_same_seed_same_episode():
    env = gym.make(ENV_ID, split="test")
    first = env.reset(seed=11)
    steps = [env.step(a)[0] for a in ("ls()", "pwd()", "Done.")]
    second = env.reset(seed=11)
    assert first == second and steps == [env.step(a)[0] for a in ("ls()", "pwd()", "Done.")]


# -- no action string, or action of any other shape, crashes step -------------------------------
FUNCTIONS = sorted({f["function"]["name"] for t in ALL[:40] for f in BFCLEnv(tasks=[t]).reset(seed=0)[1]["tools"]})
literals = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                        max_leaves=6)


@st.composite
def python_calls(draw):
    def one():
        name = draw(st.sampled_from(FUNCTIONS) | st.text(max_size=8))
        kwargs = draw(st.dictionaries(st.text(max_size=10), literals, max_size=3))
        return f"{name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
    return "[" + ", ".join(one() for _ in range(draw(st.integers(1, 3)))) + "]"


actions = st.one_of(
    st.text(max_size=300), python_calls(),
    python_calls().map(lambda s: s[: len(s) // 2]),
    st.builds(lambda n, a: json.dumps({"name": n, "arguments": a}), st.sampled_from(FUNCTIONS),
              st.dictionaries(st.text(max_size=8), literals, max_size=3)),
    st.builds(lambda n, a: {"role": "assistant", "content": "", "tool_calls": [
        {"id": "x", "type": "function", "function": {"name": n, "arguments": a}}]},
        st.sampled_from(FUNCTIONS), st.dictionaries(st.text(max_size=8), literals, max_size=3) | st.text(max_size=20)),
    st.sampled_from(["###STOP###", "[]", "()", "[,]", "cd(", "\x00", "\ud800", "cd(folder='\ud800')",
                     "print(open('/etc/passwd').read())", "[f()]" * 50, "x" * 70_000,
                     "power(base=10, exponent=10000000)", "logarithm(value=2, base=3, precision=100000000)",
                     "[mkdir(dir_name='d'), cd(folder='d')]" * 8]),
    st.just({"role": "assistant", "content": 5}), st.just(None), st.just(12), st.just([{"name": 3}]),
    st.just({"name": "cd", "arguments": {"folder": {1, 2}}}), st.just({"name": "cd", "arguments": {3: "x"}}),
    st.just({"role": "assistant", "content": "[pwd(), ls(a=True)]"}),
)
FUZZ_ENV = BFCLEnv(tasks=ALL[::50] + ALL[600::50])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(task=st.sampled_from(FUZZ_ENV.tasks), prefix=st.lists(actions, max_size=2), action=actions)
def test_no_action_crashes_step(task, prefix, action):
    FUZZ_ENV.reset(options={"task_id": task.id})
    for a in prefix + [action]:
        if FUZZ_ENV.done:
            break
        obs, reward, terminated, truncated, info = FUZZ_ENV.step(a)
        assert FUZZ_ENV.observation_space.contains(obs) and isinstance(reward, float)
        assert isinstance(info["messages"], list) and 0.0 <= info["progress"] <= 1.0
