"""A rods task as a two-agent PettingZoo game: an ``assistant`` serves a ``user``.

### Agents
``"assistant"`` acts exactly as in ``ToolUseEnv``: raw text (tool calls as JSON or ``<tool_call>``
blocks, or plain text to the user; ``###STOP###`` gives up). ``"user"`` speaks for the customer
with text: it opens the conversation, and it answers whenever the assistant talks to it. Turns
are not a fixed cycle: the assistant keeps the floor while it calls tools, and the user gets it
each time the assistant says something to the user.

### The user's moves
The user's observation shows its script for the current turn (what it wants, and the facts it
holds back until asked), and the assistant's message. Its action is one of:

- ``""`` (empty): let the simulator (``user=``, ``ScriptedUser`` by default) make this move, so
  the default game is exactly ``ToolUseEnv``'s conversation;
- at the start of the episode: the opening request;
- after an assistant message: an answer (the assistant's turn goes on), or text starting with
  ``END_TURN`` ("###END_TURN###"), which ends the assistant's turn so it is judged; the rest of
  that text is the next turn's request (empty: the simulator's request).

``info["user"]`` carries the same in structured form: ``phase`` ("open" or "respond"),
``turn``, ``num_turns``, ``instruction``, ``facts`` ([{"slot", "reply"}]) and ``message``.

### Rewards
The assistant gets ``ToolUseEnv``'s reward (``reward_mode`` "progress" or "outcome"), credited
on the move that completes the judged step. The user gets the same reward with
``user_reward="shared"`` (the default: the user wants its task done, a cooperative game) or 0
with ``user_reward="none"``.

### Episode end
Both agents terminate when the last turn is judged or the assistant gives up, and are
truncated together when the assistant has taken ``max_steps`` actions. ``infos[agent]`` then
has ``outcome`` (assistant) and ``progress``.

### Parallel form
PettingZoo's ``aec_to_parallel`` needs agents that act in a fixed cycle, which a conversation is
not (and in a cycle one agent would choose its move before seeing the other's message), so
``RodsConversationParallel`` is written natively: at each step every agent sends an action, only
the agent whose move it is (``infos[agent]["acting"]``) is applied, the others are ignored.

>>> from rods_envs.multiagent import RodsConversation
>>> env = RodsConversation("rods/Files-v0", split="test")
>>> env.reset(seed=0)
>>> env.agent_selection
'user'
"""

from __future__ import annotations

import functools
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding
from pettingzoo import AECEnv, ParallelEnv

from .actions import MAX_ACTION_CHARS, parse_action
from .env import GIVE_UP, MAX_OBSERVATION_CHARS, ToolUseEnv
from .spaces import UnicodeText
from .user import ScriptedUser

ASSISTANT, USER = "assistant", "user"
END_TURN = "###END_TURN###"


class Utterance(str):
    """An observation: a plain ``str`` that also states its numpy dtype, as the Text space does.

    PettingZoo's ``api_test`` compares each observation's ``dtype`` with its space's, which a
    plain ``str`` does not have; everything else treats this exactly as a ``str``.
    """

    __slots__ = ()
    dtype = np.dtype(str)


class _Relay:
    """The user simulator the inner ``ToolUseEnv`` sees: it says what the user agent decided."""

    def __init__(self):
        self.instruction_text = ""
        self.reply: str | None = None

    def reset(self, task, rng=None) -> None:
        pass

    def instruction(self, turn: int) -> str:
        return self.instruction_text

    def respond(self, turn: int, message: str) -> str | None:
        return self.reply


