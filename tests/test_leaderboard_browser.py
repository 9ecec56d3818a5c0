"""The built page in a real browser: Debian's chromium, headless, loads it from a loopback HTTP
server; after the page's script has run, the rows are there, sorted, and a model name made of
markup is shown as text (no element comes of it)."""

import functools
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rods_agents.cli import main
from test_leaderboard_site import MARKUP, Elements, make_submissions

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    make_submissions(tmp / "submissions", tmp)
    assert main(["leaderboard", "build", "--out", str(tmp / "site"), "--submissions", str(tmp / "submissions")]) == 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(tmp / "site")))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", tmp
    httpd.shutdown()
    httpd.server_close()


def dump_dom(url: str, profile) -> Elements:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--dump-dom", url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "<html" in done.stdout, done.stderr[-2000:]
    return Elements(done.stdout)


def rows(page: Elements) -> list[str]:
    """Each body row's policy name, in page order (the name cell's data-sort is its lowercase)."""
    names, in_row = [], False
    for tag, attrs in page.tags:
        if tag == "tr":
            in_row = attrs.get("class") in ("entry", "sanity")
        elif in_row and tag == "a":
            names.append(attrs["href"].rsplit("/", 1)[-1].rsplit("-", 1)[0])
            in_row = False
    return names


@pytest.fixture(scope="module")
def default_page(server):
    url, tmp = server
    return dump_dom(f"{url}/index.html", tmp / "profile-a")


def test_rows_are_there_after_the_script_runs(default_page):
    page = default_page
    assert rows(page) == ["oracle", "flaky-agent", "img-src-x-onerror-alert-1-b-bold-b"]
    sorted_heads = [(attrs["data-key"], attrs["aria-sort"]) for tag, attrs in page.tags
                    if tag == "th" and "aria-sort" in attrs]
    assert sorted_heads == [("pass1", "descending")]          # set by the script: it ran


def test_the_script_sorts_by_the_column_the_address_names(server):
    url, tmp = server
    page = dump_dom(f"{url}/index.html#sort=progress&order=asc", tmp / "profile-b")
    assert rows(page) == ["img-src-x-onerror-alert-1-b-bold-b", "flaky-agent", "oracle"]


def test_markup_in_a_model_name_shows_as_text(default_page):
    page = default_page
    assert not [tag for tag, _ in page.tags if tag in ("img", "b")]
    assert sum(tag == "script" for tag, _ in page.tags) == 1
    text = "".join(page.text)
    assert MARKUP in text and "<script>alert(2)</script>" in text
