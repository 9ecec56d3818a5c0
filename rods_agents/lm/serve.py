"""An OpenAI-compatible chat server for a local transformers model (standard library HTTP).

    rods serve --model runs/tiny/final --port 8000
    rods eval --policy openai:tiny@http://127.0.0.1:8000/v1 --split test

``POST /v1/chat/completions`` takes ``messages``, ``tools`` (OpenAI function format),
``temperature``, ``max_tokens`` (or ``max_completion_tokens``; default ``--max-tokens``) and
``seed``, renders them with the model's chat template, generates, and answers a chat
completion: the model's tool calls as
``tool_calls`` (arguments as JSON strings, each with an id; ``finish_reason`` "tool_calls"), or
its text (``finish_reason`` "stop", or "length" when ``max_tokens`` ran out), with token
``usage``. ``GET /v1/models`` lists the one model. A bad request gets a 400 with an OpenAI-style
JSON error body (a conversation longer than the model's context: ``context_length_exceeded``);
nothing a client sends stops the server. One lock serialises generation, so concurrent clients
queue rather than share the model.

``serve(...)`` returns the server unstarted, so a test can run ``serve_forever`` in a thread on
port 0 (``server.url`` says where it listens).
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .policies import LocalChatModel, seed_generator, text_outside_calls

MAX_BODY_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_TOKENS = 256
ROLES = {"system", "developer", "user", "assistant", "tool"}


class BadRequest(ValueError):
    def __init__(self, message: str, code: str = "invalid_request_error", param: str | None = None):
        super().__init__(message)
        self.code, self.param = code, param


# -- requests into chat-template messages ----------------------------------------------------------

def _text(content, where: str) -> str:
    """A message's content as text: a string, null, or OpenAI's list of text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise BadRequest(f"{where}: only text content parts are supported", param="messages")
            parts.append(part["text"])
        return "".join(parts)
    raise BadRequest(f"{where}: content must be a string, null or a list of text parts", param="messages")


def _template_call(call, where: str) -> dict:
    """An OpenAI tool call as chat templates read it: ``arguments`` as a dict, not a JSON string."""
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise BadRequest(f"{where}: each tool call needs a function with a name", param="messages")
    arguments = function.get("arguments", "{}")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            pass     # kept as the string the model wrote; the template shows it as it was
    return {"id": str(call.get("id", "")), "type": "function",
            "function": {"name": function["name"], "arguments": arguments}}


def template_messages(messages) -> list[dict]:
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty list", param="messages")
    out = []
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise BadRequest(f"{where} must be an object whose role is one of {', '.join(sorted(ROLES))}",
                             param="messages")
        role = "system" if m["role"] == "developer" else m["role"]
        message = {"role": role, "content": _text(m.get("content"), where)}
        if role == "assistant" and m.get("tool_calls"):
            if not isinstance(m["tool_calls"], list):
                raise BadRequest(f"{where}: tool_calls must be a list", param="messages")
            message["tool_calls"] = [_template_call(c, where) for c in m["tool_calls"]]
        if role == "tool":
            for key in ("tool_call_id", "name"):
                if isinstance(m.get(key), str):
                    message[key] = m[key]
        out.append(message)
    return out


def _tools(tools) -> list[dict] | None:
    if tools is None:
        return None
    if not isinstance(tools, list) or not all(
            isinstance(t, dict) and isinstance(t.get("function"), dict) and isinstance(t["function"].get("name"), str)
            for t in tools):
        raise BadRequest("'tools' must be a list of {\"type\": \"function\", \"function\": {\"name\": ...}}",
                         param="tools")
    return tools or None


def _number(body: dict, key: str, default, low, high, integer: bool = False):
    value = body.get(key)
    if value is None:
        return default
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
        raise BadRequest(f"'{key}' must be {'an integer' if integer else 'a number'} from {low} to {high}", param=key)
    return value


# -- the server ------------------------------------------------------------------------------------

class ChatServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, chat: LocalChatModel, name: str, quiet: bool = True,
                 max_tokens: int = DEFAULT_MAX_TOKENS):
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, not {max_tokens}")
        self.chat, self.model_name, self.quiet, self.max_tokens = chat, name, quiet, max_tokens
        self.lock, self._stats_lock = threading.Lock(), threading.Lock()
        self.completions = 0     # answered chat requests
        self.created = int(time.time())
        super().__init__(address, ChatHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1"

    def complete(self, body) -> dict:
        """A chat completion for a parsed request body (``BadRequest`` when it is not one)."""
        if not isinstance(body, dict):
            raise BadRequest("the request body must be a JSON object")
        if body.get("stream"):
            raise BadRequest("streaming is not supported; leave 'stream' false", param="stream")
        if body.get("n", 1) != 1:
            raise BadRequest("only n = 1 is supported", param="n")
        messages, tools = template_messages(body.get("messages")), _tools(body.get("tools"))
        temperature = float(_number(body, "temperature", 0.0, 0, 2))
        max_tokens = _number(body, "max_completion_tokens", None, 1, 1_000_000, integer=True)
        max_tokens = _number(body, "max_tokens", max_tokens or self.max_tokens, 1, 1_000_000, integer=True)
        seed = _number(body, "seed", None, -2**63, 2**64 - 1, integer=True)
        with self.lock:
            prompt = self.chat.render(messages, tools)
            room = self.chat.room(prompt, max_tokens)
            if room < 1:
                raise BadRequest(f"this model's maximum context length is {self.chat.max_positions} tokens; "
                                 f"the messages take {len(prompt)}", code="context_length_exceeded",
                                 param="messages")
            new_ids, finish = self.chat.generate(prompt, room, temperature, self._generator(seed))
            text, calls = self.chat.parse(new_ids, prompt)
        with self._stats_lock:
            self.completions += 1
        message = {"role": "assistant", "content": text}
        if calls:
            message = {"role": "assistant", "content": text_outside_calls(text) or None, "tool_calls": [
                {"id": f"call_{secrets.token_hex(6)}", "type": "function",
                 "function": {"name": c["name"], "arguments": json.dumps(c["arguments"], ensure_ascii=False)}}
                for c in calls]}
            finish = "tool_calls"
        return {"id": f"chatcmpl-{secrets.token_hex(8)}", "object": "chat.completion", "created": int(time.time()),
                "model": self.model_name,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {"prompt_tokens": len(prompt), "completion_tokens": len(new_ids),
                          "total_tokens": len(prompt) + len(new_ids)}}

    def _generator(self, seed):
        import torch

        return seed_generator(torch.Generator(device=self.chat.device), seed)

    def models(self) -> dict:
        return {"object": "list", "data": [{"id": self.model_name, "object": "model", "created": self.created,
                                            "owned_by": "rods"}]}


class ChatHandler(BaseHTTPRequestHandler):
    server: ChatServer
    protocol_version = "HTTP/1.1"
    timeout = 120            # seconds a client may take to send its request; a stalled one is dropped

    def do_GET(self):
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            return self._reply(HTTPStatus.OK, self.server.models())
        self._error(HTTPStatus.NOT_FOUND, f"no route GET {self.path}; try GET /v1/models", "not_found")

    def do_POST(self):
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._drain()
            return self._error(HTTPStatus.NOT_FOUND, f"no route POST {self.path}; try POST /v1/chat/completions",
                               "not_found")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self._error(HTTPStatus.LENGTH_REQUIRED, "a Content-Length header is required", close=True)
        if not 0 <= length <= MAX_BODY_BYTES:
            return self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                               f"the request body may be at most {MAX_BODY_BYTES} bytes", close=True)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            return self._error(HTTPStatus.BAD_REQUEST, f"the request body is not valid JSON: {exc}")
        try:
            reply = self.server.complete(body)
        except BadRequest as exc:
            return self._error(HTTPStatus.BAD_REQUEST, str(exc), exc.code, exc.param)
        except ValueError as exc:    # a conversation the chat template cannot render
            return self._error(HTTPStatus.BAD_REQUEST, str(exc))
        except Exception as exc:     # the model failed: report it, keep serving
            return self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"generation failed: {type(exc).__name__}: {exc}",
                               "server_error")
        self._reply(HTTPStatus.OK, reply)

    def _drain(self) -> None:
        try:
            length = min(int(self.headers.get("Content-Length", "0")), MAX_BODY_BYTES)
        except ValueError:
            length = 0
        self.rfile.read(length)

    def _error(self, status: HTTPStatus, message: str, code: str = "invalid_request_error",
               param: str | None = None, close: bool = False) -> None:
        if close:
            self.close_connection = True
        self._reply(status, {"error": {"message": message, "type": "invalid_request_error"
                                       if status < 500 else "server_error", "param": param, "code": code}})

    def _reply(self, status: HTTPStatus, payload: dict) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        if not self.server.quiet:
            sys.stderr.write(f"rods serve: {self.address_string()} {format % args}\n")


def serve(model_or_path, host: str = "127.0.0.1", port: int = 8000, tokenizer=None, name: str | None = None,
          device=None, quiet: bool = True, max_tokens: int = DEFAULT_MAX_TOKENS) -> ChatServer:
    """A server for ``model_or_path`` (a transformers model object, with ``tokenizer``, or a
    local model directory), bound to ``host:port`` but not yet serving: call ``serve_forever()``.
    ``name`` is the model id clients use (default: the directory's name); ``max_tokens`` caps a
    completion whose request sets no limit."""
    if isinstance(model_or_path, LocalChatModel):
        chat = model_or_path
    else:
        chat = LocalChatModel(model_or_path, tokenizer, device)
    return ChatServer((host, port), chat, name or Path(chat.name).name or chat.name, quiet, max_tokens)


def cmd_serve(args) -> int:
    server = serve(args.model, args.host, args.port, name=args.name, device=args.device, quiet=args.quiet,
                   max_tokens=args.max_tokens)
    print(f"rods serve: {server.model_name} on {server.chat.device} at {server.url} (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def add_parser(subparsers) -> None:
    sv = subparsers.add_parser("serve", help="serve a local model over an OpenAI-compatible chat API")
    sv.add_argument("--model", required=True, help="a local model directory (save_pretrained or `rods train` output)")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    sv.add_argument("--port", type=int, default=8000, help="port (default: %(default)s; 0 picks a free one)")
    sv.add_argument("--name", help="the model id clients name (default: the directory's name)")
    sv.add_argument("--device", help="cuda, mps or cpu (default: the best one available)")
    sv.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS,
                    help="new tokens per completion when a request sets no max_tokens (default: %(default)s)")
    sv.add_argument("--quiet", action="store_true", help="do not log each request")
    sv.set_defaults(run=cmd_serve)
