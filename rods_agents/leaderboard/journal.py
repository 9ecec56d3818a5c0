"""The journal of a running evaluation: one JSON line per finished episode, flushed as it lands.

``rods eval --out results.json`` keeps ``results.json.partial`` while it runs. Its first line
names the run (suite, hash, split, trials, seed, policy, domains); each later line is one finished
episode (or, once, the policy's metadata). A crash or Ctrl-C therefore loses no finished episode,
and running the same command again carries on from the journal. A journal of some other run is
refused rather than mixed in. The results file is written when every episode is done, and the
journal is then removed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # not on Windows; there a second run is simply not detected
    fcntl = None


class JournalError(ValueError):
    """A journal that cannot be resumed (corrupt, or from a different run)."""


def journal_path(out: str | os.PathLike) -> Path:
    return Path(str(out) + ".partial")


class Journal:
    def __init__(self, path: Path, run: dict):
        self.path, self.run = Path(path), run
        self.episodes: list[dict] = []
        self.policy_metadata: dict | None = None
        self.dropped_tail = False
        if self.path.exists():
            self._load()
        self._file = None

    def _load(self) -> None:
        data = self.path.read_bytes()
        records, start, keep = [], 0, 0   # keep: bytes of whole, parsable lines
        number = 0
        while start < len(data):
            number += 1
            end = data.find(b"\n", start)
            torn = end == -1               # no newline: the run died while writing this line
            line = data[start:] if torn else data[start:end]
            if torn:
                self.dropped_tail = True
                break
            start = keep = end + 1
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict) or "kind" not in record:
                    raise ValueError("not a journal record")
            except ValueError:
                raise JournalError(f"{self.path}: line {number} is corrupt; delete the file to start over") from None
            records.append(record)
        if not any(r["kind"] == "episode" for r in records):
            self.path.unlink()             # no finished episode: nothing to keep, start afresh
            return
        head = records[0]
        if head["kind"] != "run" or not isinstance(head.get("run"), dict):
            raise JournalError(f"{self.path}: does not start with a run record; delete it to start over")
        for key, value in self.run.items():
            if head["run"].get(key) != value:
                raise JournalError(
                    f"{self.path} belongs to another run ({key} was {head['run'].get(key)!r}, "
                    f"now {value!r}); delete it or choose another --out")
        for record in records[1:]:
            if record["kind"] == "episode" and isinstance(record.get("episode"), dict):
                self.episodes.append(record["episode"])
            elif record["kind"] == "policy" and isinstance(record.get("metadata"), dict):
                self.policy_metadata = record["metadata"]
        if keep < len(data):
            with open(self.path, "r+b") as f:
                f.truncate(keep)

    def open(self) -> "Journal":
        fresh = not self.path.exists()
        self._file = open(self.path, "a", encoding="utf-8")
        if fcntl is not None:
            try:  # two runs appending to one journal would interleave their episodes
                fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self._file.close()
                self._file = None
                raise JournalError(f"{self.path} is in use by another rods eval; "
                                   "wait for it or choose another --out") from None
        if fresh:
            self._append({"kind": "run", "run": self.run})
        return self

    def _append(self, record: dict) -> None:
        # One write per line, flushed at once: the OS holds it even if this process dies next.
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()

    def add_episode(self, episode: dict) -> None:
        self._append({"kind": "episode", "episode": episode})
        self.episodes.append(episode)

    def set_policy_metadata(self, metadata: dict) -> None:
        if self.policy_metadata is None:
            self._append({"kind": "policy", "metadata": metadata})
            self.policy_metadata = metadata

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    def remove(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> "Journal":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()
