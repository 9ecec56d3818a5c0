"""``RODSReplay``: a Gymnasium wrapper that serves any rods environment's episodes from the
co-evolving replay buffer, in GRPO groups.

    env = RODSReplay(gym.make("rods/Mixed-v0", split="train"), group_size=8)
    obs, info = env.reset(seed=0)        # the first of 8 consecutive episodes of one task

Each ``reset`` starts the next episode of the current group (a new group draws a task from the
buffer); when an episode ends, its final progress is the group's reward for it, and when the
group is complete the rewards go to the buffer's boundary detector. Every
``BufferPolicy.groups_per_round`` groups, the buffer retires and synthesizes (with the
synthesizer of the task's domain). The policy driving the episodes does not matter; a reset with
``options={"task": ...}`` or ``{"task_id": ...}`` (an evaluation episode) passes through and is
not counted. ``info["rods"]`` describes the episode's place in its group; the step that closes a
group adds ``info["rods_group"]`` (task, rewards, class) and, if it closed a round,
``info["rods_round"]`` (the round's statistics).

Several wrappers may share one buffer (``gymnasium.vector.SyncVectorEnv`` over wrappers built
with the same ``buffer``); each keeps its own groups and its own random generator.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import gymnasium as gym
import numpy as np

from .replay_buffer import BufferPolicy, ReplayBuffer, load_into, save_json


class VariantSource:
    """``resample_like`` with the synthesizer of each task's domain, built when first needed."""

    def __init__(self, seeds: list, seed: int = 0, same_wl: bool = False):
        self.seeds, self.seed, self.same_wl = list(seeds), seed, same_wl
        self.synthesizers: dict = {}

    def synthesizer(self, domain: str):
        if domain not in self.synthesizers:
            seeds = [t for t in self.seeds if t.domain == domain]
            if domain == "bfcl":
                from rods_envs.bfcl.synth import BFCLSynthesizer
                self.synthesizers[domain] = BFCLSynthesizer(seeds, seed=self.seed)
            else:
                from rods_envs.synth import Synthesizer
                self.synthesizers[domain] = Synthesizer(domain, seeds, seed=self.seed)
        return self.synthesizers[domain]

    def __call__(self, task, n: int, rng: np.random.Generator) -> list:
        return self.synthesizer(task.domain).resample_like(task, n, rng, same_wl=self.same_wl)

    def state_dict(self) -> dict:
        return {domain: s.state_dict() for domain, s in sorted(self.synthesizers.items()) if hasattr(s, "state_dict")}

    def load_state_dict(self, state: dict) -> None:
        for domain, synth_state in state.items():
            self.synthesizer(domain).load_state_dict(synth_state)


def _base_tasks(env) -> list:
    tasks = getattr(env.unwrapped, "tasks", None)
    if not tasks:
        raise ValueError("RODSReplay needs a rods environment (one with a task list, env.unwrapped.tasks)")
    return list(tasks)


class RODSReplay(gym.Wrapper):
    def __init__(self, env: gym.Env, buffer: ReplayBuffer | None = None, group_size: int = 8,
                 capacity: int = 800, policy: BufferPolicy = BufferPolicy(), seed: int = 0):
        super().__init__(env)
        if group_size < 2:
            raise ValueError("group_size must be at least 2 (a group's variance needs two rewards)")
        if buffer is None:
            seeds = _base_tasks(env)
            buffer = ReplayBuffer(seeds, capacity=capacity, synthesize=VariantSource(seeds, seed),
                                  policy=policy, seed=seed)
        self.buffer, self.group_size = buffer, group_size
        self.rng = np.random.default_rng([seed, 0x6E7])
        self._task = None
        self._rewards: list[float] = []
        self._counted = False      # is the running episode one of a group's?

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self.rng = np.random.default_rng([seed, 0x6E7])
        options = dict(options or {})
        if "task" in options or "task_id" in options:
            self._counted = False
            return self.env.reset(seed=seed, options=options)
        if self._task is None or len(self._rewards) >= self.group_size:
            self._task, self._rewards = self.buffer.sample(self.rng), []
        self._counted = True
        observation, info = self.env.reset(seed=seed, options={**options, "task": self._task})
        return observation, self._annotate(info)

    def step(self, action):
        observation, reward, terminated, truncated, info = self.env.step(action)
        if self._counted:
            info = self._annotate(info)
            if terminated or truncated:
                self._counted = False
                self._rewards.append(float(info["progress"]))
                if len(self._rewards) == self.group_size:
                    stats = self.buffer.record_group(self._task.id, list(self._rewards))
                    info["rods_group"] = {"task_id": self._task.id, "rewards": list(self._rewards),
                                          "label": self.buffer.label(self._task.id)}
                    if stats is not None:
                        info["rods_round"] = asdict(stats)
        return observation, reward, terminated, truncated, info

    def _annotate(self, info: dict) -> dict:
        info = dict(info)
        info["rods"] = {"task_id": self._task.id, "episode_in_group": len(self._rewards),
                        "group_size": self.group_size, "label": self.buffer.label(self._task.id),
                        "buffer_size": len(self.buffer), "round": self.buffer.round}
        return info

    # -- persistence ------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"buffer": self.buffer.state_dict(),
                "synthesizers": self.buffer.synthesize.state_dict() if hasattr(self.buffer.synthesize, "state_dict") else None,
                "task": None if self._task is None else self.buffer.codec.encode(self._task),
                "rewards": list(self._rewards), "rng": self.rng.bit_generator.state,
                "group_size": self.group_size}

    def load_state_dict(self, state: dict) -> None:
        self.buffer.load_state_dict(state["buffer"])
        if state["synthesizers"] is not None and hasattr(self.buffer.synthesize, "load_state_dict"):
            self.buffer.synthesize.load_state_dict(state["synthesizers"])
        self._task = None if state["task"] is None else self.buffer.codec.decode(state["task"])
        self._rewards = list(state["rewards"])
        self.rng.bit_generator.state = state["rng"]
        self.group_size = state["group_size"]
        self._counted = False

    def save(self, path: str | Path) -> None:
        """Everything a resumed run needs (an episode in progress is not part of it)."""
        save_json(path, self.state_dict())

    def load(self, path: str | Path) -> None:
        load_into(self, path, "RODS replay")


__all__ = ["RODSReplay", "VariantSource"]
