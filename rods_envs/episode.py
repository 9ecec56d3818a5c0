"""Run one episode of a policy in an environment: the loop every evaluator shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class Policy(Protocol):
    def act(self, observation: str, info: dict) -> Any:
        """The next action, given the newest observation and its info."""


@dataclass
class EpisodeResult:
    task_id: str
    seed: int | None
    progress: float
    outcome: int
    reward: float
    turns: int
    steps: int
    tool_calls: int
    errors: int
    truncated: bool


def run_episode(env, policy: Policy, seed: int | None = None, options: dict | None = None) -> EpisodeResult:
    observation, info = env.reset(seed=seed, options=options)
    if hasattr(policy, "reset"):
        policy.reset(info)
    total, steps, calls, errors = 0.0, 0, 0, 0
    terminated = truncated = False
    while not (terminated or truncated):
        observation, reward, terminated, truncated, info = env.step(policy.act(observation, info))
        total += float(reward)
        steps += 1
        for m in info["messages"]:
            role = m["role"]
            if role == "tool" or role == "system":
                calls += role == "tool"
                errors += m["content"].startswith("Error:")
    return EpisodeResult(info["task_id"], seed, info["progress"], info.get("outcome", 0), total,
                         len(info["turns_passed"]), steps, calls, errors, truncated)


class DoNothingPolicy:
    """Ends every turn at once: it must score 0 on every task."""

    def act(self, observation: str, info: dict) -> str:
        return "Okay."
