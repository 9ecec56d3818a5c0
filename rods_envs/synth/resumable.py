"""What a synthesizer must keep for a resumed run to make the same variants next: the content
hashes it has seen, its counters and its random generator (everything else it rebuilds)."""

from __future__ import annotations

import collections


class Resumable:
    """For a class with ``seen``, ``attempts``, ``emitted``, ``rejected`` and ``rng``."""

    def state_dict(self) -> dict:
        return {"seen": sorted(self.seen), "attempts": self.attempts, "emitted": self.emitted,
                "rejected": dict(self.rejected), "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.seen = set(state["seen"])
        self.attempts, self.emitted = state["attempts"], state["emitted"]
        self.rejected = collections.Counter(state["rejected"])
        self.rng.bit_generator.state = state["rng"]