class RodsConversation(AECEnv):
    """Two agents, ``assistant`` and ``user``, over one rods task per episode (see the module doc).

    ``RodsConversation(env_id="rods/Files-v0", user=None, user_reward="shared", render_mode=None,
    **env_kwargs)``: ``env_kwargs`` go to ``gym.make`` (``split``, ``suite``, ``tasks``,
    ``reward_mode``, ``max_steps``); ``user`` is the simulator that makes the user's empty moves.
    ``reset(seed=..., options={"task_id": ...})`` pins a task.
    """

    metadata = {"name": "rods_conversation_v0", "render_modes": ["ansi"], "is_parallelizable": False}

    def __init__(self, env_id: str = "rods/Files-v0", user=None, user_reward: str = "shared",
                 render_mode: str | None = None, **env_kwargs):
        super().__init__()
        if user_reward not in ("shared", "none"):
            raise ValueError(f"user_reward must be 'shared' or 'none', not {user_reward!r}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None")
        if "user" in env_kwargs:
            raise ValueError("pass the user simulator as RodsConversation(user=...)")
        try:
            spec = gym.spec(env_id)
        except gym.error.Error:
            raise ValueError(f"unknown environment id {env_id!r}") from None
        if spec.entry_point != "rods_envs.env:ToolUseEnv":
            raise TypeError(f"{env_id} is not a native rods environment (ToolUseEnv)")
        self._relay = _Relay()
        self.inner: ToolUseEnv = gym.make(env_id, user=self._relay, **env_kwargs).unwrapped
        self.simulator = user if user is not None else ScriptedUser()
        self.user_reward, self.render_mode = user_reward, render_mode
        self.possible_agents = [ASSISTANT, USER]
        self.agents: list[str] = []
        self.np_random, _ = seeding.np_random(None)

    @functools.cache   # PettingZoo expects the same space object on every call
    def observation_space(self, agent: str) -> UnicodeText:
        self._check_agent(agent)
        return UnicodeText(MAX_OBSERVATION_CHARS)

    @functools.cache   # PettingZoo expects the same space object on every call
    def action_space(self, agent: str) -> UnicodeText:
        self._check_agent(agent)
        return UnicodeText(MAX_ACTION_CHARS)

    # -- PettingZoo API -------------------------------------------------------------------------
    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        if seed is not None:
            self.np_random, _ = seeding.np_random(seed)
        self.task = self._choose(options or {})
        self.simulator.reset(self.task, self.np_random)
        self.agents = list(self.possible_agents)
        self.rewards = {a: 0.0 for a in self.agents}
        self._cumulative_rewards = {a: 0.0 for a in self.agents}
        self.terminations = {a: False for a in self.agents}
        self.truncations = {a: False for a in self.agents}
        self.turn, self.phase = 0, "open"
        self._opened = False                 # the inner episode starts with the user's first move
        self._said: Any = None               # the assistant's message the user is answering
        self._said_text = ""
        self._views = {ASSISTANT: "", USER: ""}
        self._assistant_info: dict = {"task_id": self.task.id, "messages": [], "turn": 0,
                                      "num_turns": len(self.task.turns)}
        self.agent_selection = USER
        self._refresh_user()

    def observe(self, agent: str) -> str:
        self._check_agent(agent)
        return Utterance(self._views[agent])

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        self._cumulative_rewards[agent] = 0.0
        self._clear_rewards()
        if agent == ASSISTANT:
            self._assistant_moves(action)
        else:
            self._user_moves(action)
        self._accumulate_rewards()

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        return _render(self.inner.messages) if self._opened else ""

    def close(self) -> None:
        self.inner.close()

    # -- moves ----------------------------------------------------------------------------------
    def _assistant_moves(self, action: Any) -> None:
        parsed = parse_action(action, lambda: "call_probe")      # peek only: ids come from the env
        talks = parsed.error is None and not parsed.calls and GIVE_UP not in (parsed.text or "")
        if talks:
            # The user answers before the environment takes the message.
            self._said, self._said_text = action, parsed.text
            self._views[ASSISTANT] = ""
            self.phase = "respond"
            self.agent_selection = USER
            self._refresh_user()
            return
        self._inner_step(action)

    def _user_moves(self, action: Any) -> None:
        if not isinstance(action, str):
            raise TypeError(f"the user's action is text, not {type(action).__name__}")
        text = action.strip()
        if self.phase == "open":                # the opening request
            self._relay.instruction_text = text or self.simulator.instruction(0)
            obs, info = self.inner.reset(options={"task": self.task})
            self._opened = True
            self._assistant_sees(obs, info)
            return
        if text.startswith(END_TURN):
            reply, following = None, text[len(END_TURN):].strip()
        elif text:
            reply, following = text, ""
        else:                                   # the simulator decides
            reply, following = self.simulator.respond(self.turn, self._said_text), ""
        self._relay.reply = reply
        if reply is None and self.turn + 1 < len(self.task.turns):
            self._relay.instruction_text = following or self.simulator.instruction(self.turn + 1)
        self._inner_step(self._said)

    def _inner_step(self, action: Any) -> None:
        obs, reward, terminated, truncated, info = self.inner.step(action)
        self.rewards[ASSISTANT] = float(reward)
        self.rewards[USER] = float(reward) if self.user_reward == "shared" else 0.0
        self._assistant_sees(obs, info)
        if terminated or truncated:
            for a in self.agents:
                self.terminations[a], self.truncations[a] = bool(terminated), bool(truncated)

    def _assistant_sees(self, obs: str, info: dict) -> None:
        self._views[ASSISTANT] = obs
        self._assistant_info = info
        self.turn = info["turn"]
        self.phase = "respond"
        self._said, self._said_text = None, ""
        self.agent_selection = ASSISTANT
        self._refresh_user()

    # -- views ----------------------------------------------------------------------------------
    def _refresh_user(self) -> None:
        n = len(self.task.turns)
        turn = min(self.turn, n - 1)
        script = self.task.turns[turn]
        facts = [{"slot": f["slot"], "reply": f["reply"]} for f in script["facts"]]
        user_info = {"phase": self.phase, "turn": turn, "num_turns": n, "instruction": script["instruction"],
                     "facts": facts, "message": self._said_text}
        lines = [f"[task] turn {turn + 1} of {n}; you want: {script['instruction']}"]
        lines += [f"[task] if asked for the {f['slot']}: {f['reply']}" for f in facts]
        if self.phase == "respond" and self._said is not None:
            lines.append(f"[assistant] {self._said_text}")
        self._views[USER] = "\n".join(lines)[:MAX_OBSERVATION_CHARS]
        done = {k: v for k, v in self._assistant_info.items() if k in ("outcome", "progress")}
        self.infos = {ASSISTANT: {**self._assistant_info, "acting": self.agent_selection == ASSISTANT},
                      USER: {"user": user_info, **done, "acting": self.agent_selection == USER}}
        self.infos = {a: i for a, i in self.infos.items() if a in self.agents}

    def _choose(self, options: dict):
        if "task" in options or "task_id" in options:
            return self.inner._choose(options)
        return self.inner.tasks[int(self.np_random.integers(len(self.inner.tasks)))]

    def _check_agent(self, agent: str) -> None:
        if agent not in self.possible_agents:
            raise ValueError(f"unknown agent {agent!r}; the agents are {self.possible_agents}")


