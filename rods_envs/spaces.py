"""A text space over all of Unicode.

gymnasium's ``Text`` only contains strings drawn from its charset (alphanumerics by default), so
real dialogue, with punctuation, emoji or non-Latin script, would fail ``contains``. This space
accepts any string up to ``max_length`` and samples from a mixed charset.
"""

from __future__ import annotations

import string
from typing import Any

from gymnasium import spaces

_SAMPLE_CHARSET = string.printable + "äéßøçñ€→✓αβγжщ中文日本語한국🙂"


class UnicodeText(spaces.Text):
    def __init__(self, max_length: int, seed=None):
        super().__init__(max_length=max_length, min_length=0, charset=_SAMPLE_CHARSET, seed=seed)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"UnicodeText({self.max_length})"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, UnicodeText) and other.max_length == self.max_length


def _no_shared_memory(space: UnicodeText, n: int = 1, ctx=None):
    # gymnasium would store Text in shared memory as character codes of its charset, and text
    # outside that charset comes back as zeros without an error: refuse instead.
    raise TypeError("UnicodeText observations cannot go through shared memory: "
                    "use gymnasium.vector.AsyncVectorEnv(..., shared_memory=False)")


try:
    from gymnasium.vector.utils import create_shared_memory
    create_shared_memory.register(UnicodeText)(_no_shared_memory)
except ImportError:  # an older gymnasium without single-dispatch shared memory
    pass
