import json
from pathlib import Path

import jsonschema

from rods_agents.cli import main

RESULTS_SCHEMA = json.loads((Path(__file__).parents[1] / "leaderboard/schema/results.schema.json").read_text())


def test_eval_writes_results(tmp_path, capsys):
    out = tmp_path / "results.json"
    assert main(["eval", "--policy", "oracle", "--split", "test", "--domain", "retail", "--trials", "2",
                 "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    jsonschema.validate(results, RESULTS_SCHEMA)
    assert results["summary"]["outcome"] == 1.0
    assert len(results["episodes"]) == 2 * 55
    assert {e["trial"] for e in results["episodes"]} == {0, 1}
    assert "oracle on rods-v1/test" in capsys.readouterr().out


def test_random_policy_scores_low(capsys):
    assert main(["eval", "--policy", "random", "--split", "test", "--domain", "files"]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    outcome = float(line.split("outcome ")[1].split(",")[0])
    assert outcome < 0.2


def test_bad_policy_is_a_clear_error(capsys):
    assert main(["eval", "--policy", "no_such_module_xyz:make"]) == 2
    assert "error" in capsys.readouterr().err
