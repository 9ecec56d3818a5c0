import json

from rods_agents.cli import main
from rods_envs.task import load_tasks


def test_synth_writes_verified_variants(tmp_path, capsys):
    out = tmp_path / "variants.jsonl"
    assert main(["synth", "--suite", "rods-v1", "--split", "test", "--domain", "retail", "--per-seed", "1",
                 "--seed", "0", "--out", str(out)]) == 0
    variants = load_tasks(out)
    assert len(variants) >= 20
    assert all(v.record["lineage"]["mutations"][0] == "resample_like" for v in variants)
    printed = capsys.readouterr().out
    assert "verified variants" in printed and "rejected attempts" in printed
    assert "every one matches its seed's signature" in printed


def test_synth_mutations_and_determinism(tmp_path):
    paths = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    for path in paths:
        assert main(["synth", "--split", "test", "--domain", "files", "--op", "withhold", "--op", "prune",
                     "--per-seed", "1", "--seed", "3", "--out", str(path)]) == 0
    assert paths[0].read_text() == paths[1].read_text() and paths[0].read_text()
    for line in paths[0].read_text().splitlines():
        assert json.loads(line)["lineage"]["mutations"][0] in ("withhold", "prune")
