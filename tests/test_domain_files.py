"""The files domain: path resolution against the cwd, its policy rules, and tools that never
raise anything but ToolError (nor change the state when they refuse)."""

import copy
import json
import posixpath

import jsonschema
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rods_envs.builder import TaskBuilder
from rods_envs.domains.files import DOMAIN, HOME
from rods_envs.task import Task
from rods_envs.tool import ToolError
from tool_checks import checked_call, refused_call

TOOLS = DOMAIN.tools


@pytest.fixture
def world():
    return DOMAIN.make_world(np.random.default_rng(3))


def run(state, tool_name, /, **args):
    return checked_call(TOOLS, state, tool_name, **args)


def refused(state, tool_name, /, **args):
    return refused_call(TOOLS, state, tool_name, **args)


def check_tree(state):
    nodes = state["nodes"]
    assert nodes["/"]["type"] == "dir" and nodes[state["cwd"]]["type"] == "dir"
    for path, node in nodes.items():
        assert path == posixpath.normpath(path) and path.startswith("/") and not path.startswith("//")
        if path != "/":
            assert nodes[posixpath.dirname(path)]["type"] == "dir", f"{path} has no parent directory"
        if node["type"] == "file":
            assert node["content"] == "" or node["content"].endswith("\n")


def test_worlds_are_small_valid_trees():
    for seed in range(40):
        world = DOMAIN.make_world(np.random.default_rng(seed))
        assert len(json.dumps(world)) <= 6000
        assert world["cwd"] == world["home"] == HOME
        check_tree(world)


def test_relative_paths_follow_the_cwd(world):
    run(world, "cd", path="~/projects")
    assert run(world, "pwd") == {"cwd": f"{HOME}/projects"}
    project = run(world, "ls")["entries"][0]["name"]
    run(world, "cd", path=project)
    assert world["cwd"] == f"{HOME}/projects/{project}"
    run(world, "write_file", path="new.txt", content="hello")
    assert world["nodes"][f"{HOME}/projects/{project}/new.txt"]["content"] == "hello\n"
    assert run(world, "cd", path="../..")["cwd"] == HOME
    assert run(world, "cd")["cwd"] == HOME


def test_dotdot_stops_at_the_root_and_hostile_paths_stay_inside(world):
    assert run(world, "cd", path="/../../..")["cwd"] == "/"
    assert run(world, "cd", path="//etc//")["cwd"] == "/etc"
    run(world, "cd", path="~")
    assert "/etc/passwd" in refused(world, "cat", path="../../etc/passwd")
    assert run(world, "cat", path="../../../../etc/hostname")["content"] == "rods-box\n"
    assert "control characters" in refused(world, "cat", path="notes\x00/x")
    assert "control characters" in refused(world, "write_file", path="a\nb", content="x")


def test_only_home_is_writable(world):
    assert "permission denied" in refused(world, "write_file", path="/etc/hostname", content="evil")
    assert "permission denied" in refused(world, "write_file", path="../../../etc/x", content="evil")
    assert "permission denied" in refused(world, "rm", path="/etc", recursive=True)
    assert "permission denied" in refused(world, "mkdir", path="/tmp")
    assert "permission denied" in refused(world, "cp", source="/etc/motd", destination="/")
    assert "home directory" in refused(world, "rm", path="~", recursive=True)
    assert "home directory" in refused(world, "mv", source="~", destination="/home/other")
    assert run(world, "cp", source="/etc/motd", destination="~")["destination"] == f"{HOME}/motd"


def test_rm_rules(world):
    assert "recursive=true" in refused(world, "rm", path="~/logs")
    run(world, "cd", path="~/logs")
    assert "current directory" in refused(world, "rm", path=".", recursive=True)
    run(world, "cd", path="~/notes")
    removed = run(world, "rm", path="~/logs", recursive=True)["removed"]
    assert removed[0] == f"{HOME}/logs" and all(p.startswith(f"{HOME}/logs") for p in removed)
    assert not any(p.startswith(f"{HOME}/logs") for p in world["nodes"])
    refused(world, "rm", path="~/logs")
    check_tree(world)


def test_mv_and_cp_never_overwrite(world):
    notes = sorted(p for p in world["nodes"] if p.startswith(f"{HOME}/notes/"))
    a, b = notes[0], notes[1]
    assert "already exists" in refused(world, "mv", source=a, destination=b)
    assert "already exists" in refused(world, "cp", source=a, destination=b)
    assert "into itself" in refused(world, "mv", source="~/notes", destination="~/notes/inner")
    assert "no such file" in refused(world, "mv", source=a, destination="~/nowhere/x.txt")
    moved = run(world, "mv", source="~/notes", destination="~/archive")
    assert moved["destination"] == f"{HOME}/archive/notes"
    assert f"{HOME}/archive/notes/{posixpath.basename(a)}" in world["nodes"]
    check_tree(world)


