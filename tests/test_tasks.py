"""Task files: schema validation with clear messages; plan DAGs and signatures."""

import json

import networkx as nx
import pytest

from rods_envs.task import Task, TaskError, load_tasks


def _record(suite):
    return json.loads(json.dumps(suite.split("train")[0].to_dict()))


@pytest.mark.parametrize("corrupt, message", [
    (lambda r: r.pop("plan"), "'plan' is a required property"),
    (lambda r: r.update(turns=[]), "turns"),
    (lambda r: r.update(id="bad id with spaces"), "id"),
    (lambda r: r["plan"][0].update(turn="0"), "plan/0/turn"),
    (lambda r: r.update(domain="casino"), "unknown domain 'casino'"),
    (lambda r: r["plan"][0].update(tool="teleport"), "unknown tool 'teleport'"),
    (lambda r: r["plan"][0]["args"].update(x={"$ref": "c99", "path": []}), "not an earlier call"),
    (lambda r: r["plan"].append(dict(r["plan"][0])), "duplicate call id"),
    (lambda r: r.update(extra=1), "Additional properties"),
])
def test_schema_rejects_corrupt_tasks(suite, corrupt, message):
    record = _record(suite)
    corrupt(record)
    with pytest.raises(TaskError, match="schema violation|unknown|not an earlier|duplicate") as err:
        Task.from_dict(record, "t.jsonl:1")
    assert message in str(err.value) and "t.jsonl:1" in str(err.value)


def test_corrupt_files_name_the_line(tmp_path, suite):
    good = json.dumps(_record(suite))
    path = tmp_path / "tasks.jsonl"
    path.write_text(good + "\n" + good[:-7] + "\n")
    with pytest.raises(TaskError, match=r"tasks.jsonl:2: not valid JSON"):
        load_tasks(path)
    path.write_bytes(b"\xff\xfe garbage")
    with pytest.raises(TaskError, match="cannot read"):
        load_tasks(path)
    with pytest.raises(TaskError, match="cannot read"):
        load_tasks(tmp_path / "missing.jsonl")


def test_plan_is_a_dag_with_signature(suite):
    for task in suite.split("test"):
        graph = task.graph
        assert nx.is_directed_acyclic_graph(graph)
        sig = task.signature
        assert sig["calls"] == len(task.calls) and sig["turns"] == len(task.turns)
        assert sig["depth"] == nx.dag_longest_path_length(graph) + 1
        assert sum(n for _, n in sig["tools"]) == sig["calls"]


def test_gold_is_computed_once(suite):
    task = suite.split("test")[0]
    assert task.gold is task.gold
    assert len(task.gold.states) == len(task.turns)


def test_key_ignores_id(suite):
    record = _record(suite)
    a = Task.from_dict(record)
    record["id"] = "renamed"
    assert Task.from_dict(record).key == a.key
