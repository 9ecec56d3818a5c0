"""The evaluation runner: order-free seeds, workers equal to serial, resuming after Ctrl-C or a
crash, refusing foreign or corrupt journals, and recording what the run was."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rods_agents.evaluate import EvalError, Interrupted, RunConfig, episode_seed, evaluate, load_source
from rods_agents.leaderboard.journal import Journal, JournalError, journal_path
from rods_agents.leaderboard.verify import check_schema
from test_eval_policies import results as cached_results

FLAKY = "test_eval_policies:make_flaky"
TESTS = Path(__file__).parent


def stop_after(n: int):
    """An on_episode hook that presses Ctrl-C after the n-th finished episode."""
    seen = []

    def hook(record):
        seen.append(record)
        if len(seen) == n:
            raise KeyboardInterrupt
    return hook


def test_episode_seeds_depend_only_on_seed_task_and_trial():
    seeds = {episode_seed(0, f"task-{i}", trial) for i in range(200) for trial in range(4)}
    assert len(seeds) == 800
    assert episode_seed(0, "a", 1) == episode_seed(0, "a", 1) != episode_seed(1, "a", 1)
    run = cached_results()
    assert all(e["seed"] == episode_seed(0, e["task_id"], e["trial"]) for e in run["episodes"])


def test_workers_give_the_same_results_as_serial():
    serial = evaluate("random", "rods-v1", "test", trials=2, domains=["cloudops"])
    parallel = evaluate("random", "rods-v1", "test", trials=2, domains=["cloudops"], workers=2)
    assert parallel["episodes"] == serial["episodes"]
    assert parallel["summary"] == serial["summary"]
    assert parallel["run"]["workers"] == 2
    assert len({(e["steps"], e["tool_calls"], e["errors"]) for e in serial["episodes"]}) > 5  # not trivially equal


def test_interrupted_run_resumes_to_the_uninterrupted_result(tmp_path):
    out = tmp_path / "results.json"
    with pytest.raises(Interrupted) as stopped:
        evaluate(FLAKY, "rods-v1", "test", trials=2, domains=["retail"], out=str(out), on_episode=stop_after(40))
    assert (stopped.value.done, stopped.value.total) == (40, 110)
    assert not out.exists()
    lines = journal_path(out).read_text().splitlines()
    assert sum(json.loads(line)["kind"] == "episode" for line in lines) == 40

    ran = []
    resumed = evaluate(FLAKY, "rods-v1", "test", trials=2, domains=["retail"], out=str(out), on_episode=ran.append)
    assert len(ran) == 70 and resumed["run"]["resumed_episodes"] == 40
    assert not journal_path(out).exists()
    whole = cached_results(FLAKY, 2)
    assert resumed["episodes"] == [e for e in whole["episodes"] if e["domain"] == "retail"]
    assert json.loads(out.read_text())["episodes"] == resumed["episodes"]
    assert resumed["policy"]["metadata"]["model"] == "flaky-oracle"


def test_half_written_last_line_is_dropped_and_rerun(tmp_path):
    out = tmp_path / "r.json"
    with pytest.raises(Interrupted):
        evaluate("random", "rods-v1", "test", domains=["files"], out=str(out), on_episode=stop_after(10))
    with open(journal_path(out), "a") as f:
        f.write('{"kind": "episode", "episode": {"task_id": "files-te')    # the process died here
    ran = []
    done = evaluate("random", "rods-v1", "test", domains=["files"], out=str(out), on_episode=ran.append)
    assert len(ran) == 45 and len(done["episodes"]) == 55
    assert done["episodes"] == evaluate("random", "rods-v1", "test", domains=["files"])["episodes"]


def test_journal_of_another_run_is_refused(tmp_path):
    out = tmp_path / "r.json"
    with pytest.raises(Interrupted):
        evaluate("random", "rods-v1", "test", domains=["files"], out=str(out), on_episode=stop_after(5))
    with pytest.raises(JournalError, match="another run.*policy"):
        evaluate("oracle", "rods-v1", "test", domains=["files"], out=str(out))
    with pytest.raises(JournalError, match="another run.*trials"):
        evaluate("random", "rods-v1", "test", trials=2, domains=["files"], out=str(out))
    assert journal_path(out).exists()     # refused, and kept


def test_corrupt_journal_line_is_refused(tmp_path):
    out = tmp_path / "r.json"
    with pytest.raises(Interrupted):
        evaluate("random", "rods-v1", "test", domains=["files"], out=str(out), on_episode=stop_after(5))
    lines = journal_path(out).read_text().splitlines()
    lines[3] = "{not json"
    journal_path(out).write_text("\n".join(lines) + "\n")
    with pytest.raises(JournalError, match="line 4 is corrupt"):
        evaluate("random", "rods-v1", "test", domains=["files"], out=str(out))


def test_policy_crash_is_one_line_and_keeps_finished_episodes(tmp_path):
    out = tmp_path / "r.json"
    with pytest.raises(EvalError) as failed:
        evaluate("test_eval_policies:make_crashing", "rods-v1", "test", domains=["files"], out=str(out))
    message = str(failed.value)
    assert "\n" not in message and "model server went away" in message and "2 finished episodes" in message
    assert sum('"episode"' in line for line in journal_path(out).read_text().splitlines()) == 2


def test_bad_arguments_are_clear_errors():
    with pytest.raises(EvalError, match="no tasks of domain"):
        evaluate("random", domains=["bakery"])
    with pytest.raises(EvalError, match="trials"):
        evaluate("random", trials=0)
    with pytest.raises(EvalError, match="workers"):
        evaluate("random", workers=0)
    with pytest.raises(EvalError, match="no act"):
        evaluate("test_eval_policies:make_nothing", domains=["files"])
    with pytest.raises(EvalError, match="MODULE:FACTORY"):
        evaluate("oracle:")
    with pytest.raises(EvalError, match="no callable"):
        evaluate("test_eval_policies:no_such_factory")


def test_results_record_policy_env_and_versions():
    run = cached_results()
    assert run["policy"]["spec"] == FLAKY and run["policy"]["seed"] == 0
    assert run["policy"]["sanity_check"] is False and run["policy"]["model"] == "flaky-oracle"
    assert run["envs"]["retail"] == {"id": "rods/Retail-v0", "kwargs": {"suite": "rods-v1", "split": "test"}}
    assert {"python", "rods", "gymnasium", "numpy", "networkx", "jsonschema"} <= set(run["versions"])
    oracle = evaluate("oracle", domains=["files"])
    assert oracle["policy"]["sanity_check"] is True


def test_ctrl_c_on_the_command_line_keeps_every_finished_episode(tmp_path):
    """A real SIGINT to `rods eval --workers 2`; then the same run, serial this time, finishes it."""
    out = tmp_path / "results.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "rods_agents.cli", "eval", "--policy", "test_eval_policies:make_slow",
               "--domain", "retail", "--domain", "files", "--trials", "2", "--workers", "2",
               "--no-progress", "--out", str(out)]
    run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = journal_path(out)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not journal.exists() or journal.read_text().count('"kind": "episode"') < 20):
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130, err
    assert "interrupted after" in err and "Traceback" not in err
    saved = journal.read_text().count('"kind": "episode"')
    assert 20 <= saved < 220
    serial = [arg if arg != "2" or command[i - 1] != "--workers" else "1" for i, arg in enumerate(command)]
    finish = subprocess.run(serial, env={**env, "RODS_TEST_ACT_DELAY": "0"}, capture_output=True, text=True,
                            timeout=120)
    assert finish.returncode == 0, finish.stderr
    results = json.loads(out.read_text())
    assert results["run"]["resumed_episodes"] == saved
    assert len(results["episodes"]) == 220
    reference = evaluate("random", "rods-v1", "test", trials=2, domains=["retail", "files"])
    assert results["episodes"] == reference["episodes"]


def test_a_journal_in_use_is_not_shared(tmp_path):
    out = tmp_path / "r.json"
    with pytest.raises(Interrupted):
        evaluate("random", "rods-v1", "test", domains=["files"], out=str(out), on_episode=stop_after(5))
    identity = RunConfig("random", "rods-v1", "test", 1, 0, ("files",)).identity(load_source("rods-v1").hash)
    with Journal(journal_path(out), identity):          # another run holds it
        with pytest.raises(JournalError, match="in use by another rods eval"):
            evaluate("random", "rods-v1", "test", domains=["files"], out=str(out))
    assert len(evaluate("random", "rods-v1", "test", domains=["files"], out=str(out))["episodes"]) == 55


def test_a_policy_that_breaks_in_the_workers_is_one_clear_error():
    with pytest.raises(EvalError) as failed:
        evaluate("test_eval_policies:make_nothing", "rods-v1", "test", domains=["files"], workers=2)
    assert "a worker could not start" in str(failed.value) and "no act(observation, info)" in str(failed.value)


class ChattyPolicy:
    """Metadata of every awkward kind: long, non-finite, nested, too many entries."""

    metadata = {"model": "m" * 300, "temperature": float("inf"), "config": {"layers": 2},
                **{f"extra{i}": i for i in range(40)}}

    def act(self, observation, info):
        return "Okay."


def make_chatty():
    return ChattyPolicy()


def test_policy_metadata_is_cut_to_what_the_schema_accepts(tmp_path):
    run = evaluate("test_eval_runner:make_chatty", "rods-v1", "test", domains=["files"])
    check_schema(run)
    meta = run["policy"]["metadata"]
    assert len(meta) == 32 and meta["temperature"] == "inf" and meta["config"] == "{'layers': 2}"
    assert run["policy"]["model"] == "m" * 200
    with pytest.raises(EvalError, match="--name must be 1 to 200 characters"):
        evaluate("random", domains=["files"], name="n" * 201)