def test_cp_refuses_directories(world):
    assert "is a directory" in refused(world, "cp", source="~/notes", destination="~/archive")


def test_mkdir_parents(world):
    assert "parents=true" in refused(world, "mkdir", path="~/a/b/c")
    assert run(world, "mkdir", path="~/a/b/c", parents=True)["created"] == [
        f"{HOME}/a", f"{HOME}/a/b", f"{HOME}/a/b/c"]
    assert run(world, "mkdir", path="~/a", parents=True)["created"] == []
    assert "already exists" in refused(world, "mkdir", path="~/a")
    file = next(p for p in world["nodes"] if world["nodes"][p]["type"] == "file" and p.startswith(HOME))
    assert "not a directory" in refused(world, "mkdir", path=file + "/sub", parents=True)


def test_text_always_ends_with_one_newline(world):
    run(world, "write_file", path="~/t.txt", content="one\n\n\n")
    run(world, "append_file", path="~/t.txt", text="two")
    run(world, "append_file", path="~/t.txt", text="three\n")
    assert run(world, "cat", path="~/t.txt")["content"] == "one\ntwo\nthree\n"
    assert run(world, "wc", path="~/t.txt") == {"path": f"{HOME}/t.txt", "lines": 3, "words": 3, "chars": 14}
    assert run(world, "tail", path="~/t.txt", lines=2)["lines"] == ["two", "three"]
    assert "nothing to append" in refused(world, "append_file", path="~/t.txt", text="\n")
    assert "no such file" in refused(world, "append_file", path="~/missing.txt", text="x")


def test_find_grep_du(world):
    logs = sorted(p for p, n in world["nodes"].items() if n["type"] == "file" and p.endswith(".log"))
    found = run(world, "find", path="~", name="*.log", type="file")
    assert [m["path"] for m in found["matches"]] == logs and found["count"] == len(logs)
    assert all(m["dir"] == posixpath.dirname(m["path"]) for m in found["matches"])
    hits = run(world, "grep", pattern="rods", path="/etc")
    assert [m["path"] for m in hits["matches"]] == ["/etc/hostname", "/etc/motd"]
    assert run(world, "du", path="/etc") == {"path": "/etc", "bytes": 33, "files": 2}


def _path_strategy(world):
    known = sorted(world["nodes"])
    odd = ["~", ".", "..", "/", "//", "../../etc/passwd", "~/new", "~/a/b", "x\x00y", "~/notes/new.txt",
           "/home/user/../../..", "~other", " ", "~/logs/*.log"]
    return st.one_of(st.sampled_from(known + odd), st.text(min_size=1, max_size=12))


def _args_strategy(tool, paths):
    values = {"string": st.one_of(paths, st.text(max_size=30)), "integer": st.integers(-2, 120),
              "boolean": st.booleans()}
    props = tool.parameters["properties"]
    fields = {}
    for name, schema in props.items():
        fields[name] = st.sampled_from(schema["enum"]) if "enum" in schema else values[schema["type"]]
    required = set(tool.parameters["required"])
    return st.fixed_dictionaries({k: v for k, v in fields.items() if k in required},
                                 optional={k: v for k, v in fields.items() if k not in required})


WORLD = DOMAIN.make_world(np.random.default_rng(11))
CALLS = st.lists(st.one_of(*[st.tuples(st.just(name), _args_strategy(t, _path_strategy(WORLD)))
                             for name, t in TOOLS.items()]), max_size=14)


@settings(max_examples=150, deadline=None)
@given(CALLS)
def test_tools_refuse_cleanly_and_keep_the_tree_valid(calls):
    state = copy.deepcopy(WORLD)
    results = []
    for name, args in calls:
        before = copy.deepcopy(state)
        try:
            result = TOOLS[name](state, args)
        except ToolError:
            assert state == before, f"refused {name}({args}) changed the state"
            continue
        jsonschema.validate(json.loads(json.dumps(result)), TOOLS[name].result)
        results.append((result, json.dumps(result)))
        check_tree(state)
    for result, snapshot in results:
        assert json.dumps(result) == snapshot, "a result aliases the state"


def test_scenarios_build_replayable_tasks():
    rng = np.random.default_rng(0)
    built = {s.__name__: 0 for s in DOMAIN.scenarios}
    depths = set()
    for i in range(25):
        for scenario in DOMAIN.scenarios:
            b = TaskBuilder(DOMAIN, DOMAIN.make_world(rng), rng)
            if b.add_turn(scenario, withhold=bool(rng.random() < 0.3)):
                built[scenario.__name__] += 1
                task = Task.from_dict(b.record(f"files-{i}"))
                assert task.gold.states[-1] == b.state
                depths.add(task.signature["depth"])
    assert all(n >= 15 for n in built.values()), built
    assert depths == {1, 2, 3, 4}
