"""StructuredActions: a fixed-size numeric view of a rods environment, for policies that are not
language models (a small torch policy, Stable-Baselines3's PPO).

### Action space
``MultiDiscrete([2 * n_tools + 1] + [K] * S)``: a *head*, then S slot indices (K = max_candidates,
S = the most parameters any tool has).

- ``head < n_tools``: call ``tool_names[head]``; slot j fills the tool's j-th parameter (schema
  order). An enum or boolean parameter indexes its values ([true, false] for booleans); any other
  parameter indexes the candidate list, coerced to the parameter's type. Index K-1 is "none":
  the parameter is left out.
- ``head == n_tools``: reply to the user (this ends the agent's turn), naming the values of the
  slots that are not "none".
- ``head == n_tools + 1 + a``: ask the user about parameter ``slot0`` of tool ``a`` ("Could you
  tell me the zip code?").

An invalid choice never raises: it becomes a call the environment answers with an error.

### Candidates
Values gathered from this episode's messages, most recent message first, de-duplicated, at most
K-1: spans of the user's messages (ids and codes, emails, paths and file names, dates, numbers,
network blocks, quoted and parenthesised phrases, capitalised names, and enum values of the
domain's tools that appear verbatim), and every scalar leaf of tool results (with its field name).

### Observation
``Box(0, 1, (D,), float32)``, see ``layout`` for the blocks: hashed words and bigrams of the
current user turn; hashed field names of the latest tool result; hashed words of the latest
error; per-candidate features; per-tool call and error counters for this turn; flags; turn
position; domain one-hot.

### Info
Adds ``action_mask`` (flat, per-dimension masks concatenated, the MaskablePPO convention),
``candidates`` (the current values) and ``action_text`` (the text sent to the environment).
"""

from __future__ import annotations

import json
import re
import zlib
from functools import lru_cache
from itertools import pairwise
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rods_envs.domains import DOMAINS

from .candidates import _joined_paths, _key, result_leaves, user_spans

_encode = json.JSONEncoder(ensure_ascii=False).encode


# -- hashing -------------------------------------------------------------------------------------
@lru_cache(maxsize=1 << 16)
def _bucket(token: str, salt: str, bins: int) -> int:
    """A stable hash bucket (crc32, not Python's salted ``hash``)."""
    return zlib.crc32(f"{salt}:{token}".encode()) % bins


_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _bag(tokens, salt: str, bins: int, out: np.ndarray) -> None:
    """Add a bag of ``tokens`` (counts, saturating at 4) into ``out``."""
    for tok in tokens:
        out[_bucket(tok, salt, bins)] += 0.25
    np.minimum(out, 1.0, out=out)


def _text_tokens(text: str) -> list[str]:
    w = _words(text)
    return w + [f"{a} {b}" for a, b in pairwise(w)]


# -- tools as slot tables --------------------------------------------------------------------------
# Words the scripted user may use for a parameter that its name does not say (a folder is a
# directory path; a word or line is the text to search or add).
_SYNONYMS = {"dir": "folder directory", "path": "file", "pattern": "word text", "text": "line text",
             "content": "content text", "query": "product name", "zip": "zip code",
             "cidr": "address range", "passenger": "passenger name", "name": "name"}


