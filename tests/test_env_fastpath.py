"""The step path's shortcuts give what the plain code they replace gives.

Each shortcut (JSON through json's C parts, the oracle decoding a result only when a reference
reads it, one-message rendering, questions matched against facts compiled on demand) is checked
against the plain way of doing the same thing: same values, same errors, same episodes.
"""

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rods_envs
from rods_envs.actions import dumps_ascii, dumps_text, loads
from rods_envs.env import MAX_OBSERVATION_CHARS, ToolUseEnv, render_messages
from rods_envs.episode import run_episode
from rods_envs.oracle import OraclePolicy
from rods_envs.user import ScriptedUser, _mentions

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=16,
)


def _outcome(fn, *args):
    """What ``fn(*args)`` gives: its value, or its error's type and message."""
    try:
        return "value", fn(*args)
    except Exception as exc:  # the point is to compare whatever is raised
        return "error", type(exc), str(exc)


def _same(a, b) -> bool:
    """Equal, counting NaN equal to NaN (json round-trips NaN, and NaN != NaN)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


# -- JSON ----------------------------------------------------------------------------------------
texts = st.one_of(
    json_values.map(json.dumps),
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False)),
    json_values.map(lambda v: " " + json.dumps(v) + "\n"),            # whitespace around
    json_values.map(lambda v: json.dumps(v) + " x"),                  # extra data
    json_values.map(lambda v: "\ufeff" + json.dumps(v)),              # a byte-order mark
    st.text(),
    st.text().map(lambda s: "{" + s),
    st.sampled_from(["", " ", "[" * 5000, "[1,", '{"a": NaN}', "Infinity", '"\\ud800"', "1e999", "-0"]),
)


@settings(max_examples=500, deadline=None)
@given(text=texts)
def test_loads_is_json_loads(text):
    fast, plain = _outcome(loads, text), _outcome(json.loads, text)
    assert fast[0] == plain[0] and _same(fast[1:], plain[1:])


class Opaque:
    pass


def _cycle():
    a: list = []
    a.append(a)
    return a


def _deep(depth=5000):
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


odd_values = st.one_of(
    json_values,
    st.dictionaries(st.integers() | st.booleans() | st.none() | st.floats(), json_values, max_size=3),
    st.builds(lambda v: {"x": [v, Opaque()]}, json_values),
    st.builds(lambda v: {(1, 2): v}, json_values),
    st.builds(lambda v: [v, {1, 2}], json_values),
    st.just(float("inf")), st.just(float("-inf")), st.just("\ud800é中"),
    st.builds(_cycle),
    st.builds(_deep),
)


@settings(max_examples=400, deadline=None)
@given(value=odd_values)
def test_dumps_is_json_dumps(value):
    assert _outcome(dumps_ascii, value) == _outcome(json.dumps, value)
    assert _outcome(dumps_text, value) == _outcome(lambda v: json.dumps(v, ensure_ascii=False), value)


def test_dumps_handles_output_in_many_chunks():
    # The C encoder hands back its output in pieces once there are very many of them.
    value = {str(i): [i, str(i), None] for i in range(40_000)}
    assert dumps_text(value) == json.dumps(value, ensure_ascii=False)


# -- rendering -----------------------------------------------------------------------------------
def _render_plain(messages):
    lines = []
    for m in messages:
        role = f"tool {m['name']}" if m["role"] == "tool" else m["role"]
        lines.append(f"[{role}] {m['content']}")
    text = "\n".join(lines)
    if len(text) > MAX_OBSERVATION_CHARS:
        text = text[: MAX_OBSERVATION_CHARS - 20] + " …[truncated]"
    return text


messages = st.lists(st.one_of(
    st.builds(lambda r, c: {"role": r, "content": c}, st.sampled_from(["user", "system", "assistant"]),
              st.text() | st.none()),
    st.builds(lambda n, c: {"role": "tool", "name": n, "content": c, "tool_call_id": "x"}, st.text(max_size=8), st.text()),
    st.just({"role": "tool", "name": "cat", "content": "x" * (MAX_OBSERVATION_CHARS + 5)}),
), max_size=4)


@settings(max_examples=300, deadline=None)
@given(messages=messages)
def test_render_messages_is_the_plain_rendering(messages):
    assert render_messages(messages) == _render_plain(messages)


# -- the oracle ----------------------------------------------------------------------------------
class EagerOracle(OraclePolicy):
    """The oracle keeping its results in a plain dict: every result decoded as it arrives (the
    path a subclass such as StructuredOracle takes)."""

    def reset(self, info):
        super().reset(info)
        self.results = {}


class Spoiler(OraclePolicy):
    """Every fourth call goes to a tool that does not exist (references to its result then fall
    back to gold values), and every fifth call is made twice (its id is seen twice)."""

    def act(self, observation, info):
        action = super().act(observation, info)
        self.n = getattr(self, "n", 0) + 1
        if isinstance(action, str) and action.startswith("{"):
            if self.n % 4 == 0:
                return '{"name": "nope", "arguments": {}}'
            if self.n % 5 == 0:
                self.queue.insert(0, ("call", next(c for c in self.task.calls if c["id"] == self.pending)))
        return action


class EagerSpoiler(Spoiler, EagerOracle):
    pass


def _episode(env, policy, task):
    obs, info = env.reset(options={"task": task})
    policy.reset(info)
    log, done = [], False
    while not done:
        action = policy.act(obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        log.append((action, obs, reward, terminated, truncated, info))
        done = terminated or truncated
    return log


@pytest.mark.parametrize("domain", sorted(rods_envs.DOMAINS))
def test_lazy_results_give_the_eager_oracles_episodes(suite, domain):
    tasks = suite.split("test", domain=domain)[:12]
    env = ToolUseEnv(domain, tasks=tasks, max_steps=80)
    spoiled = []
    for task in tasks:
        for lazy, eager in ((OraclePolicy([task]), EagerOracle([task])),
                            (OraclePolicy([task], action_format="dict"), EagerOracle([task], action_format="dict")),
                            (Spoiler([task]), EagerSpoiler([task]))):
            episode = _episode(env, lazy, task)
            assert episode == _episode(env, eager, task), task.id
            if isinstance(lazy, Spoiler):
                spoiled.append(episode[-1][-1]["outcome"])
    assert 0 in spoiled, "the spoiler should break some episodes, or the fallback goes untested"
    assert run_episode(env, OraclePolicy(tasks), options={"task": tasks[0]}).outcome == 1


def test_a_result_seen_again_replaces_the_one_read_before(suite):
    task = suite.split("test", domain="retail")[0]
    oracle = OraclePolicy([task])
    oracle.reset({"task_id": task.id})
    ref = {"$ref": "c1", "path": ["a"]}
    oracle.pending = "c1"
    oracle._collect([{"role": "tool", "content": '{"a": 1}'}])
    assert oracle._resolve(ref) == 1
    oracle.pending = "c1"
    oracle._collect([{"role": "tool", "content": '{"a": 2}'}])
    assert oracle._resolve(ref) == 2
    oracle.pending = "c1"
    oracle._collect([{"role": "tool", "content": "Error: refused"}])   # an error keeps the last result
    assert oracle._resolve(ref) == 2


# -- the scripted user ---------------------------------------------------------------------------
class EagerUser(ScriptedUser):
    """Compiles every turn's facts at reset, as the scripted user once did."""

    def reset(self, task, rng=None):
        super().reset(task, rng)
        self._facts = dict(enumerate([(_mentions(f["slot"]), f["reply"]) for f in turn["facts"]]
                                     for turn in task.turns))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_scripted_user_answers_as_when_compiled_up_front(suite, data):
    with_facts = [t for t in suite.split("all") if any(turn["facts"] for turn in t.turns)]
    task = data.draw(st.sampled_from(with_facts))
    slots = [f["slot"] for turn in task.turns for f in turn["facts"]]
    message = data.draw(st.one_of(
        st.text(),
        st.sampled_from(slots).map(lambda s: f"Could you tell me your {s}?"),
        st.sampled_from(slots).map(lambda s: f"What is the {s.split()[0].upper()}?"),
        st.sampled_from(slots).map(lambda s: f"{s} please."),
    ))
    lazy, eager = ScriptedUser(), EagerUser()
    lazy.reset(task)
    eager.reset(task)
    for turn in range(len(task.turns)):
        assert lazy.respond(turn, message) == eager.respond(turn, message)
        assert lazy.instruction(turn) == eager.instruction(turn)
