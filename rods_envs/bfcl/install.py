"""Whether the optional bfcl-eval package is here, and the one clear message when it is not."""

from __future__ import annotations

import importlib

from gymnasium.error import DependencyNotInstalled

INSTALL_COMMAND = "pip install --no-deps bfcl-eval mpmath"


def bfcl_available() -> bool:
    try:
        require_bfcl()
    except DependencyNotInstalled:
        return False
    return True


def require_bfcl():
    """The ``bfcl_eval`` module, or DependencyNotInstalled naming the install command.

    The backends need ``mpmath`` (the math API) beyond the standard library, so both are checked.
    """
    try:
        module = importlib.import_module("bfcl_eval")
        importlib.import_module("mpmath")
    except ImportError as exc:
        raise DependencyNotInstalled(
            f"the BFCL multi-turn environments need bfcl-eval ({exc.name or 'bfcl_eval'} is missing): "
            f"{INSTALL_COMMAND}") from None
    return module
