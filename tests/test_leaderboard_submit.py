"""`rods submit`: a valid file is stored atomically; every kind of bad file is rejected in one line,
with a non-zero exit and nothing written."""

import json
import math
import os

import pytest

from rods_agents.cli import main
from rods_agents.leaderboard.verify import MAX_BYTES
from test_eval_policies import results


def submit(path, folder, capsys, *extra):
    code = main(["submit", str(path), "--dir", str(folder), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write(tmp_path, value, name="results.json"):
    """A dict or list as JSON, a str as text, bytes as they are."""
    path = tmp_path / name
    if isinstance(value, bytes):
        path.write_bytes(value)
    else:
        path.write_text(value if isinstance(value, str) else json.dumps(value))
    return path


def assert_rejected(tmp_path, capsys, value, fragment, name="results.json"):
    folder = tmp_path / "submissions"
    folder.mkdir(exist_ok=True)
    before = sorted(os.listdir(folder))
    path = value if not isinstance(value, (dict, list, str, bytes)) else write(tmp_path, value, name)
    code, out, err = submit(path, folder, capsys)
    assert code == 1, (out, err)
    assert err.count("\n") == 1 and err.startswith("rods submit: rejected "), err
    assert fragment in err, err
    assert "Traceback" not in err
    assert sorted(os.listdir(folder)) == before            # nothing written, no temporary left over
    return err


def test_valid_submission_is_stored_byte_for_byte(tmp_path, capsys):
    path = write(tmp_path, results())
    folder = tmp_path / "submissions"
    code, out, err = submit(path, folder, capsys, "--check")
    assert (code, err) == (0, "") and not folder.exists()  # --check writes nothing
    code, out, err = submit(path, folder, capsys)
    assert code == 0, err
    stored = list(folder.iterdir())
    assert len(stored) == 1 and stored[0].name.startswith("test-eval-policies-make-flaky-")
    assert stored[0].read_bytes() == path.read_bytes()
    assert f"accepted: {stored[0]}" in out


def test_duplicates_are_rejected_even_renamed(tmp_path, capsys):
    folder = tmp_path / "submissions"
    run = results()
    assert submit(write(tmp_path, run), folder, capsys)[0] == 0
    assert_rejected(tmp_path, capsys, run, "duplicate of test-eval-policies-make-flaky-")
    run["policy"]["name"], run["policy"]["model"], run["run"]["created"] = "my own agent", "gpt-x", "2030-01-01"
    assert_rejected(tmp_path, capsys, run, "duplicate of", name="renamed.json")


@pytest.mark.parametrize("change, fragment", [
    (lambda r: r["episodes"][5].update(outcome=2), "schema violation at episodes[5].outcome"),
    (lambda r: r.pop("summary"), "'summary' is a required property"),
    (lambda r: r.update(extra="x"), "Additional properties"),
    (lambda r: r["policy"].update(name="x" * 201), "schema violation at policy.name"),
    (lambda r: r.update(suite="../../etc"), "schema violation at suite"),
    (lambda r: r["episodes"][0].update(progress="1"), "schema violation at episodes[0].progress"),
    (lambda r: r["policy"]["metadata"].update(weights="w" * 10_000), "schema violation at policy.metadata.weights"),
    (lambda r: r.update(format="rods-results/0"), "schema violation at format"),
])
def test_schema_violations(tmp_path, capsys, change, fragment):
    run = results()
    change(run)
    err = assert_rejected(tmp_path, capsys, run, fragment)
    assert len(err) < 400                                   # the huge value is not echoed back


def test_wrong_or_unknown_suite(tmp_path, capsys):
    run = results()
    run["suite_hash"] = "0" * 64
    assert_rejected(tmp_path, capsys, run, "another version of the suite")
    run = results()
    run["suite"] = "rods-v9"
    assert_rejected(tmp_path, capsys, run, "unknown suite 'rods-v9'")


def test_missing_trials(tmp_path, capsys):
    run = results()
    gone = next(i for i, e in enumerate(run["episodes"]) if e["trial"] == 2)
    lost = run["episodes"].pop(gone)
    assert_rejected(tmp_path, capsys, run,
                    f"missing 1 of 660 episodes (220 tasks of rods-v1/test x 3 trials), for example task "
                    f"{lost['task_id']!r} trial 2")
    run = results()
    run["episodes"] = [e for e in run["episodes"] if e["domain"] != "travel"]   # a --domain run
    assert_rejected(tmp_path, capsys, run, "missing 165 of 660 episodes")


@pytest.mark.parametrize("change, fragment", [
    (lambda r: r["episodes"].append(dict(r["episodes"][0])), "a second record of the same task and trial"),
    (lambda r: r["episodes"][0].update(trial=3), "trial out of range, the file says trials=3"),
    (lambda r: r["episodes"][0].update(task_id="retail-test-9999"), "no such task in rods-v1/test"),
    (lambda r: r["episodes"][0].update(domain="travel"), "the task is a retail task, not 'travel'"),
    (lambda r: r.update(split="train"), "no such task in rods-v1/train"),
])
def test_coverage_violations(tmp_path, capsys, change, fragment):
    run = results()
    change(run)
    assert_rejected(tmp_path, capsys, run, fragment)


def _first_failed(run):
    return next(i for i, e in enumerate(run["episodes"]) if e["outcome"] == 0 and 0 < e["progress"] < 1)


def test_inconsistent_episodes(tmp_path, capsys):
    run = results()
    run["episodes"][_first_failed(run)]["outcome"] = 1
    assert_rejected(tmp_path, capsys, run, "does not fit progress")
    run = results()
    run["episodes"][_first_failed(run)]["progress"] = 0.3
    assert_rejected(tmp_path, capsys, run, "is not a whole number of the task's")


@pytest.mark.parametrize("change, fragment", [
    (lambda s: s["pass_hat_k"].__setitem__(0, s["pass_hat_k"][0] + 0.05), "summary.pass_hat_k[0] states"),
    (lambda s: s["pass_hat_k"].__setitem__(2, 0.9), "summary.pass_hat_k[2] states 0.9"),
    (lambda s: s["pass_hat_k_ci95"][1].__setitem__(1, 0.99), "summary.pass_hat_k_ci95[1][1]"),
    (lambda s: s.update(progress=0.99), "summary.progress states 0.99"),
    (lambda s: s["domains"]["files"].update(outcome=1.0), "summary.domains.files.outcome"),
    (lambda s: s["domains"]["retail"]["pass_hat_k"].pop(), "summary.domains.retail.pass_hat_k should have 3"),
    (lambda s: s["domains"].pop("cloudops"), "summary.domains lacks 'cloudops'"),
    (lambda s: s.update(elo=1500), "summary.elo is not an aggregate rods computes"),
    (lambda s: s["bootstrap"].update(resamples=10), "summary.bootstrap.resamples states 10"),
])
def test_forged_aggregates(tmp_path, capsys, change, fragment):
    run = results()
    change(run["summary"])
    assert_rejected(tmp_path, capsys, run, "stated aggregates disagree with the episodes: " + fragment)


def test_forged_episodes_under_an_honest_looking_summary(tmp_path, capsys):
    run = results()
    for e in run["episodes"]:          # claim every trial passed, leave the summary as it was
        e["outcome"], e["progress"] = 1, 1.0
    assert_rejected(tmp_path, capsys, run, "summary.outcome states")


def test_tolerance_admits_float_noise_only(tmp_path, capsys):
    run = results()
    run["summary"]["progress"] = math.nextafter(run["summary"]["progress"], 1)
    assert submit(write(tmp_path, run), tmp_path / "submissions", capsys)[0] == 0


def test_oversized_file(tmp_path, capsys):
    path = tmp_path / "huge.json"
    with open(path, "wb") as f:
        f.truncate(MAX_BYTES + 1)       # sparse: instant, and never read
    assert_rejected(tmp_path, capsys, path, "over the 50 MiB limit")


@pytest.mark.parametrize("content, fragment", [
    ("this is not json", "not JSON: Expecting value at line 1 column 1"),
    (b"\xff\xfe\x00garbage", "not JSON: byte 0 is not UTF-8 text"),
    ("", "the file is empty"),
    ("   \n", "the file is empty"),
    ("[1, 2, 3]", "the JSON is list, not an object"),
    ('{"suite": NaN}', "NaN is not a JSON number"),
    ('{"episodes": [', "not JSON: Expecting value at line 1 column 15"),
    ("[" * 100_000, "not JSON"),
])
def test_non_json_files(tmp_path, capsys, content, fragment):
    assert_rejected(tmp_path, capsys, content, fragment)


def test_not_a_file(tmp_path, capsys):
    assert_rejected(tmp_path, capsys, tmp_path / "nowhere.json", "no such file")
    (tmp_path / "folder.json").mkdir()
    assert_rejected(tmp_path, capsys, tmp_path / "folder.json", "not a regular file")
