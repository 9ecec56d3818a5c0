"""Language models as rods policies: a local transformers model, or any OpenAI-compatible endpoint.

    policy = HFPolicy("runs/tiny/final", reply_tool=True)          # or HFPolicy(model, tokenizer)
    policy = OpenAIChatPolicy("gpt-4o-mini", "https://api.openai.com/v1")
    result = run_episode(gym.make("rods/Retail-v0", split="test"), policy, seed=0)

Both keep the chat history of the episode and follow the rods policy protocol (``reset(info)``,
``act(observation, info)``, ``seed(int)``, a ``metadata`` dict), so ``rods eval`` runs them as
``hf:DIR`` and ``openai:MODEL@BASE_URL`` (see ``policy_spec_factory``).

With ``reply_tool=True`` a policy speaks the protocol of ``trl_env``: the model gets one more tool,
``reply_to_user(message)``; calling it sends the message to the user (the end of its turn, or a
question), and what the user says next comes back as that tool's result. Without it the model
answers the user in plain text and the user's words arrive as user messages.

``HFPolicy`` renders the history exactly as ``conversation.gold_conversation`` writes it (tool
calls with dict arguments, tool results with their tool's name), so a model warm-started on gold
conversations reads at evaluation time the text it was trained on. Its generation is greedy by
default; with ``temperature > 0`` it samples with a ``torch.Generator`` that ``seed()`` reseeds,
so an episode is a function of its seed. Nothing here downloads: a model is an object or a local
directory.
"""

from __future__ import annotations

import http.client
import inspect
import json
import os
import re
import socket
import time
import urllib.error
import urllib.request
from functools import partial
from pathlib import Path

from rods_envs.actions import parse_action
from rods_envs.env import GIVE_UP

from .conversation import system_prompt, user_words

REPLY_TOOL = "reply_to_user"
SETTINGS_FILE = "rods.json"      # next to a model: {"reply_tool": true}, as `rods train` writes it
MIN_NEW_TOKENS = 16              # below this much room left in the context, the episode ends
_BLOCK = re.compile(r"<tool_call>.*?</tool_call>", re.DOTALL)
_NO_REPLY = object()


def reply_tool_schema() -> dict:
    """``reply_to_user`` in OpenAI function format, described by ``RodsToolEnv.reply_to_user``'s
    docstring (no transformers needed, so a hosted model's policy stays light)."""
    from .trl_env import RodsToolEnv

    doc = RodsToolEnv.reply_to_user.__doc__
    summary = " ".join(doc.split("\n\n")[0].split())
    argument = re.search(r"message:\s*(.+)", doc)
    return {"type": "function", "function": {
        "name": REPLY_TOOL, "description": summary,
        "parameters": {"type": "object", "required": ["message"], "properties": {
            "message": {"type": "string", "description": argument.group(1).strip() if argument else "message"}}}}}


