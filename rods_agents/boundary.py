"""The boundary detector: which tasks sit at the edge of what the policy can do.

GRPO already rolls out a group of G episodes per task; the spread of their progress rewards is a
free measure of how useful the task is for learning. A reward confined to ``[low, high]`` has a
population variance of at most ``(high - low) ** 2 / 4`` (Popoviciu's inequality), reached when
half the rollouts score ``low`` and half ``high``; dividing by that bound puts every group on one
scale, from 0 (all rollouts alike: no gradient) to 1 (an even split).

Each task is classed from a running estimate over its visits:

- ``boundary``: normalised variance >= ``Thresholds.boundary_variance``; the policy sometimes
  succeeds and sometimes fails, so the group's advantages are large;
- ``mastered``: not boundary, and mean progress >= ``Thresholds.mastered_mean``;
- ``hard``: neither (the policy cannot yet make its result vary, whether it always fails or is
  stuck at the same partial progress).

>>> detector = BoundaryDetector()
>>> detector.observe("t1", [0.0, 1.0, 0.0, 1.0]).label
'boundary'
>>> detector.observe("t2", [1.0, 1.0, 1.0, 1.0]).label
'mastered'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable

import numpy as np

LABELS = ("boundary", "mastered", "hard")


@dataclass(frozen=True)
class Thresholds:
    boundary_variance: float = 0.2   # normalised variance at or above which a task is at the boundary
    mastered_mean: float = 0.9       # mean progress at or above which a non-boundary task is mastered
    smoothing: float = 0.5           # weight of the newest group in the running estimate


@dataclass(frozen=True)
class GroupStats:
    mean: float
    variance: float       # population variance of the group's rewards
    normalised: float     # variance / Popoviciu bound, in [0, 1]


def group_stats(rewards: Iterable[float], low: float = 0.0, high: float = 1.0) -> GroupStats:
    """Mean, population variance and Popoviciu-normalised variance of one group's rewards.

    >>> group_stats([0.0, 1.0]).normalised
    1.0
    >>> group_stats([0.5, 0.5, 0.5]).normalised
    0.0
    """
    values = np.asarray(list(rewards), dtype=float)
    if values.size == 0:
        raise ValueError("a group needs at least one reward")
    if high <= low:
        raise ValueError(f"the reward range must have high > low, not [{low}, {high}]")
    if values.min() < low - 1e-9 or values.max() > high + 1e-9:
        raise ValueError(f"rewards must lie in [{low}, {high}]; got {values.min()}..{values.max()}")
    variance = float(values.var())
    return GroupStats(float(values.mean()), variance, min(variance / ((high - low) ** 2 / 4), 1.0))


@dataclass
class Estimate:
    """The running estimate for one task."""
    mean: float
    normalised: float
    visits: int
    label: str


def classify(mean: float, normalised: float, thresholds: Thresholds = Thresholds()) -> str:
    if normalised >= thresholds.boundary_variance:
        return "boundary"
    return "mastered" if mean >= thresholds.mastered_mean else "hard"


class BoundaryDetector:
    """Running per-task estimates from GRPO groups (no extra rollouts: the groups are training's)."""

    def __init__(self, thresholds: Thresholds = Thresholds(), reward_range: tuple[float, float] = (0.0, 1.0)):
        self.thresholds = thresholds
        self.reward_range = reward_range
        self.estimates: dict[str, Estimate] = {}

    def observe(self, task_id: str, rewards: Iterable[float]) -> Estimate:
        stats = group_stats(rewards, *self.reward_range)
        old = self.estimates.get(task_id)
        if old is None:
            mean, normalised, visits = stats.mean, stats.normalised, 1
        else:
            w = self.thresholds.smoothing
            mean = (1 - w) * old.mean + w * stats.mean
            normalised = (1 - w) * old.normalised + w * stats.normalised
            visits = old.visits + 1
        estimate = Estimate(mean, normalised, visits, classify(mean, normalised, self.thresholds))
        self.estimates[task_id] = estimate
        return estimate

    def label(self, task_id: str) -> str | None:
        """The task's class, or None before its first group."""
        estimate = self.estimates.get(task_id)
        return estimate.label if estimate else None

    def forget(self, task_id: str) -> None:
        self.estimates.pop(task_id, None)

    # -- persistence ------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"thresholds": asdict(self.thresholds), "reward_range": list(self.reward_range),
                "estimates": {k: asdict(v) for k, v in self.estimates.items()}}

    @classmethod
    def from_state_dict(cls, state: dict) -> "BoundaryDetector":
        detector = cls(Thresholds(**state["thresholds"]), tuple(state["reward_range"]))
        detector.estimates = {k: Estimate(**v) for k, v in state["estimates"].items()}
        return detector
