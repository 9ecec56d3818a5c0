import io
import json
from pathlib import Path

import jsonschema

from rods_agents.cli import main
from rods_agents.leaderboard.progress import PlainBar, progress_bar

RESULTS_SCHEMA = json.loads((Path(__file__).parents[1] / "leaderboard/schema/results.schema.json").read_text())


def test_eval_writes_results(tmp_path, capsys):
    out = tmp_path / "results.json"
    assert main(["eval", "--policy", "oracle", "--split", "test", "--domain", "retail", "--trials", "2",
                 "--out", str(out), "--name", "the oracle", "--model", "gold"]) == 0
    results = json.loads(out.read_text())
    jsonschema.validate(results, RESULTS_SCHEMA)
    assert results["summary"]["outcome"] == 1.0 and results["summary"]["pass_hat_k"] == [1.0, 1.0]
    assert len(results["episodes"]) == 2 * 55
    assert {e["trial"] for e in results["episodes"]} == {0, 1}
    assert results["policy"]["name"] == "the oracle" and results["policy"]["model"] == "gold"
    assert not Path(str(out) + ".partial").exists()
    printed = capsys.readouterr()
    assert "the oracle on rods-v1/test (55 tasks x 2 trials): pass^1 1.000" in printed.out
    assert "oracle on rods-v1/test" in printed.err and "110/110" in printed.err   # the progress bar, on stderr


def test_random_policy_scores_low(capsys):
    assert main(["eval", "--policy", "random", "--split", "test", "--domain", "files", "--no-progress"]) == 0
    printed = capsys.readouterr()
    line = printed.out.splitlines()[0]
    assert float(line.split("pass^1 ")[1].split()[0]) < 0.2
    assert printed.err == ""                   # --no-progress


def test_several_policies_write_one_file_each(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["eval", "--policy", "oracle,random", "--domain", "files", "--no-progress", "--out", str(out)]) == 0
    assert json.loads((tmp_path / "r.oracle.json").read_text())["policy"]["spec"] == "oracle"
    assert json.loads((tmp_path / "r.random.json").read_text())["policy"]["spec"] == "random"


def test_bad_arguments_are_clear_errors(capsys):
    for argv, fragment in [
        (["eval", "--policy", "no_such_module_xyz:make"], "cannot import no_such_module_xyz"),
        (["eval", "--trials", "0"], "--trials must be at least 1"),
        (["eval", "--workers", "0"], "--workers must be at least 1"),
        (["eval", "--domain", "bakery"], "no tasks of domain bakery"),
        (["eval", "--suite", "rods-v9"], "no suite 'rods-v9'"),
        (["eval", "--policy", "oracle,random", "--name", "x"], "one policy at a time"),
        (["leaderboard", "build", "--submissions", "/no/such/folder"], "no submissions folder"),
    ]:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert fragment in err and err.count("\n") == 1 and "Traceback" not in err, (argv, err)


def test_submit_then_build(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["eval", "--policy", "random", "--no-progress", "--out", str(out)]) == 0
    assert main(["submit", str(out), "--dir", str(tmp_path / "subs")]) == 0
    assert main(["submit", str(out), "--dir", str(tmp_path / "subs")]) == 1
    assert main(["leaderboard", "build", "--out", str(tmp_path / "site"), "--submissions", str(tmp_path / "subs")]) == 0
    assert (tmp_path / "site" / "index.html").exists() and (tmp_path / "site" / "leaderboard.md").exists()


def test_suite_command(capsys):
    assert main(["suite"]) == 0
    assert "test: 220 tasks" in capsys.readouterr().out


def test_plain_progress_bar():
    stream = io.StringIO()
    bar = PlainBar(total=4, label="demo", initial=1, stream=stream)
    for _ in range(3):
        bar.update()
    bar.close()
    assert "demo  1/4" in stream.getvalue() and "4/4 [####################] 100%" in stream.getvalue()
    quiet = progress_bar(10, "x", enabled=False)
    quiet.update()
    quiet.close()
