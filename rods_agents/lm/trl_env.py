"""rods environments for TRL's ``GRPOTrainer(environment_factory=...)``.

TRL exposes an environment's public methods as tools, calls ``reset(**row)`` with each dataset row
before a rollout and ``get_reward()`` after it. Here every rods tool of a domain is such a method,
and one more, ``reply_to_user(message)``, carries the conversation: the message ends the agent's
turn (or asks a clarifying question) and the tool's result is the user's answer, the next
request, or the notice that the conversation is over. So a rollout inside TRL's tool loop spans
all of a task's user turns, and the user's words arrive as tool output, which TRL masks out of
the loss like every other tool result.

    from trl import GRPOTrainer
    trainer = GRPOTrainer(model, args=config, train_dataset=prompts(tasks),
                          environment_factory=environment_factory("files"))

The dataset's rows name their task in a ``task_id`` column (``prompts`` builds them); ``get_reward``
returns the episode's progress (the share of turns passed) or, with ``reward_mode="outcome"``, 1
if every turn passed. A ``log`` (any object with ``record(task_id, reward)``) sees each reward:
that is how the RODS callback reads GRPO groups.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

from rods_envs.domains import get_domain
from rods_envs.env import ToolUseEnv

from .conversation import tool_call_message, user_words
from .tools import tool_function

CONVERSATION_OVER = "(The user has nothing more to ask: the conversation is over. Do not call any tool.)"


class RodsToolEnv:
    """One rods episode at a time, driven through tool calls. Subclasses set ``domain`` and carry
    the domain's tools as methods (``environment_class`` builds them)."""

    domain: str = ""

    def __init__(self, suite: str = "rods-v1", split: str = "train", reward_mode: str = "progress",
                 max_steps: int = 64, lookup: Callable | None = None, log=None):
        self._env = ToolUseEnv(self.domain, suite=suite, split=split, reward_mode=reward_mode, max_steps=max_steps)
        self._reward_mode, self._lookup, self._log = reward_mode, lookup, log
        self._task_id, self._over, self._info = None, True, {}

    def reset(self, task_id: str | None = None, seed: int | None = None, **row) -> None:
        """Start the task the row names (a suite task, or any task ``lookup`` knows, such as a
        synthesized variant in the replay buffer). The row's prompt already holds the opening
        request, so nothing is appended to it."""
        options = {}
        if task_id is not None:
            task = self._lookup(task_id) if self._lookup is not None else None
            options = {"task": task} if task is not None else {"task_id": task_id}
        _, self._info = self._env.reset(seed=seed, options=options)
        self._task_id, self._over = self._env.task.id, False

    def reply_to_user(self, message: str) -> str:
        """Send a message to the user: your answer once their request is done (with every value they asked for), or a question when a detail is missing. Returns what the user says next.

        Args:
            message: The words to send to the user.
        """
        if self._over:
            return CONVERSATION_OVER
        _, _, terminated, truncated, info = self._env.step(str(message))
        self._info, self._over = info, terminated or truncated
        said = user_words(info["messages"])
        return said if said and not self._over else CONVERSATION_OVER

    def get_reward(self) -> float:
        env = self._env
        passed = sum(env.passed) / len(env.task.turns)
        reward = passed if self._reward_mode == "progress" else float(passed == 1.0)
        if self._log is not None:
            self._log.record(self._task_id, reward)
        return reward

    def _run_tool(self, name: str, arguments: dict) -> str:
        if self._over:
            return "Error: the conversation is over; no tool can run."
        _, _, terminated, truncated, info = self._env.step(tool_call_message(name, arguments))
        self._info, self._over = info, terminated or truncated
        return "\n".join(m["content"] for m in info["messages"])

    # Read-only views as properties: TRL lists only functions as tools.
    @property
    def env(self) -> ToolUseEnv:
        return self._env

    @property
    def info(self) -> dict:
        """The environment's ``info`` after the last reset or step."""
        return self._info

    @property
    def over(self) -> bool:
        return self._over


@lru_cache(maxsize=None)
def environment_class(domain: str) -> type:
    """``RodsToolEnv`` with ``domain``'s tools as methods (one class per domain, built once)."""
    tools = get_domain(domain).tool_schemas
    clashes = {s["function"]["name"] for s in tools} & {"reset", "get_reward", "reply_to_user"}
    if clashes:
        raise ValueError(f"the {domain} domain has tools named like the adapter's own methods: {sorted(clashes)}")
    methods = {s["function"]["name"]: tool_function(s, RodsToolEnv._run_tool) for s in tools}
    return type(f"{domain.capitalize()}ToolEnv", (RodsToolEnv,), {"domain": domain, **methods})


def environment_factory(domain: str, **kwargs) -> Callable[[], RodsToolEnv]:
    """A zero-argument factory for ``GRPOTrainer(environment_factory=...)``; ``kwargs`` go to
    ``RodsToolEnv`` (suite, split, reward_mode, max_steps, lookup, log)."""
    cls = environment_class(domain)

    def factory() -> RodsToolEnv:
        return cls(**kwargs)

    return factory


def environment_factories(domains, **kwargs) -> dict[str, Callable[[], RodsToolEnv]]:
    """One factory per domain, for a dataset that mixes domains (its ``environment`` column)."""
    return {d: environment_factory(d, **kwargs) for d in domains}
