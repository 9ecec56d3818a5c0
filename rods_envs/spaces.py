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
