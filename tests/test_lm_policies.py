"""HFPolicy, OpenAIChatPolicy and `rods serve`: episodes with the tiny model, in process and over
real loopback HTTP, and `rods eval --policy hf:DIR`.

Three tiny models: one with random weights (garbage output: robustness and determinism), one
fitted for a few dozen steps to answer a task's opening request with its gold tool call (a real
call that runs in the env, end to end), and one fitted to end every turn at once (a quick
evaluation of a whole domain through the command line).
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gymnasium as gym
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("trl")

import rods_envs  # noqa: E402
from rods_agents.cli import main  # noqa: E402
from rods_agents.lm.conversation import gold_conversation  # noqa: E402
from rods_agents.lm.policies import (  # noqa: E402
    GIVE_UP, EndpointError, HFPolicy, LocalChatModel, OpenAIChatPolicy, hf_policy_from_dir, policy_spec_factory,
    reply_tool_schema)
from rods_agents.lm.serve import serve, template_messages  # noqa: E402
from rods_agents.lm.tiny import build_tiny, load_pretrained  # noqa: E402
from rods_agents.lm.tools import lm_tool_schemas  # noqa: E402
from rods_envs.domains import get_domain  # noqa: E402
from rods_envs.episode import run_episode  # noqa: E402

TASK_ID = "retail-train-0019"      # a short two-turn task among the tokenizer's training tasks


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory, suite):
    return build_tiny(tmp_path_factory.mktemp("tiny"), tasks=suite.split("train")[:30], vocab_size=2000)


def fit_answer(model, prompts: list[list[int]], answer: list[int], steps: int) -> None:
    """Train ``model`` to answer each prompt with ``answer`` (loss on the answer tokens only)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        for prompt in prompts:
            ids = torch.tensor([prompt + answer])
            labels = ids.clone()
            labels[0, :len(prompt)] = -100
            model(input_ids=ids, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()


def header_ids(tokenizer) -> list[int]:
    return tokenizer("<|im_start|>assistant\n", add_special_tokens=False)["input_ids"]


@pytest.fixture(scope="module")
def gold(suite):
    return gold_conversation(suite.task(TASK_ID))


@pytest.fixture(scope="module")
def caller_dir(tiny_dir, gold, tmp_path_factory):
    """The tiny model fitted to open TASK_ID with its gold call, under both renderings of the
    tools (HFPolicy's and the server's for OpenAIChatPolicy); it speaks through reply_to_user."""
    model, tokenizer = load_pretrained(tiny_dir)
    chat = LocalChatModel(model, tokenizer, device="cpu")
    opening = gold["messages"][:2]
    full = tokenizer.apply_chat_template(gold["messages"][:3], tools=gold["tools"], tokenize=False)
    prefix = tokenizer.apply_chat_template(opening, tools=gold["tools"], tokenize=False, add_generation_prompt=True)
    assert full.startswith(prefix)
    answer = tokenizer(full[len(prefix):], add_special_tokens=False)["input_ids"]
    env_tools = get_domain("retail").tool_schemas
    prompts = [header_ids(tokenizer), chat.render(opening, gold["tools"]),
               chat.render(template_messages(opening), env_tools + [reply_tool_schema()])]
    fit_answer(model, prompts, answer, steps=60)
    out = tmp_path_factory.mktemp("caller")
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "rods.json").write_text('{"reply_tool": true}')
    return out


