"""Fast random draws for the synthesizer.

A variant takes hundreds of small draws (an index, a shuffle of five candidates, a coin), and a
numpy ``Generator`` spends microseconds on each call's overhead, more than the work it guards.
``Draws`` takes one seed from the caller's Generator and makes the rest with Python's
``random.Random``: the same seed gives the same draws, so the same variants.
"""

from __future__ import annotations

import random

import numpy as np


class Draws:
    """The subset of ``numpy.random.Generator`` the synthesizer uses, on ``random.Random``."""

    def __init__(self, rng: np.random.Generator | Draws):
        self._random = random.Random(int(rng.integers(2**63)))
        self.random = self._random.random

    def integers(self, low: int, high: int | None = None) -> int:
        """A uniform integer in [low, high), or in [0, low) given one bound (as numpy's)."""
        if high is None:
            low, high = 0, low
        # floor(u * n): one C call, not randrange's several; its bias (n / 2**53) is nil here.
        return low + int(self.random() * (high - low)) if high - low > 1 else low

    def permutation(self, n: int) -> list[int]:
        return list(self.order(n))

    def order(self, n: int):
        """0..n-1 in a uniformly random order, drawn as it is read (a caller that stops at the
        first index that works pays for the indices it read)."""
        indices = list(range(n))
        uniform = self.random
        for i in range(n):
            j = i + int(uniform() * (n - i))
            indices[i], indices[j] = indices[j], indices[i]
            yield indices[i]

    def shuffle(self, items: list) -> None:
        items[:] = [items[k] for k in self.order(len(items))]

    def generator(self) -> np.random.Generator:
        """A numpy Generator seeded from these draws (for code that wants one, a Paraphraser)."""
        return np.random.default_rng(self._random.getrandbits(63))


def draws(rng: np.random.Generator | Draws) -> Draws:
    """``rng`` as Draws: a Generator gives one seed; Draws are used as they are."""
    return rng if isinstance(rng, Draws) else Draws(rng)


def in_random_order(rng, n: int):
    """Indices 0..n-1 in random order: lazily from Draws, all at once from a numpy Generator."""
    return rng.order(n) if isinstance(rng, Draws) else (int(k) for k in rng.permutation(n))