def _reply_text(arguments) -> str:
    """The message of a ``reply_to_user`` call, whatever shape its arguments came in."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return arguments
    if isinstance(arguments, dict) and "message" in arguments:
        return str(arguments["message"])
    return "" if arguments in (None, {}) else json.dumps(arguments, ensure_ascii=False)


class ChatPolicy:
    """The episode's chat history and the ``reply_to_user`` protocol, shared by both policies.
    A subclass writes ``respond(info)``: it appends the model's message to ``self.messages`` and
    returns the calls (``{"id", "name", "arguments"}``) it made, or its text."""

    reply_tool = False

    def reset(self, info: dict | None = None) -> None:
        self.messages: list[dict] | None = None     # built on the first act, from its info
        self._queue: list[dict] = []                # actions the model's last message still owes the env
        self._reply_id = _NO_REPLY                  # the reply_to_user call the env's next words answer

    def act(self, observation, info: dict):
        if getattr(self, "messages", None) is None:
            self.reset()
            self.messages = [{"role": "system", "content": system_prompt(info.get("domain", ""), self.reply_tool)}]
        self._receive(info.get("messages") or [])
        if not self._queue:
            self._queue = self._plan(self.respond(info))
        return self._send(self._queue.pop(0))

    # -- what the env said ------------------------------------------------------------------------
    def _receive(self, new: list[dict]) -> None:
        if self._reply_id is not _NO_REPLY:
            said = user_words(new)
            if said:   # the user's answer is the result of the reply_to_user call, as in trl_env
                self.messages.append(self.tool_result(REPLY_TOOL, self._reply_id, said))
            self._reply_id = _NO_REPLY
            return
        for m in new:
            role, content = m.get("role"), str(m.get("content", ""))
            if role == "tool":
                self.messages.append(self.tool_result(m.get("name", ""), m.get("tool_call_id"), content))
            else:
                if role == "system":   # an error notice: many templates refuse a late system message
                    self._unanswered_calls_to_text()
                self.messages.append({"role": "user", "content": content})

    def _unanswered_calls_to_text(self) -> None:
        """The env refused the last message as a whole: keep its calls as text, so the history
        has no call without a result (which chat APIs reject)."""
        last = self.messages[-1]
        if last["role"] == "assistant" and last.get("tool_calls"):
            calls = [c.get("function", c) for c in last["tool_calls"]]
            self.messages[-1] = {"role": "assistant",
                                 "content": (last.get("content") or "") + json.dumps(calls, ensure_ascii=False)}

    # -- what to send the env ---------------------------------------------------------------------
    def _plan(self, response) -> list[dict]:
        """One env action per run of tool calls, and one per reply_to_user call, in order."""
        if isinstance(response, str):
            return [{"text": response}]
        plan, batch = [], []
        for call in response:
            if self.reply_tool and call["name"] == REPLY_TOOL:
                if batch:
                    plan.append({"calls": batch})
                    batch = []
                plan.append({"reply": _reply_text(call["arguments"]), "id": call.get("id")})
            else:
                batch.append(call)
        return plan + ([{"calls": batch}] if batch else [])

    def _send(self, step: dict):
        if "calls" in step:
            return {"role": "assistant", "content": "", "tool_calls": [
                {**({"id": c["id"]} if c.get("id") else {}), "type": "function",
                 "function": {"name": c["name"], "arguments": c["arguments"]}} for c in step["calls"]]}
        if "reply" in step:
            self._reply_id = step["id"]
            return step["reply"]
        return step["text"]

    def respond(self, info: dict):
        raise NotImplementedError

    def tool_result(self, name: str, call_id, content: str) -> dict:
        raise NotImplementedError


# -- a local transformers model ---------------------------------------------------------------------

def pick_device(device=None):
    """``device`` if given, else cuda, then mps, then cpu."""
    import torch

    if device is not None:
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_generator(generator, seed: int | None):
    """``generator`` (a torch.Generator) seeded with ``seed`` taken to 64 bits, or from the OS."""
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(int(seed) & 0xFFFF_FFFF_FFFF_FFFF)
    return generator


def load_local(path):
    """``(model, tokenizer)`` from a local directory; never a download."""
    from .tiny import load_pretrained

    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"no model directory at {path} (models are loaded from local directories only)")
    return load_pretrained(path)


class LocalChatModel:
    """A transformers causal LM and its tokenizer as a chat model: render a conversation with the
    tokenizer's chat template, generate, and parse the tool calls out of the result.
    ``HFPolicy`` and ``rods serve`` share it."""

    def __init__(self, model, tokenizer=None, device=None):
        if isinstance(model, (str, os.PathLike)):
            self.name = str(model)
            model, loaded_tokenizer = load_local(model)
            tokenizer = loaded_tokenizer if tokenizer is None else tokenizer
        else:
            self.name = str(getattr(model, "name_or_path", "") or type(model).__name__)
        if tokenizer is None:
            source = getattr(model, "name_or_path", "")
            if not source or not Path(source).is_dir():
                raise ValueError("pass the tokenizer with the model (or a model directory that holds both)")
            from .tiny import load_tokenizer
            tokenizer = load_tokenizer(source)
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError(f"the tokenizer of {self.name} has no chat template, so it cannot render a conversation")
        if getattr(model, "hf_device_map", None) and device is None:
            self.device = next(model.parameters()).device      # already placed by accelerate: leave it
        else:
            self.device = pick_device(device)
            model = model.to(self.device)
        self.model, self.tokenizer = model.eval(), tokenizer
        self._forward_params = set(inspect.signature(model.forward).parameters)
        self._cache_name = "cache" if "cache" in self._forward_params else "past_key_values"
        self.stop_ids = self._stop_ids()

    def _step_args(self, cache) -> dict:
        """The KV cache under the name this transformers version uses, and logits for the last
        position only where the model can skip the rest."""
        args = {self._cache_name: cache} if cache is not None else {}
        if "logits_to_keep" in self._forward_params:
            args["logits_to_keep"] = 1
        return args

    def _stop_ids(self) -> set[int]:
        ids = set()
        for source in (getattr(self.model, "generation_config", None), self.tokenizer):
            eos = getattr(source, "eos_token_id", None)
            ids.update(eos if isinstance(eos, (list, tuple)) else [eos] if eos is not None else [])
        return ids

    @property
    def max_positions(self) -> int | None:
        limit = getattr(self.model.config, "max_position_embeddings", None)
        if not limit:
            limit = getattr(self.tokenizer, "model_max_length", None)
        return int(limit) if limit and limit < 10**7 else None

    def render(self, messages: list[dict], tools: list[dict] | None) -> list[int]:
        """The prompt's token ids, ending where the assistant's next message begins."""
        try:
            encoded = self.tokenizer.apply_chat_template(messages, tools=tools or None, add_generation_prompt=True,
                                                         tokenize=True, return_dict=True)
        except Exception as exc:   # jinja's errors, a template's raise_exception, bad message shapes
            raise ValueError(f"the chat template of {self.name} cannot render this conversation: "
                             f"{' '.join(str(exc).split())[:300]}") from None
        return list(encoded["input_ids"])

    def room(self, prompt_ids: list[int], wanted: int) -> int:
        """How many new tokens fit after the prompt (at most ``wanted``)."""
        limit = self.max_positions
        return wanted if limit is None else max(0, min(wanted, limit - len(prompt_ids)))

    def generate(self, prompt_ids: list[int], max_new_tokens: int, temperature: float = 0.0,
                 generator=None) -> tuple[list[int], str]:
        """New token ids and why generation stopped ("stop" at an end token, or "length").
        Greedy at temperature 0; else sampled with ``generator`` alone (no global RNG)."""
        import torch

        ids = torch.tensor([prompt_ids], device=self.device)
        new, cache = [], None
        with torch.inference_mode():
            for _ in range(max_new_tokens):
                out = self.model(input_ids=ids, use_cache=True, **self._step_args(cache))
                cache = out[self._cache_name] if self._cache_name in out.keys() else None
                logits = out.logits[0, -1].float()
                if temperature > 0:
                    probs = torch.softmax(logits / temperature, dim=-1)
                    token = int(torch.multinomial(probs, 1, generator=generator))
                else:
                    token = int(torch.argmax(logits))
                if token in self.stop_ids:
                    return new, "stop"
                new.append(token)
                # With a KV cache only the new token goes in; a model without one rereads it all.
                ids = torch.tensor([[token]] if cache is not None else [prompt_ids + new], device=self.device)
        return new, "length"

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def parse(self, new_ids: list[int], prompt_ids: list[int]) -> tuple[str, list[dict] | None]:
        """``(text, calls)``: the decoded text and its tool calls (``{"name", "arguments"}`` with
        dict arguments), an empty list for plain text, or None when the calls are malformed.
        A tokenizer with a response template parses with it; the rest by ``<tool_call>`` blocks."""
        text = self.decode(new_ids)
        message = None
        if getattr(self.tokenizer, "response_template", None) is not None:
            try:
                message = self.tokenizer.parse_response(new_ids, prefix=prompt_ids)
            except Exception:   # the template's parser refused the text: fall back to our own
                message = None
        if isinstance(message, dict) and message.get("tool_calls"):
            action = parse_action({"role": "assistant", "tool_calls": message["tool_calls"]}, lambda: "")
        else:
            action = parse_action(text, lambda: "")
        if action.error is not None or any(c.error for c in action.calls):
            return text, None
        return text, [{"name": c.name, "arguments": c.arguments} for c in action.calls]


def text_outside_calls(text: str) -> str:
    return _BLOCK.sub("", text).strip()


class HFPolicy(ChatPolicy):
    """A transformers causal LM (an object, or a local directory with model and tokenizer) as a
    rods policy.

    Each step renders the episode so far with the tokenizer's chat template and the domain's
    tools (``tools.lm_tool_schemas``), generates up to ``max_new_tokens``, and sends the env the
    model's tool calls (an assistant message) or its text. Output that does not parse goes to
    the env as raw text, which answers it with an error notice. When the conversation no longer
    leaves ``MIN_NEW_TOKENS`` of room in the model's context, the policy gives up
    (``###STOP###``), which ends the episode; ``context_overflows`` counts such episodes.
    """

    def __init__(self, model, tokenizer=None, reply_tool: bool = False, max_new_tokens: int = 256,
                 temperature: float = 0.0, seed: int | None = None, device=None):
        import torch

        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, not {max_new_tokens}")
        if not temperature >= 0:
            raise ValueError(f"temperature must be 0 (greedy) or more, not {temperature}")
        self.chat = LocalChatModel(model, tokenizer, device)
        self.reply_tool, self.max_new_tokens, self.temperature = reply_tool, max_new_tokens, float(temperature)
        self.generator = torch.Generator(device=self.chat.device)
        self.seed(seed)
        self.context_overflows = 0
        self._schemas: dict[tuple, list[dict]] = {}
        self.metadata = {"kind": "hf", "model": self.chat.name, "reply_tool": reply_tool,
                         "temperature": self.temperature, "max_new_tokens": max_new_tokens,
                         "device": str(self.chat.device)}
        self.reset()

    def seed(self, seed: int | None) -> None:
        seed_generator(self.generator, seed)

    def tool_schemas(self, env_tools: list[dict]) -> list[dict]:
        """The tools as the model was trained to see them (cached: they are the same every step)."""
        from .tools import lm_tool_schemas

        key = tuple(json.dumps(t, sort_keys=True) for t in env_tools)
        if key not in self._schemas:
            self._schemas[key] = lm_tool_schemas(env_tools, self.reply_tool)
        return self._schemas[key]

    def prompt_ids(self, info: dict) -> list[int]:
        return self.chat.render(self.messages, self.tool_schemas(info.get("tools") or []))

    def respond(self, info: dict):
        prompt = self.prompt_ids(info)
        room = self.chat.room(prompt, self.max_new_tokens)
        if room < min(MIN_NEW_TOKENS, self.max_new_tokens):
            self.context_overflows += 1
            self.messages.append({"role": "assistant", "content": GIVE_UP})
            return GIVE_UP
        new_ids, _ = self.chat.generate(prompt, room, self.temperature, self.generator)
        text, calls = self.chat.parse(new_ids, prompt)
        if calls:   # the form gold_conversation writes: empty content, dict arguments, no ids
            self.messages.append({"role": "assistant", "content": text_outside_calls(text), "tool_calls": [
                {"type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}} for c in calls]})
            return calls
        self.messages.append({"role": "assistant", "content": text})
        return text

    def tool_result(self, name: str, call_id, content: str) -> dict:
        return {"role": "tool", "name": name, "content": content}


# -- an OpenAI-compatible chat endpoint -------------------------------------------------------------

class EndpointError(OSError):
    """A chat endpoint that cannot be used: unreachable, refusing, or answering nonsense."""


class ChatEndpoint:
    """``POST {base_url}/chat/completions`` with the standard library alone."""

    RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 60,
                 max_retries: int = 2, retry_wait: float = 1.0):
        url = base_url.rstrip("/")
        url = url[: -len("/chat/completions")] if url.endswith("/chat/completions") else url
        if not re.match(r"https?://[^/\s]+", url):
            raise ValueError(f"the base URL must start with http:// or https://, not {base_url!r}")
        if max_retries < 0 or not timeout > 0:
            raise ValueError("max_retries must be 0 or more and timeout more than 0")
        self.base_url, self.timeout, self.max_retries, self.retry_wait = url, timeout, max_retries, retry_wait
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")

    @property
    def url(self) -> str:
        return self.base_url + "/chat/completions"

    def complete(self, payload: dict) -> dict:
        """The parsed JSON reply; retried on timeouts, lost connections, 429 and 5xx."""
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "rods"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        problem = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self.retry_wait * 2 ** (attempt - 1))
            request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    raw = response.read()
            except urllib.error.HTTPError as exc:
                detail = _error_detail(exc)
                if exc.code == 400 and "context_length_exceeded" in detail:
                    raise ContextTooLong(detail) from None
                problem = f"HTTP {exc.code} from {self.url}: {detail}"
                if exc.code not in self.RETRY_STATUS:
                    raise EndpointError(problem) from None
                continue
            except (TimeoutError, socket.timeout):
                problem = f"no reply from {self.url} within {self.timeout:g} s"
                continue
            except (OSError, http.client.HTTPException) as exc:   # refused, reset, cut short
                reason = getattr(exc, "reason", exc)
                problem = (f"no reply from {self.url} within {self.timeout:g} s" if isinstance(reason, TimeoutError)
                           else f"cannot reach {self.url}: {reason or type(exc).__name__}")
                continue
            return _json_reply(raw, self.url)
        tries = self.max_retries + 1
        raise EndpointError(f"{problem} (tried {tries} time{'s' if tries > 1 else ''})")


class ContextTooLong(EndpointError):
    """The endpoint says the conversation no longer fits the model's context."""


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        raw = exc.read()[:2000].decode("utf-8", "replace")
    except Exception:
        raw = ""
    try:
        error = json.loads(raw).get("error")
        if isinstance(error, dict):
            code = error.get("code") or error.get("type")
            return f"{error.get('message', '')}" + (f" ({code})" if code else "")
        if isinstance(error, str):
            return error
    except (ValueError, AttributeError):
        pass
    return " ".join(raw.split())[:200] or exc.reason or "no details"


def _json_reply(raw: bytes, url: str) -> dict:
    try:
        reply = json.loads(raw)
    except ValueError:
        text = " ".join(raw[:200].decode("utf-8", "replace").split())
        raise EndpointError(f"{url} did not answer with JSON: {text!r}") from None
    try:
        message = reply["choices"][0]["message"]
        if not isinstance(message, dict):
            raise TypeError
    except (KeyError, IndexError, TypeError):
        raise EndpointError(f"{url} answered JSON without choices[0].message: {str(reply)[:200]!r}") from None
    return reply


class OpenAIChatPolicy(ChatPolicy):
    """Any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp, ``rods serve``...) as a rods
    policy: the model named ``model`` at ``base_url`` gets the episode's messages and the domain's
    tools in OpenAI function format; its assistant message (with ``tool_calls``) goes to the env
    as it is, and the env's tool results come back with their ``tool_call_id``.

    The key comes from ``api_key`` or ``OPENAI_API_KEY`` (none is needed on loopback). Timeouts,
    lost connections, 429 and 5xx are retried ``max_retries`` times with exponential waits; then,
    as for any other HTTP error or a reply that is not a chat completion, ``EndpointError`` says
    what went wrong in one line. An endpoint that reports ``context_length_exceeded`` ends the
    episode (``###STOP###``) instead.
    """

    def __init__(self, model: str, base_url: str, api_key: str | None = None, temperature: float = 0.0,
                 timeout: float = 60, max_retries: int = 2, reply_tool: bool = False,
                 max_tokens: int | None = None, retry_wait: float = 1.0):
        if not isinstance(model, str) or not model:
            raise ValueError("the model name must be a non-empty string")
        if not temperature >= 0:
            raise ValueError(f"temperature must be 0 or more, not {temperature}")
        self.endpoint = ChatEndpoint(base_url, api_key, timeout, max_retries, retry_wait)
        self.model, self.temperature, self.reply_tool = model, float(temperature), reply_tool
        self.max_tokens = max_tokens
        self._seed: int | None = None
        self.requests = self.context_overflows = 0
        shown_url = re.sub(r"//[^/@]*@", "//", self.endpoint.base_url)     # no user:password in results
        self.metadata = {"kind": "openai", "model": model, "base_url": shown_url,
                         "temperature": self.temperature, "reply_tool": reply_tool}
        self.reset()

    def seed(self, seed: int | None) -> None:
        self._seed = seed

    def tool_schemas(self, env_tools: list[dict]) -> list[dict]:
        return list(env_tools) + ([reply_tool_schema()] if self.reply_tool else [])

    def respond(self, info: dict):
        payload = {"model": self.model, "messages": self.messages, "temperature": self.temperature}
        tools = self.tool_schemas(info.get("tools") or [])
        if tools:
            payload["tools"] = tools
        if self.max_tokens:
            payload["max_tokens"] = self.max_tokens
        if self._seed is not None and self.temperature > 0:
            payload["seed"] = self._seed
        self.requests += 1
        try:
            reply = self.endpoint.complete(payload)
        except ContextTooLong:
            self.context_overflows += 1
            self.messages.append({"role": "assistant", "content": GIVE_UP})
            return GIVE_UP
        message = reply["choices"][0]["message"]
        content = message.get("content")
        content = content if isinstance(content, str) else ""
        raw_calls = message.get("tool_calls")
        if not raw_calls or not isinstance(raw_calls, list):
            raw_calls = self._calls_in_text(content)
            if not raw_calls:
                self.messages.append({"role": "assistant", "content": content})
                return content
            content = text_outside_calls(content)
        calls = [self._call(raw, n) for n, raw in enumerate(raw_calls)]
        self.messages.append({"role": "assistant", "content": content, "tool_calls": [
            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in calls]})
        return calls

    def _call(self, raw, n: int) -> dict:
        """One of the reply's tool calls, with an id and JSON-string arguments whatever came."""
        raw = raw if isinstance(raw, dict) else {}
        function = raw.get("function") if isinstance(raw.get("function"), dict) else raw
        arguments = function.get("arguments", "{}")
        return {"id": str(raw.get("id") or f"call_{self.requests}_{n}"), "name": str(function.get("name") or ""),
                "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)}

    @staticmethod
    def _calls_in_text(content: str) -> list[dict]:
        """Calls written in the text, from an endpoint that does not parse tool calls itself
        (the env would run them anyway); only when every one of them is well-formed."""
        action = parse_action(content, lambda: "")
        if not action.calls or action.error is not None or any(c.error for c in action.calls):
            return []
        return [{"type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in action.calls]

    def tool_result(self, name: str, call_id, content: str) -> dict:
        last_calls = next((m.get("tool_calls") or [] for m in reversed(self.messages) if m["role"] == "assistant"), [])
        if call_id not in {c["id"] for c in last_calls}:
            # A result of a call written as text (one the env ran, but no API message holds):
            # as a tool message it would be refused, so the model reads it as a user message.
            return {"role": "user", "content": f"[{name} result] {content}"}
        return {"role": "tool", "tool_call_id": call_id, "content": content}


# -- policy specs for `rods eval` -------------------------------------------------------------------

def read_settings(directory: Path) -> dict:
    """A model directory's ``rods.json`` (how it was trained to talk), or {} when there is none."""
    path = directory / SETTINGS_FILE
    if not path.is_file():
        return {}
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(settings, dict):
        raise ValueError(f"{path} must hold a JSON object, such as {{\"reply_tool\": true}}")
    checks = {"reply_tool": (lambda v: isinstance(v, bool), "true or false"),
              "max_new_tokens": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
                                 "an integer of at least 1"),
              "temperature": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0,
                              "a number of at least 0")}
    for key, (valid, what) in checks.items():
        if key in settings and not valid(settings[key]):
            raise ValueError(f"{path}: {key} must be {what}, not {settings[key]!r}")
    return {key: settings[key] for key in checks if key in settings}


def hf_policy_from_dir(path: str) -> HFPolicy:
    """``HFPolicy`` on a model directory, set up by its ``rods.json`` (``reply_tool``, and
    optionally ``max_new_tokens`` and ``temperature``)."""
    directory = Path(path)
    return HFPolicy(directory, **read_settings(directory))


def policy_spec_factory(spec: str):
    """A zero-argument factory for ``hf:DIR`` or ``openai:MODEL@BASE_URL`` (``openai:MODEL``
    alone uses ``OPENAI_BASE_URL``, else OpenAI's own), checked now so a bad spec fails before
    any episode runs."""
    kind, _, rest = spec.partition(":")
    if kind == "hf":
        directory = Path(rest)
        if not rest or not (directory / "config.json").is_file():
            raise ValueError(f"--policy {spec}: no model directory at {rest or '(empty path)'} "
                             "(expected config.json, as save_pretrained or `rods train` write)")
        read_settings(directory)
        return partial(hf_policy_from_dir, rest)
    if kind == "openai":
        model, _, base_url = rest.partition("@")
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        if not model:
            raise ValueError(f"--policy {spec}: name the model, as in openai:MODEL@http://127.0.0.1:8000/v1")
        ChatEndpoint(base_url)    # validates the URL
        return partial(OpenAIChatPolicy, model, base_url)
    raise ValueError(f"unknown model policy kind {kind!r}; use hf:DIR or openai:MODEL@BASE_URL")