@pytest.fixture(scope="module")
def silent_dir(tiny_dir, tmp_path_factory):
    """The tiny model fitted to end its message at once: every turn ends with an empty reply."""
    model, tokenizer = load_pretrained(tiny_dir)
    fit_answer(model, [header_ids(tokenizer)], [tokenizer.eos_token_id], steps=20)
    out = tmp_path_factory.mktemp("silent")
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def running(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture(scope="module")
def tiny_server(tiny_dir):
    server = running(serve(tiny_dir, port=0, name="tiny"))
    yield server
    server.shutdown()
    server.server_close()


def episode(env, policy, seed, **options):
    result = run_episode(env, policy, seed=seed, options=options or None)
    return asdict(result), json.loads(json.dumps(policy.messages))


def check_chat_history(messages, openai: bool) -> None:
    """What a chat template or an OpenAI-style API accepts: one leading system message, known
    roles, string content, and (OpenAI) every tool result answering an open call by its id."""
    assert messages[0]["role"] == "system"
    assert all(m["role"] in ("user", "assistant", "tool") for m in messages[1:])
    assert all(isinstance(m["content"], str) for m in messages)
    open_calls: set[str] = set()
    for m in messages:
        if m["role"] == "tool" and openai:
            assert m["tool_call_id"] in open_calls
            open_calls.discard(m["tool_call_id"])
        elif m["role"] == "tool":
            assert isinstance(m["name"], str)
        else:
            assert not open_calls, f"a {m['role']} message came before the results of {open_calls}"
        for call in m.get("tool_calls", []):
            arguments = call["function"]["arguments"]
            if openai:
                assert isinstance(call["id"], str) and isinstance(json.loads(arguments), dict)
                open_calls.add(call["id"])
            else:
                assert isinstance(arguments, dict)


# -- HFPolicy ---------------------------------------------------------------------------------------

def test_random_tiny_model_plays_whole_episodes_deterministically(tiny_dir):
    policy = HFPolicy(tiny_dir, reply_tool=True, max_new_tokens=12, temperature=1.0)
    env = gym.make("rods/Retail-v0", split="train", max_steps=5)

    def play():
        runs = []
        for seed in (0, 1):
            policy.seed(100 + seed)
            runs.append(episode(env, policy, seed))
        return runs

    first, again = play(), play()
    assert first == again                                  # same seeds, same episodes
    for result, messages in first:
        assert 1 <= result["steps"] <= 5
        check_chat_history(messages, openai=False)
    assert policy.metadata["device"] == "cpu" and json.dumps(policy.metadata)

    # A model object and tokenizer, greedy, plain-text replies, another domain.
    model, tokenizer = load_pretrained(tiny_dir)
    greedy = HFPolicy(model, tokenizer, max_new_tokens=8)
    files = gym.make("rods/Files-v0", split="test", max_steps=3)
    one, two = episode(files, greedy, 7), episode(files, greedy, 7)
    assert one == two and one[0]["steps"] <= 3
    check_chat_history(one[1], openai=False)


def test_a_full_context_ends_the_episode_cleanly(tiny_dir):
    model, tokenizer = load_pretrained(tiny_dir)
    model.config.max_position_embeddings = 8           # no prompt fits any more
    policy = HFPolicy(model, tokenizer, max_new_tokens=32)
    env = gym.make("rods/Retail-v0", split="train")
    result, messages = episode(env, policy, 0)
    assert result["steps"] == 1 and not result["truncated"] and policy.context_overflows == 1
    assert messages[-1] == {"role": "assistant", "content": GIVE_UP}


def test_fitted_model_calls_a_real_tool_in_the_gold_form(caller_dir, gold):
    policy = hf_policy_from_dir(str(caller_dir))          # rods.json turns the reply tool on
    assert policy.reply_tool
    env = gym.make("rods/Retail-v0", split="train", max_steps=2)
    result, messages = episode(env, policy, 0, task_id=TASK_ID)
    # The history is written as gold_conversation writes it: the call, then the tool's real result.
    assert messages[:4] == gold["messages"][:4]
    assert result["tool_calls"] >= 1 and not messages[3]["content"].startswith("Error")


def test_tool_calls_parse_with_a_response_template_or_without(tiny_dir):
    from trl.chat_template_utils import add_response_schema

    model, tokenizer = load_pretrained(tiny_dir)
    plain = LocalChatModel(model, tokenizer, device="cpu")
    templated = LocalChatModel(model, add_response_schema(load_pretrained(tiny_dir)[1]), device="cpu")
    prompt = plain.render([{"role": "user", "content": "hi"}], None)
    texts = {'<tool_call>\n{"name": "get_order", "arguments": {"order_id": "#W1"}}\n</tool_call><|im_end|>':
             [{"name": "get_order", "arguments": {"order_id": "#W1"}}],
             "Your order is on its way.<|im_end|>": [],
             '<tool_call>\n{"name": "get_order", "argum': None,
             '<tool_call>\n{"name": "get_order", "arguments": "x"}\n</tool_call>': None}
    for text, calls in texts.items():
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        for chat in (plain, templated):
            assert chat.parse(ids, prompt)[1] == calls, (text, chat.tokenizer.response_template is None)


# -- OpenAIChatPolicy against `rods serve` on loopback -----------------------------------------------

def test_openai_policy_plays_an_episode_against_the_tiny_model_server(tiny_server):
    policy = OpenAIChatPolicy("tiny", tiny_server.url, max_tokens=12, temperature=0.7, max_retries=0)
    policy.seed(3)
    env = gym.make("rods/Retail-v0", split="train", max_steps=4)
    before = tiny_server.completions
    result, messages = episode(env, policy, 0)
    assert 1 <= result["steps"] <= 4
    assert tiny_server.completions - before == policy.requests >= 1
    check_chat_history(messages, openai=True)
    models = json.loads(http_request(tiny_server, "GET", "/v1/models")[1])
    assert [m["id"] for m in models["data"]] == ["tiny"]


def test_a_real_tool_call_flows_over_http(caller_dir, gold):
    server = running(serve(caller_dir, port=0))
    try:
        policy = OpenAIChatPolicy(caller_dir.name, server.url, reply_tool=True, max_tokens=48, max_retries=0)
        env = gym.make("rods/Retail-v0", split="train", max_steps=2)
        result, messages = episode(env, policy, 0, task_id=TASK_ID)
    finally:
        server.shutdown()
        server.server_close()
    check_chat_history(messages, openai=True)
    call = messages[2]["tool_calls"][0]
    expected = gold["messages"][2]["tool_calls"][0]["function"]
    assert call["function"]["name"] == expected["name"]
    assert json.loads(call["function"]["arguments"]) == expected["arguments"]
    assert messages[3] == {"role": "tool", "tool_call_id": call["id"], "content": gold["messages"][3]["content"]}
    assert result["tool_calls"] >= 1 and server.completions == policy.requests


def http_request(server, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection(*server.server_address[:2], timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_the_server_answers_bad_requests_with_json_errors(tiny_server):
    def post(body):
        raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
        status, text = http_request(tiny_server, "POST", "/v1/chat/completions", raw,
                                    {"Content-Type": "application/json"})
        return status, json.loads(text)

    hello = [{"role": "user", "content": "hello"}]
    rng = np.random.default_rng(0)
    long_text = "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz0123456789 "), size=40_000))
    bad = {"{not json": "not valid JSON", "[1, 2]": "JSON object",
           json.dumps({"messages": []}): "non-empty list",
           json.dumps({"messages": [{"role": "wizard", "content": "x"}]}): "role",
           json.dumps({"messages": hello, "stream": True}): "streaming",
           json.dumps({"messages": hello, "temperature": "hot"}): "temperature",
           json.dumps({"messages": hello, "max_tokens": 0}): "max_tokens",
           json.dumps({"messages": hello, "tools": [{"type": "function"}]}): "tools",
           json.dumps({"messages": [{"role": "user", "content": long_text}]}): "maximum context length"}
    for body, words in bad.items():
        status, reply = post(body)
        assert status == 400 and words in reply["error"]["message"], (body[:60], reply)
    assert post({"messages": [{"role": "user", "content": long_text}]})[1]["error"]["code"] == "context_length_exceeded"
    assert http_request(tiny_server, "GET", "/v1/nothing")[0] == 404

    status, reply = post({"model": "tiny", "messages": hello, "max_tokens": 5, "seed": 1, "temperature": 1.0})
    assert status == 200                                   # still serving after all that
    choice = reply["choices"][0]
    assert choice["finish_reason"] in ("stop", "length", "tool_calls") and choice["message"]["role"] == "assistant"
    assert reply["usage"]["completion_tokens"] <= 5
    assert reply["usage"]["total_tokens"] == reply["usage"]["prompt_tokens"] + reply["usage"]["completion_tokens"]
    assert post({"model": "tiny", "messages": hello, "max_tokens": 5, "seed": 1, "temperature": 1.0})[1]["choices"] \
        == reply["choices"]                                # a seed makes sampling repeatable


