"""BFCL V3 multi-turn tasks as Gymnasium environments (``rods/BFCL-MultiTurn-v0``).

The tasks, the backends that execute calls and the function docs all come from the ``bfcl-eval``
package, an optional dependency installed without its heavy extras::

    pip install --no-deps bfcl-eval mpmath

>>> import gymnasium as gym, rods_envs
>>> env = gym.make("rods/BFCL-MultiTurn-v0", category="base", split="train")
>>> observation, info = env.reset(seed=0)

Nothing in this package imports bfcl-eval at import time, so ``gym.make`` without it fails with
the install command rather than a bare ImportError.
"""

from __future__ import annotations

from .data import CATEGORIES, SPLITS, BFCLTask, load_tasks, split_of
from .install import INSTALL_COMMAND, bfcl_available, require_bfcl

ENV_ID = "rods/BFCL-MultiTurn-v0"

__all__ = ["CATEGORIES", "ENV_ID", "INSTALL_COMMAND", "SPLITS", "BFCLTask", "bfcl_available",
           "load_tasks", "require_bfcl", "split_of"]
