"""`rods eval --suite bfcl-v3`: BFCL multi-turn through the same runner, metrics and checks."""

import json

import pytest

from rods_agents.cli import main
from rods_agents.evaluate import load_source

bfcl = pytest.importorskip("rods_envs.bfcl")
pytestmark = pytest.mark.skipif(not bfcl.bfcl_available(),
                                reason="bfcl-eval is not installed (pip install --no-deps bfcl-eval mpmath)")


def test_bfcl_oracle_results_verify_and_forgeries_do_not(tmp_path, capsys):
    out = tmp_path / "bfcl.json"
    assert main(["eval", "--suite", "bfcl-v3", "--policy", "oracle", "--split", "test", "--no-progress",
                 "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    assert results["suite_hash"] == load_source("bfcl-v3").hash
    assert results["summary"]["tasks"] == 400 and results["summary"]["pass_hat_k"] == [1.0]
    assert set(results["summary"]["domains"]) == {"base", "miss_func", "miss_param", "long_context"}
    assert results["envs"]["base"] == {"id": "rods/BFCL-MultiTurn-v0", "kwargs": {"category": "base", "split": "test"}}
    assert main(["submit", str(out), "--check", "--dir", str(tmp_path / "subs")]) == 0

    results["suite_hash"] = load_source("rods-v1").hash        # claims another suite's data
    out.write_text(json.dumps(results))
    capsys.readouterr()
    assert main(["submit", str(out), "--check", "--dir", str(tmp_path / "subs")]) == 1
    assert "another version of the suite" in capsys.readouterr().err


def test_unknown_bfcl_suite_is_a_clear_error(capsys):
    assert main(["eval", "--suite", "bfcl-v9"]) == 2
    assert "the BFCL multi-turn suite is 'bfcl-v3'" in capsys.readouterr().err