# -- OpenAIChatPolicy against endpoints that misbehave -----------------------------------------------

def completion(content: str) -> bytes:
    return json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                    "finish_reason": "stop"}]}).encode()


class Misbehaving(BaseHTTPRequestHandler):
    """An endpoint whose first path segment says how to fail."""

    hits: dict[str, int] = {}

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        mode = self.path.strip("/").split("/")[0]
        Misbehaving.hits[mode] = Misbehaving.hits.get(mode, 0) + 1
        if mode == "slow":
            time.sleep(1.0)
        replies = {"overloaded": (503, b'{"error": {"message": "try later"}}'),
                   "unauthorized": (401, b'{"error": {"message": "bad key", "code": "invalid_api_key"}}'),
                   "html": (200, b"<html>hello</html>"),
                   "nochoices": (200, b'{"ok": true}'),
                   "toolong": (400, b'{"error": {"message": "too long", "code": "context_length_exceeded"}}'),
                   "slow": (200, b"{}"),
                   "textcall": (200, completion('<tool_call>\n{"name": "get_order", "arguments": '
                                                '{"order_id": "#W1006"}}\n</tool_call>')),
                   "badtextcall": (200, completion('<tool_call>{"name": "get_order", "arguments": 7}</tool_call>')),
                   "manycalls": (200, json.dumps({"choices": [{"message": {"role": "assistant", "content": None,
                                 "tool_calls": [{"id": f"c{i}", "type": "function", "function": {
                                     "name": "get_order", "arguments": "{}"}} for i in range(17)]}}]}).encode())}
        status, body = replies[mode]
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):   # the slow one's client has given up
            pass

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def misbehaving():
    server = running(ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving))
    server.daemon_threads = True
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_endpoint_failures_give_clear_errors(misbehaving):
    env = gym.make("rods/Retail-v0", split="train")
    _, info = env.reset(seed=0)

    def failure(mode, **kwargs):
        policy = OpenAIChatPolicy("m", f"{misbehaving}/{mode}", retry_wait=0, **kwargs)
        policy.reset(info)
        with pytest.raises(EndpointError) as caught:
            policy.act("", info)
        message = str(caught.value)
        assert "\n" not in message
        return message

    overloaded = failure("overloaded", max_retries=2)
    assert "HTTP 503" in overloaded and "try later" in overloaded and "tried 3 times" in overloaded
    assert Misbehaving.hits["overloaded"] == 3                 # retried
    assert "HTTP 401" in failure("unauthorized", api_key="k") and "bad key" in failure("unauthorized")
    assert Misbehaving.hits["unauthorized"] == 2               # not retried
    assert "did not answer with JSON" in failure("html")
    assert "without choices[0].message" in failure("nochoices")
    assert "no reply" in failure("slow", timeout=0.2, max_retries=1)
    with socket.socket() as probe:                             # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    policy = OpenAIChatPolicy("m", f"http://127.0.0.1:{closed}/v1", max_retries=0)
    policy.reset(info)
    with pytest.raises(EndpointError, match="cannot reach"):
        policy.act("", info)

    # An endpoint that leaves tool calls in the text: the well-formed ones become real calls,
    # and the history stays one that chat APIs accept either way.
    env.unwrapped.max_steps = 2
    for mode, name in (("textcall", "get_order"), ("badtextcall", None)):
        policy = OpenAIChatPolicy("m", f"{misbehaving}/{mode}", max_retries=0)
        result, messages = episode(env, policy, 0, task_id=TASK_ID)
        check_chat_history(messages, openai=True)
        assert result["tool_calls"] == 2 and result["truncated"]
        if name:
            assert messages[2]["tool_calls"][0]["function"]["name"] == name
            assert messages[3]["role"] == "tool" and '"order_id": "#W1006"' in messages[3]["content"]
        else:
            assert messages[3]["role"] == "user" and messages[3]["content"].startswith("[get_order result] Error")
    # Calls the env refuses as a whole (too many) stay in the history as text, with the notice.
    policy = OpenAIChatPolicy("m", f"{misbehaving}/manycalls", max_retries=0)
    result, messages = episode(env, policy, 0, task_id=TASK_ID)
    check_chat_history(messages, openai=True)
    assert result["tool_calls"] == 0 and result["errors"] == 2 and "at most 16" in messages[3]["content"]
    env.unwrapped.max_steps = 64

    # A conversation the endpoint says is too long ends the episode instead.
    policy = OpenAIChatPolicy("m", f"{misbehaving}/toolong", max_retries=0)
    result = run_episode(env, policy, seed=0)
    assert result.steps == 1 and not result.truncated and policy.context_overflows == 1


