"""Frozen task suites: ``tasks/<suite>/`` holds one JSONL file per split and a manifest with each
split's content hash. A suite never changes; a change to any task is a new suite version."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .task import Task, TaskError, load_tasks

SPLITS = ("train", "test")


def suites_root() -> Path:
    return Path(str(resources.files("rods_tasks")))


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Suite:
    def __init__(self, name: str, manifest: dict, splits: dict[str, list[Task]]):
        self.name, self.manifest, self._splits = name, manifest, splits

    @property
    def hash(self) -> str:
        """One hash for the whole suite: the manifest's split hashes, combined."""
        parts = "".join(f"{s}:{self.manifest['splits'][s]['sha256']};" for s in sorted(self._splits))
        return hashlib.sha256(parts.encode()).hexdigest()

    def split(self, name: str, domain: str | None = None) -> list[Task]:
        if name == "all":
            tasks = [t for s in SPLITS for t in self._splits[s]]
        elif name in self._splits:
            tasks = self._splits[name]
        else:
            raise ValueError(f"unknown split {name!r}; choose from {', '.join(SPLITS)} or 'all'")
        return [t for t in tasks if domain is None or t.domain == domain]

    def task(self, task_id: str) -> Task:
        for tasks in self._splits.values():
            for t in tasks:
                if t.id == task_id:
                    return t
        raise KeyError(f"no task {task_id!r} in suite {self.name}")

    def __repr__(self) -> str:
        sizes = ", ".join(f"{s}={len(t)}" for s, t in self._splits.items())
        return f"Suite({self.name!r}, {sizes})"


@lru_cache(maxsize=8)
def load_suite(name: str = "rods-v1", root: str | None = None) -> Suite:
    """Load a suite, checking every split file against the manifest's hash."""
    folder = Path(root) if root else suites_root() / name
    manifest_path = folder / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise TaskError(f"no suite {name!r}: {manifest_path} does not exist") from None
    except (ValueError, OSError) as exc:
        raise TaskError(f"{manifest_path}: unreadable manifest: {exc}") from None
    splits = {}
    for split, entry in manifest["splits"].items():
        path = folder / entry["file"]
        if file_sha256(path) != entry["sha256"]:
            raise TaskError(f"{path}: content hash differs from the manifest; suites are frozen, "
                            "so a changed task belongs in a new suite version")
        splits[split] = load_tasks(path)
    return Suite(name, manifest, splits)