def _render(messages: list[dict]) -> str:
    from .env import render_messages
    return render_messages([m for m in messages if m.get("content")])


class RodsConversationParallel(ParallelEnv):
    """The same game with simultaneous actions: every live agent sends one, only the agent whose
    move it is (``infos[agent]["acting"]``) is applied. Arguments as ``RodsConversation``."""

    metadata = {"name": "rods_conversation_parallel_v0", "render_modes": ["ansi"]}

    def __init__(self, env_id: str = "rods/Files-v0", **kwargs):
        self.aec = RodsConversation(env_id, **kwargs)
        self.possible_agents = list(self.aec.possible_agents)
        self.agents: list[str] = []
        self.render_mode = self.aec.render_mode

    def observation_space(self, agent: str) -> UnicodeText:
        return self.aec.observation_space(agent)

    def action_space(self, agent: str) -> UnicodeText:
        return self.aec.action_space(agent)

    def reset(self, seed: int | None = None, options: dict | None = None):
        self.aec.reset(seed=seed, options=options)
        self.agents = list(self.aec.agents)
        return {a: self.aec.observe(a) for a in self.agents}, {a: dict(self.aec.infos[a]) for a in self.agents}

    def step(self, actions: dict):
        if not self.agents:
            raise ValueError("the episode has ended: call reset() before step()")
        acting = self.aec.agent_selection
        if acting not in actions:
            raise ValueError(f"it is {acting!r}'s move: actions must include {acting!r}")
        self.aec.step(actions[acting])
        rewards = {a: float(self.aec.rewards[a]) for a in self.agents}
        terminations = {a: bool(self.aec.terminations[a]) for a in self.agents}
        truncations = {a: bool(self.aec.truncations[a]) for a in self.agents}
        observations = {a: self.aec.observe(a) for a in self.agents}
        infos = {a: dict(self.aec.infos[a]) for a in self.agents}
        self.agents = [a for a in self.agents if not (terminations[a] or truncations[a])]
        return observations, rewards, terminations, truncations, infos

    def render(self):
        return self.aec.render()

    def close(self) -> None:
        self.aec.close()


def env(env_id: str = "rods/Files-v0", **kwargs) -> RodsConversation:
    """PettingZoo's usual constructor name for the AEC form."""
    return RodsConversation(env_id, **kwargs)


def parallel_env(env_id: str = "rods/Files-v0", **kwargs) -> RodsConversationParallel:
    """PettingZoo's usual constructor name for the parallel form."""
    return RodsConversationParallel(env_id, **kwargs)