class _Param:
    __slots__ = ("choices", "kind", "name", "required", "words")

    def __init__(self, name: str, schema: dict, required: bool):
        self.name, self.required = name, required
        kind = schema.get("type")
        if "enum" in schema:
            self.kind, self.choices = "enum", list(schema["enum"])
        elif kind == "boolean":
            self.kind, self.choices = "enum", [True, False]
        else:
            self.kind = kind if kind in ("integer", "number", "string", "array") else "other"
            self.choices = None
        # The parameter in words, for a clarifying question.
        parts = name.split("_") + str(schema.get("x-semantic", "")).split("_")
        parts += [w for p in list(parts) for w in _SYNONYMS.get(p, "").split()]
        self.words = " ".join(dict.fromkeys(p for p in parts if p))

    def coerce(self, value: Any) -> Any:
        """A candidate value as this parameter's type (unchanged when it does not convert)."""
        if self.kind == "integer":
            return _as_int(value)
        if self.kind == "number":
            return _as_number(value)
        if self.kind == "string":
            return value if isinstance(value, str) else (_encode(value) if isinstance(value, bool) else str(value))
        if self.kind == "array":
            return value if isinstance(value, list) else [value]
        return value

    def accepts(self, value: Any) -> bool:
        """Can a candidate fill this parameter (before the tool's own checks)?"""
        if self.kind == "integer":
            return isinstance(_as_int(value), int) and not isinstance(value, (bool, list))
        if self.kind == "number":
            return isinstance(_as_number(value), (int, float)) and not isinstance(value, (bool, list))
        if self.kind == "string":
            return not isinstance(value, (bool, list))
        return True


def _as_int(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value.strip()):
        return int(value)
    return value


