"""Atomic file writes: a temporary file in the target's folder, synced, then renamed over it, so a
crash leaves the old file or the new one and never half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(target: str | os.PathLike, data: bytes) -> None:
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)           # mkstemp makes it private; results are meant to be shared
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
