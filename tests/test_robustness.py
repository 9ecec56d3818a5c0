"""No action, of any shape, can make step raise."""

import json

import gymnasium as gym
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rods_envs

ENVS = {domain: gym.make(env_id) for domain, env_id in rods_envs.ENV_IDS.items()}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def tool_calls(draw):
    """Calls to real tool names with arbitrary arguments: the deepest path through step."""
    domain = draw(st.sampled_from(sorted(ENVS)))
    tools = rods_envs.get_domain(domain).tools
    name = draw(st.sampled_from(sorted(tools)) | st.text(max_size=12))
    params = tools[name].parameters["properties"] if name in tools else {}
    args = draw(st.dictionaries(st.sampled_from(sorted(params)) if params else st.text(max_size=5),
                                json_values, max_size=4))
    return domain, {"name": name, "arguments": args}


text_actions = st.one_of(
    st.text(),
    st.text().map(lambda s: "{" + s),
    st.text().map(lambda s: "<tool_call>" + s + "</tool_call>"),
    json_values.map(json.dumps),
    st.sampled_from(["###STOP###", "?", "[]", "{}", "null", "<tool_call></tool_call>", "\x00", "\ud800"]),
)


def _step_survives(env, action):
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(action)
    assert isinstance(obs, str) and env.observation_space.contains(obs)
    assert isinstance(reward, float) and isinstance(info["messages"], list)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(domain=st.sampled_from(sorted(ENVS)), action=text_actions)
def test_no_text_action_crashes_step(domain, action):
    _step_survives(ENVS[domain], action)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(call=tool_calls(), form=st.sampled_from(["dict", "text", "openai", "list"]))
def test_no_tool_call_crashes_step(call, form):
    domain, raw = call
    if form == "text":
        action = json.dumps(raw)
    elif form == "openai":
        action = {"role": "assistant", "content": None, "tool_calls": [
            {"id": "x", "type": "function", "function": {"name": raw["name"], "arguments": json.dumps(raw["arguments"])}}]}
    elif form == "list":
        action = [raw, raw]
    else:
        action = raw
    _step_survives(ENVS[domain], action)


@settings(max_examples=200, deadline=None)
@given(action=json_values | st.lists(json_values) | st.dictionaries(st.text(), json_values))
def test_no_python_value_crashes_step(action):
    _step_survives(ENVS["retail"], action)
