"""The leaderboard: metrics over results files, submission checks, and the static page.

Code lives here; the data it serves lives in the repository's ``leaderboard/`` folder: the results
schema (``leaderboard/schema/results.schema.json``) and the accepted submissions
(``leaderboard/submissions/``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _leaderboard_dir() -> Path:
    """The checkout's ``leaderboard/`` folder; in an installed wheel, the packaged copy of it
    (``rods_leaderboard``) where the build ships one."""
    checkout = Path(__file__).resolve().parents[2] / "leaderboard"
    if (checkout / "schema").is_dir():
        return checkout
    try:
        return Path(str(resources.files("rods_leaderboard")))
    except ModuleNotFoundError:
        return checkout


LEADERBOARD_DIR = _leaderboard_dir()
SCHEMA_PATH = LEADERBOARD_DIR / "schema" / "results.schema.json"
SUBMISSIONS_DIR = LEADERBOARD_DIR / "submissions"
