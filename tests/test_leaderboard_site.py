"""`rods leaderboard build`: the page and the Markdown table from verified submissions, with
everything from a submission escaped; and the committed baseline submissions themselves."""

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from rods_agents.cli import main
from rods_agents.leaderboard import SUBMISSIONS_DIR
from rods_agents.leaderboard.site import md_text
from rods_agents.leaderboard.submit import submit
from rods_agents.leaderboard.verify import verify_file
from test_eval_policies import results

MARKUP = "<img src=x onerror=alert(1)><b>bold</b>"


class Elements(HTMLParser):
    """Every start tag of a page, with its attributes, and the page's text."""

    def __init__(self, page: str):
        super().__init__()
        self.tags, self.text = [], []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def make_submissions(folder: Path, tmp_path: Path) -> None:
    """The oracle, the flaky oracle, and a random run whose name and model carry markup."""
    runs = [results("oracle", 2), results(), results("random", 2)]
    runs[1]["policy"]["name"] = "flaky | *agent*"
    runs[2]["policy"]["name"], runs[2]["policy"]["model"] = MARKUP, 'm"odel <script>alert(2)</script>'
    for index, run in enumerate(runs):
        path = tmp_path / f"run{index}.json"
        path.write_text(json.dumps(run))
        submit(path, folder)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("site")
    make_submissions(tmp / "submissions", tmp)
    assert main(["leaderboard", "build", "--out", str(tmp / "site"), "--submissions", str(tmp / "submissions")]) == 0
    return tmp / "site"


def test_page_has_one_row_per_submission_in_score_order(site):
    page = Elements((site / "index.html").read_text())
    rows = [attrs for tag, attrs in page.tags if tag == "tr" and attrs.get("class") in ("entry", "sanity")]
    assert [r["class"] for r in rows] == ["sanity", "entry", "entry"]      # oracle 1.0, flaky ~0.73, random 0
    heads = [attrs["data-key"] for tag, attrs in page.tags if tag == "th"]
    assert heads[:7] == ["rank", "name", "model", "pass1", "pass2", "pass3", "progress"]
    assert {"domain-retail", "domain-travel", "domain-files", "domain-cloudops"} <= set(heads)
    assert sum(tag == "polyline" for tag, _ in page.tags) == 3               # one pass^k curve each
    text = " ".join(page.text)
    assert "sanity check" in text


def test_nothing_from_a_submission_reaches_the_page_unescaped(site):
    raw = (site / "index.html").read_text()
    page = Elements(raw)
    assert not [tag for tag, _ in page.tags if tag in ("img", "b")]
    assert sum(tag == "script" for tag, _ in page.tags) == 1                 # only the page's own sorter
    assert not any(name.startswith("on") for _, attrs in page.tags for name in attrs)
    text = "".join(page.text)
    assert MARKUP in text and "<script>alert(2)</script>" in text             # shown, as text
    assert "script-src 'sha256-" in raw                                       # and a CSP behind the escaping


def test_markdown_table_escapes_markup_and_pipes(site):
    table = (site / "leaderboard.md").read_text()
    assert "<img" not in table and "<script" not in table
    assert "&lt;img src=x onerror=alert(1)&gt;&lt;b&gt;bold&lt;/b&gt;" in table
    assert "flaky \\| \\*agent\\*" in table
    rows = [line for line in table.splitlines() if line.startswith("| ") and "pass^" not in line]
    assert len(rows) == 3 and len({row.count(" | ") for row in rows}) == 1   # no cell split by a pipe
    assert rows[0].startswith("| – | oracle *(sanity check)*")
    assert md_text("a\nb|c") == "a b\\|c"


def test_copies_of_the_submissions_are_published(site):
    copies = sorted((site / "submissions").glob("*.json"))
    assert len(copies) == 3
    for copy in copies:
        verify_file(copy)


def test_a_bad_submission_stops_the_build(tmp_path, capsys):
    folder = tmp_path / "submissions"
    make_submissions(folder, tmp_path)
    victim = sorted(folder.glob("*.json"))[0]
    forged = json.loads(victim.read_text())
    forged["summary"]["pass_hat_k"][0] = 0.99
    victim.write_text(json.dumps(forged))
    assert main(["leaderboard", "build", "--out", str(tmp_path / "site"), "--submissions", str(folder)]) == 2
    err = capsys.readouterr().err
    assert victim.name in err and "stated aggregates disagree" in err and err.count("\n") == 1
    assert not (tmp_path / "site" / "index.html").exists()


def test_empty_leaderboard_builds(tmp_path):
    (tmp_path / "none").mkdir()
    assert main(["leaderboard", "build", "--out", str(tmp_path / "site"), "--submissions", str(tmp_path / "none")]) == 0
    assert "No submissions yet." in (tmp_path / "site" / "index.html").read_text()


def test_committed_baselines_verify_and_build(tmp_path):
    files = sorted(SUBMISSIONS_DIR.glob("*.json"))
    by_spec = {}
    for path in files:
        _, run = verify_file(path)
        by_spec[run["policy"]["spec"]] = run
    assert {"oracle", "random"} <= set(by_spec)
    oracle, random = by_spec["oracle"], by_spec["random"]
    assert oracle["policy"]["sanity_check"] is True and random["policy"].get("sanity_check") is False
    assert oracle["split"] == random["split"] == "test" and oracle["trials"] == random["trials"] == 4
    assert oracle["summary"]["pass_hat_k"] == [1.0] * 4
    assert random["summary"]["pass_hat_k"][0] < 0.05
    assert main(["leaderboard", "build", "--out", str(tmp_path / "site")]) == 0
