"""``rods submit results.json``: verify a results file and add it to ``leaderboard/submissions/``.

A file that passes every check of ``verify`` and is not a copy of one already there is written
into the folder atomically (a temporary file in the same folder, then a rename), under
``<name>-<content hash>.json``, byte for byte as submitted.
"""

from __future__ import annotations

import re
from pathlib import Path

from .atomic import write_atomically
from .verify import MAX_BYTES, Rejected, content_hash, read_results_file, verify_file

__all__ = ["Rejected", "submit", "submission_name", "existing_hashes"]


def submission_name(results: dict, digest: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", results["policy"]["name"].lower()).strip("-")[:60].strip("-")
    return f"{slug or 'submission'}-{digest[:12]}.json"


def existing_hashes(folder: Path) -> dict[str, Path]:
    """Content hash of every submission already in the folder (unreadable ones are skipped:
    the leaderboard build reports those)."""
    found = {}
    for path in sorted(folder.glob("*.json")):
        try:
            _, results = read_results_file(path)
            found[content_hash(results)] = path
        except (Rejected, KeyError, TypeError):
            continue
    return found


def submit(path: str | Path, folder: str | Path, check_only: bool = False, max_bytes: int = MAX_BYTES) -> Path:
    """The path written (or, with ``check_only``, the path checked); raises ``Rejected``."""
    data, results = verify_file(path, max_bytes)
    folder = Path(folder)
    digest = content_hash(results)
    if folder.is_dir():
        duplicate = existing_hashes(folder).get(digest)
        if duplicate is not None:
            raise Rejected(f"a duplicate of {duplicate.name}, already submitted (same suite, split and episodes)")
    if check_only:
        return Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / submission_name(results, digest)
    write_atomically(target, data)
    return target