def test_policy_specs(tiny_dir, tmp_path, monkeypatch):
    policy = policy_spec_factory("openai:some-model@http://127.0.0.1:9/v1/")()
    assert isinstance(policy, OpenAIChatPolicy) and policy.endpoint.url == "http://127.0.0.1:9/v1/chat/completions"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:1234/v1")
    assert policy_spec_factory("openai:m")().endpoint.base_url == "http://localhost:1234/v1"
    for spec, words in {"openai:@http://x/v1": "name the model", "openai:m@ftp://x": "http",
                        f"hf:{tmp_path}/none": "no model directory", "hf:": "no model directory"}.items():
        with pytest.raises(ValueError, match=words):
            policy_spec_factory(spec)
    # A model directory's rods.json sets up its policy; a bad one is refused before anything loads.
    (tmp_path / "config.json").write_text("{}")
    for settings, words in {'{"reply_tool": "yes"}': "reply_tool must be true or false",
                            '{"max_new_tokens": 0}': "max_new_tokens must be", '[1]': "JSON object",
                            '{"temperature": -1}': "temperature must be", "{oops": "not valid JSON"}.items():
        (tmp_path / "rods.json").write_text(settings)
        with pytest.raises(ValueError, match=words):
            policy_spec_factory(f"hf:{tmp_path}")
    (tiny_dir / "rods.json").write_text('{"reply_tool": true, "max_new_tokens": 7, "temperature": 0.5, "note": 1}')
    try:
        policy = policy_spec_factory(f"hf:{tiny_dir}")()
    finally:
        (tiny_dir / "rods.json").unlink()
    assert (policy.reply_tool, policy.max_new_tokens, policy.temperature) == (True, 7, 0.5)

    # The reply tool a hosted model sees is the one the tiny model is trained with.
    trained = lm_tool_schemas([], reply_tool=True)[0]["function"]
    light = reply_tool_schema()["function"]
    assert (light["name"], light["description"], light["parameters"]["properties"]) == \
        (trained["name"], trained["description"], trained["parameters"]["properties"])


