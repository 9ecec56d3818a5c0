"""Policies the evaluation and leaderboard tests plug into ``rods eval`` as MODULE:FACTORY, and
the results files they make (cached: several test modules share them).

``FlakyOracle`` succeeds on about three trials in four (decided by the episode seed alone) and
otherwise passes the first turn, then gives up, so pass^k really falls with k and progress is
partial. ``SlowRandom`` is the random baseline with a pause per action, slow enough to be
interrupted. ``CrashOnThird`` raises on its third episode.
"""

from __future__ import annotations

import copy
import os
import time
from functools import lru_cache

import numpy as np

import rods_envs
from rods_agents.evaluate import EpisodeSeededRandom, evaluate
from rods_envs.oracle import OraclePolicy


class FlakyOracle:
    metadata = {"kind": "test", "model": "flaky-oracle", "success_rate": 0.75}

    def __init__(self):
        suite = rods_envs.load_suite("rods-v1")
        self.oracle = OraclePolicy(suite.split("all"))
        self.succeed = True

    def seed(self, seed: int) -> None:
        self.succeed = bool(np.random.default_rng(seed).random() < 0.75)

    def reset(self, info: dict) -> None:
        self.oracle.reset(info)

    def act(self, observation, info):
        if not self.succeed and info["turn"] >= 1:
            return "###STOP###"
        return self.oracle.act(observation, info)


class SlowRandom(EpisodeSeededRandom):
    """Pauses RODS_TEST_ACT_DELAY seconds (default 0.004) before each action."""

    delay = float(os.environ.get("RODS_TEST_ACT_DELAY", "0.004"))

    def act(self, observation, info):
        time.sleep(self.delay)
        return super().act(observation, info)


class CrashOnThird(EpisodeSeededRandom):
    def __init__(self):
        super().__init__()
        self.episodes = 0

    def reset(self, info: dict) -> None:
        self.episodes += 1
        if self.episodes == 3:
            raise RuntimeError("the model server went away")
        super().reset(info)


def make_flaky():
    return FlakyOracle()


def make_slow():
    return SlowRandom()


def make_crashing():
    return CrashOnThird()


def make_nothing():
    return object()


@lru_cache(maxsize=None)
def _results(policy: str, trials: int) -> dict:
    return evaluate(policy, "rods-v1", "test", trials=trials)


def results(policy: str = "test_eval_policies:make_flaky", trials: int = 3) -> dict:
    """A full, valid results file for the rods-v1 test split (a fresh copy each call)."""
    return copy.deepcopy(_results(policy, trials))


def test_flaky_oracle_is_flaky_but_deterministic():
    first = results()
    s = first["summary"]
    assert 0.6 < s["pass_hat_k"][0] < 0.9
    assert s["pass_hat_k"][2] < s["pass_hat_k"][1] < s["pass_hat_k"][0]
    assert s["pass_hat_k"][0] < s["progress"] < 1
    again = evaluate("test_eval_policies:make_flaky", "rods-v1", "test", trials=3, domains=["files"])
    files = [e for e in first["episodes"] if e["domain"] == "files"]
    assert again["episodes"] == files