def _as_number(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return _as_int(value) if number.is_integer() and "." not in value else number
    return value


class _ToolTable:
    __slots__ = ("ask_mask", "call_mask", "candidate_rows", "name", "params")

    def __init__(self, tool):
        schema = tool.parameters
        required = set(schema.get("required", ()))
        self.name = tool.name
        self.params = [_Param(p, s, p in required) for p, s in schema.get("properties", {}).items()]


# -- per-candidate features ------------------------------------------------------------------------
FIELD_BINS, SIBLING_BINS, VALUE_BINS = 16, 8, 8
_STATIC = 7 + FIELD_BINS + SIBLING_BINS + VALUE_BINS   # source(2), type(5) + hashes
_DYNAMIC = 6                                              # present, rank, age, used, latest, this turn
CANDIDATE_FEATURES = _DYNAMIC + _STATIC


class _Candidate:
    __slots__ = ("batch", "key", "static", "step", "turn", "used", "value")

    def __init__(self, value, key, source: int, kind: str, siblings: tuple, step: int, turn: int):
        self.value, self.key, self.step, self.turn, self.used, self.batch = value, key, step, turn, False, 0
        f = np.zeros(_STATIC, np.float32)
        f[source] = 1.0
        f[2 + _type_index(value)] = 1.0
        f[7 + _bucket(kind, "field", FIELD_BINS)] = 1.0
        _bag([str(s) for s in siblings if s is not value][:8], "sib", SIBLING_BINS, f[7 + FIELD_BINS:7 + FIELD_BINS + SIBLING_BINS])
        _bag(_words(str(value))[:8], "val", VALUE_BINS, f[7 + FIELD_BINS + SIBLING_BINS:])
        self.static = f


def _type_index(value: Any) -> int:
    if isinstance(value, bool):
        return 3
    if isinstance(value, list):
        return 4
    if isinstance(value, (int, float)):
        return 1 if isinstance(value, int) else 2
    return 1 if isinstance(value, str) and value.isdigit() else 0


# -- the wrapper -----------------------------------------------------------------------------------
class StructuredActions(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Numeric observations and MultiDiscrete actions over a rods ``ToolUseEnv``.

    >>> import gymnasium as gym, rods_envs
    >>> env = StructuredActions(gym.make("rods/Files-v0"))
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape == env.observation_space.shape and info["action_mask"].dtype == bool
    True
    """

    def __init__(self, env: gym.Env, max_candidates: int = 32, text_dims: int = 256):
        gym.utils.RecordConstructorArgs.__init__(self, max_candidates=max_candidates, text_dims=text_dims)
        gym.Wrapper.__init__(self, env)
        base = env.unwrapped
        if not hasattr(base, "domains"):
            raise TypeError("StructuredActions wraps a rods ToolUseEnv (gym.make('rods/...'))")
        self.domain_tables = {name: {t.name: _ToolTable(t) for t in d.tools.values()}
                              for name, d in base.domains.items()}
        self.tool_names = sorted({t for tables in self.domain_tables.values() for t in tables})
        self.n_tools = len(self.tool_names)
        self._tool_index = {t: i for i, t in enumerate(self.tool_names)}
        # One table per tool name: the first domain that has it (a name shared by two domains
        # takes the current domain's table at step time).
        self._any_table = {}
        for tables in self.domain_tables.values():
            for t, table in tables.items():
                self._any_table.setdefault(t, table)
        self.max_slots = max(1, max(len(t.params) for t in self._any_table.values()))
        widest = max([len(p.choices) for t in self._any_table.values() for p in t.params if p.choices] + [0])
        if max_candidates < max(2, widest + 1, self.max_slots + 1):
            raise ValueError(f"max_candidates must be at least {max(2, widest + 1, self.max_slots + 1)} "
                             f"for these tools, got {max_candidates}")
        if text_dims < 1:
            raise ValueError(f"text_dims must be positive, got {text_dims}")
        self.K, self.S, self.text_dims = int(max_candidates), self.max_slots, int(text_dims)
        self.per_message = max(1, (2 * (self.K - 1)) // 3)   # most shown values from one message
        self.n_heads = 2 * self.n_tools + 1
        self.action_space = spaces.MultiDiscrete([self.n_heads] + [self.K] * self.S)
        self._enum_values = {name: tuple(sorted({str(c) for t in tables.values() for p in t.params
                                                 if p.kind == "enum" for c in p.choices if isinstance(c, str)}))
                             for name, tables in self.domain_tables.items()}
        self.domain_names = sorted(DOMAINS)
        # Nouns whose things have names (network_name -> "network"): the word beside one is a name.
        self._nouns = {name: frozenset(sem[:-5].replace("_", " ").split()[-1] for d in [base.domains[name]]
                                       for t in d.tools.values() for sch in t.parameters.get("properties", {}).values()
                                       for sem in [str(sch.get("x-semantic", ""))] if sem.endswith("_name"))
                       for name in self.domain_tables}
        sizes = [("text", self.text_dims), ("result_fields", 32), ("error_words", 32),
                 ("candidates", (self.K - 1) * CANDIDATE_FEATURES), ("tool_calls", self.n_tools),
                 ("tool_errors", self.n_tools), ("flags", 6), ("domain", len(self.domain_names))]
        self.layout: dict[str, slice] = {}
        at = 0
        for name, size in sizes:
            self.layout[name] = slice(at, at + size)
            at += size
        self.observation_space = spaces.Box(0.0, 1.0, (at,), np.float32)
        self._accept_cache = None
        self._build_masks()

    # -- Gymnasium API -----------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        _, info = self.env.reset(seed=seed, options=options)
        base = self.env.unwrapped
        self._domain = info.get("domain", base.domain.name)
        self._tables = self.domain_tables[self._domain]
        self._pool: list[_Candidate] = []          # most recent first, de-duplicated
        self._batches = 0
        self._shown: list[_Candidate] = []         # the K-1 the policy sees
        self._step = 0
        self._turn = info.get("turn", 0)
        self._turn_text: list[str] = []
        self._turn_spans: list[tuple[str, str]] = []
        self._said: set = set()                    # keys the user said or a call used, this turn
        self._text_vec = np.zeros(self.text_dims, np.float32)
        self._fields_vec = np.zeros(32, np.float32)
        self._error_vec = np.zeros(32, np.float32)
        self._latest: set = set()
        self._tool_calls = np.zeros(self.n_tools, np.float32)
        self._tool_errors = np.zeros(self.n_tools, np.float32)
        self._error = self._answered = 0.0
        self._num_turns = info.get("num_turns", 1)
        self._pending_tool: int | None = None
        self._absorb(info["messages"])
        return self._observe(), self._add_info(info, "")

    def step(self, action):
        head, slots = self._split(action)
        text = self._action_text(head, slots)
        _, reward, terminated, truncated, info = self.env.step(text)
        self._step += 1
        if info.get("turn", self._turn) != self._turn:
            self._new_turn(info["turn"])
        self._absorb(info["messages"])
        return self._observe(), reward, terminated, truncated, self._add_info(info, text)

    # -- the public tables ---------------------------------------------------------------------------
    def head_meaning(self, head: int) -> tuple[str, str | None]:
        head = int(head)
        if 0 <= head < self.n_tools:
            return ("call", self.tool_names[head])
        if head == self.n_tools:
            return ("reply", None)
        if self.n_tools < head < self.n_heads:
            return ("ask", self.tool_names[head - self.n_tools - 1])
        raise ValueError(f"head must be in [0, {self.n_heads}), got {head}")

    def head_mask(self) -> np.ndarray:
        """(2 * n_tools + 1,) bool: the heads that make sense in the current episode's domain."""
        return self._domain_masks[self._domain][0].copy()

    def slot_mask(self, head: int) -> np.ndarray:
        """(S, K) bool: the valid indices of each slot given ``head``, for the current step."""
        kind, tool = self.head_meaning(head)
        if kind == "reply":
            mask = np.zeros((self.S, self.K), bool)
            mask[:, :len(self._shown)] = True
            mask[:, self.K - 1] = True
            return mask
        table = self._table(tool)
        if kind == "ask":
            return table.ask_mask.copy()
        mask = table.call_mask.copy()
        accepted = self._accepted()
        for j, param_kind, required in table.candidate_rows:
            row = mask[j]
            row[:self.K - 1] = accepted[param_kind]
            row[self.K - 1] = not required or not row[:self.K - 1].any()
        return mask

    def action_mask(self) -> np.ndarray:
        """Flat bool mask of length sum(nvec): the head mask, then each slot's union over heads.
        The reply head takes any candidate or "none" in every slot, so the union is the enum and
        ask indices of the domain's tools (fixed) plus every shown candidate."""
        heads, union = self._domain_masks[self._domain]
        slots = union.copy()
        slots[:, :len(self._shown)] = True
        return np.concatenate([heads, slots.reshape(-1)])

    def _accepted(self) -> dict[str, np.ndarray]:
        """For each parameter kind, which of the K-1 places hold a candidate it accepts (once a step)."""
        if self._accept_cache is None:
            n = self.K - 1
            out = {k: np.zeros(n, bool) for k in ("integer", "number", "string", "array", "other")}
            for i, c in enumerate(self._shown):
                v = c.value
                scalar = not isinstance(v, (bool, list))
                out["string"][i] = scalar
                out["array"][i] = out["other"][i] = True
                if scalar:
                    out["integer"][i] = isinstance(_as_int(v), int)
                    out["number"][i] = isinstance(_as_number(v), (int, float))
            self._accept_cache = out
        return self._accept_cache

    def _build_masks(self) -> None:
        """The parts of every mask that do not depend on the candidates, once per tool and domain."""
        S, K = self.S, self.K
        for tables in self.domain_tables.values():
            for table in tables.values():
                call = np.zeros((S, K), bool)
                call[:, K - 1] = True
                rows = []
                for j, p in enumerate(table.params):
                    if p.choices is not None:
                        call[j, :len(p.choices)] = True
                        call[j, K - 1] = not p.required
                    else:
                        rows.append((j, p.kind, p.required))
                ask = np.zeros((S, K), bool)
                ask[:, K - 1] = True
                if table.params:
                    ask[0, :len(table.params)] = True
                    ask[0, K - 1] = False
                table.call_mask, table.ask_mask, table.candidate_rows = call, ask, rows
        self._domain_masks = {}
        for name, tables in self.domain_tables.items():
            heads = np.zeros(self.n_heads, bool)
            union = np.zeros((S, K), bool)
            union[:, K - 1] = True
            for t, table in tables.items():
                i = self._tool_index[t]
                heads[i] = True
                heads[self.n_tools + 1 + i] = bool(table.params)
                union |= table.call_mask | (table.ask_mask if table.params else False)
            heads[self.n_tools] = True
            self._domain_masks[name] = (heads, union)

    @property
    def candidates(self) -> list:
        return [c.value for c in self._shown]

    def question(self, tool: str, slot: int) -> str:
        """The clarifying question an ask head sends."""
        params = self._table(tool).params
        words = params[slot].words.replace("_", " ") if 0 <= slot < len(params) else "details"
        return f"Could you tell me the {words}?"

    # -- internals ------------------------------------------------------------------------------------
    def _table(self, tool: str) -> _ToolTable:
        return self._tables.get(tool) or self._any_table[tool]

    def _split(self, action) -> tuple[int, np.ndarray]:
        try:
            a = np.asarray(action, dtype=np.int64).reshape(-1)
        except (TypeError, ValueError):
            raise ValueError(f"a StructuredActions action is {1 + self.S} integers, got {action!r:.80}") from None
        if a.shape != (1 + self.S,) or not self.action_space.contains(a):
            raise ValueError(f"action {a.tolist()!r:.120} is not in {self.action_space}")
        return int(a[0]), a[1:]

    def _action_text(self, head: int, slots: np.ndarray) -> str:
        kind, tool = self.head_meaning(head)
        none = self.K - 1
        if kind == "reply":
            named = []
            for s in slots:
                if s != none and s < len(self._shown):
                    v = self._shown[s].value
                    named.append(", ".join(map(_say, v)) if isinstance(v, list) else _say(v))
            return "Done: " + "; ".join(named) + "." if named else "Done."
        if kind == "ask":
            return self.question(tool, int(slots[0]))
        args = {}
        for j, p in enumerate(self._table(tool).params):
            s = int(slots[j])
            if s == none:
                continue
            if p.choices is not None:
                if s < len(p.choices):
                    args[p.name] = p.choices[s]
            elif s < len(self._shown):
                cand = self._shown[s]
                cand.used = True
                self._said.add(cand.key)       # what the agent works with stays in view this turn
                args[p.name] = p.coerce(cand.value)
        self._pending_tool = self._tool_index[tool]
        self._tool_calls[self._pending_tool] = min(1.0, self._tool_calls[self._pending_tool] + 0.25)
        return _encode({"name": tool, "arguments": args})

    def _new_turn(self, turn: int) -> None:
        self._turn = turn
        self._turn_text = []
        self._turn_spans = []
        self._said = set()
        self._text_vec[:] = 0.0
        self._tool_calls[:] = 0.0
        self._tool_errors[:] = 0.0

    def _absorb(self, messages: list[dict]) -> None:
        """Fold the environment's new messages into the candidates and the text features."""
        self._error = self._answered = 0.0
        latest = None
        for m in messages:
            role, content = m.get("role"), m.get("content") or ""
            if role == "user":
                self._answered = float(bool(self._turn_text))
                self._turn_text.append(content)
                _bag(_text_tokens(content), "text", self.text_dims, self._text_vec)
                spans = user_spans(content, self._enum_values[self._domain], self._nouns[self._domain])
                joined = _joined_paths(self._turn_spans, spans)
                self._turn_spans += spans
                self._admit([(v, 0, kind, ()) for v, kind in spans + joined])
            elif role == "tool" or (role == "system" and content.startswith("Error")):
                if content.startswith("Error"):
                    self._error = 1.0
                    self._error_vec[:] = 0.0
                    _bag(_words(content)[:64], "err", 32, self._error_vec)
                    if role == "tool" and self._pending_tool is not None:
                        t = self._pending_tool
                        self._tool_errors[t] = min(1.0, self._tool_errors[t] + 0.25)
                    continue
                try:
                    result = json.loads(content)
                except ValueError:
                    result = content
                leaves = result_leaves(result)
                latest = self._admit([(v, 1, f, sib) for v, f, sib in leaves])
                self._fields_vec[:] = 0.0
                _bag({f for _, f, _ in leaves}, "field", 32, self._fields_vec)
        if latest is not None:
            self._latest = latest
        self._pending_tool = None

    def _admit(self, batch: list[tuple]) -> set:
        """Put one message's values at the front (in their own order), refreshing repeats."""
        fresh: list[_Candidate] = []
        keys: dict[tuple, _Candidate] = {}
        old = {c.key: c for c in self._pool}
        for value, source, kind, siblings in batch:
            k = _key(value)
            if k in keys:
                continue
            c = _Candidate(value, k, source, kind, siblings, self._step, self._turn)
            c.batch = self._batches
            if k in old:                   # seen before: keep what it was used for and where from
                c.used = old[k].used
                c.static[:2] = np.maximum(c.static[:2], old[k].static[:2])
            if source == 0:
                self._said.add(k)
            keys[k] = c
            fresh.append(c)
        self._batches += 1
        self._pool = fresh + [c for c in self._pool if c.key not in keys]
        del self._pool[4 * self.K:]
        # The K-1 shown: the most recent, except that what the user said this turn always stays
        # (a long seat map must not push out the reservation id the user just gave).
        pinned = {id(c) for c in self._pool if c.key in self._said}
        room = self.K - 1 - min(len(pinned), self.K - 1)
        shown, per_batch = [], {}
        for c in self._pool:
            if id(c) in pinned:
                if len(shown) < self.K - 1:
                    shown.append(c)
            elif room > 0 and per_batch.get(c.batch, 0) < self.per_message:
                # no one long result (a seat map) takes every place
                per_batch[c.batch] = per_batch.get(c.batch, 0) + 1
                shown.append(c)
                room -= 1
        self._shown = shown[:self.K - 1]
        self._accept_cache = None
        return set(keys)

    def _observe(self) -> np.ndarray:
        obs = np.zeros(self.observation_space.shape, np.float32)
        L = self.layout
        obs[L["text"]] = self._text_vec
        obs[L["result_fields"]] = self._fields_vec
        obs[L["error_words"]] = self._error_vec
        cands = obs[L["candidates"]].reshape(self.K - 1, CANDIDATE_FEATURES)
        for rank, c in enumerate(self._shown):
            row = cands[rank]
            row[0] = 1.0
            row[1] = rank / (self.K - 1)
            row[2] = min(1.0, (self._step - c.step) / 16.0)
            row[3] = c.used
            row[4] = c.key in self._latest
            row[5] = c.turn == self._turn
            row[_DYNAMIC:] = c.static
        obs[L["tool_calls"]] = self._tool_calls
        obs[L["tool_errors"]] = self._tool_errors
        base = self.env.unwrapped
        flags = obs[L["flags"]]
        flags[0] = self._error
        flags[1] = self._answered
        flags[2] = min(1.0, self._turn / max(1, self._num_turns))
        flags[3] = min(1.0, self._num_turns / 8.0)
        flags[4] = min(1.0, self._step / max(1, getattr(base, "max_steps", 64)))
        flags[5] = min(1.0, len(self._pool) / (self.K - 1))
        if self._domain in self.domain_names:
            obs[L["domain"].start + self.domain_names.index(self._domain)] = 1.0
        return obs

    def _add_info(self, info: dict, text: str) -> dict:
        info = dict(info)
        info["action_mask"] = self.action_mask()
        info["candidates"] = self.candidates
        info["action_text"] = text
        return info


def _say(value: Any) -> str:
    return _encode(value) if isinstance(value, bool) else str(value)