# -- rods eval --------------------------------------------------------------------------------------

def test_rods_eval_runs_a_local_model_directory(silent_dir, tmp_path, capsys):
    out = tmp_path / "results.json"
    argv = ["eval", "--policy", f"hf:{silent_dir}", "--split", "test", "--domain", "retail", "--no-progress"]
    assert main(argv + ["--out", str(out)]) == 0
    results = json.loads(out.read_text())
    tasks = rods_envs.load_suite("rods-v1").split("test", domain="retail")
    assert len(results["episodes"]) == len(tasks)
    assert results["policy"]["metadata"]["kind"] == "hf" and results["policy"]["metadata"]["reply_tool"] is False
    assert results["policy"]["model"] == str(silent_dir)
    turns = {t.id: len(t.turns) for t in tasks}
    # The model ends each turn at once, so an episode takes one step per turn (and passes none).
    assert all(e["steps"] == turns[e["task_id"]] and e["progress"] == 0 for e in results["episodes"])
    assert "pass^1" in capsys.readouterr().out

    (silent_dir / "rods.json").write_text("{not json")
    try:
        assert main(argv) == 2
    finally:
        (silent_dir / "rods.json").unlink()
    for spec in (f"hf:{tmp_path}/missing", "openai:@http://x", "openai:m@ftp://host"):
        assert main(["eval", "--policy", spec, "--no-progress"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 4 and all(line.startswith("rods eval: error:") for line in errors)
