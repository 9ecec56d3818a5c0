"""rods-v1: size, coverage, disjoint splits, frozen hashes; solvable by the oracle, failed by idling."""

import collections

import gymnasium as gym
import pytest

import rods_envs
from rods_envs.episode import DoNothingPolicy, run_episode
from rods_envs.oracle import OraclePolicy
from rods_envs.suite import file_sha256, suites_root


def test_sizes_and_coverage(suite):
    train, test = suite.split("train"), suite.split("test")
    assert len(train) >= 400 and len(test) >= 200
    for tasks in (train, test):
        assert set(collections.Counter(t.domain for t in tasks)) == set(rods_envs.DOMAINS)
    every = train + test
    assert {len(t.turns) for t in every} == {2, 3, 4, 5}
    assert {t.signature["depth"] for t in every} >= {1, 2, 3, 4, 5, 6}
    assert sum(any(turn["facts"] for turn in t.turns) for t in every) >= 100


def test_splits_are_disjoint(suite):
    train, test = suite.split("train"), suite.split("test")
    assert not {t.id for t in train} & {t.id for t in test}
    assert not {t.key for t in train} & {t.key for t in test}
    assert len({t.key for t in train + test}) == len(train) + len(test)


def test_manifest_hashes_match_files(suite):
    for split, entry in suite.manifest["splits"].items():
        assert file_sha256(suites_root() / "rods-v1" / entry["file"]) == entry["sha256"]
        assert entry["count"] == len(suite.split(split))


@pytest.mark.parametrize("split", ["train", "test"])
@pytest.mark.parametrize("domain", sorted(rods_envs.DOMAINS))
def test_oracle_solves_and_idling_fails_every_task(suite, split, domain):
    tasks = suite.split(split, domain=domain)
    env = gym.make(rods_envs.ENV_IDS[domain], split=split)
    oracle, idle = OraclePolicy(tasks), DoNothingPolicy()
    for task in tasks:
        solved = run_episode(env, oracle, seed=0, options={"task_id": task.id})
        assert (solved.progress, solved.outcome) == (1.0, 1), task.id
        idled = run_episode(env, idle, seed=0, options={"task_id": task.id})
        assert idled.outcome == 0 and idled.progress == 0.0, task.id


def test_oracle_with_dict_actions(suite):
    tasks = suite.split("test", domain="cloudops")[:10]
    env = gym.make("rods/CloudOps-v0", split="test")
    oracle = OraclePolicy(tasks, action_format="dict")
    for task in tasks:
        assert run_episode(env, oracle, options={"task_id": task.id}).outcome == 1


def test_suite_is_reproducible_from_its_seed(suite):
    """The frozen files are what the generator writes: rebuild one domain's split and compare."""
    from rods_envs.generate import generate, split_seed

    frozen = suite.split("test", domain="files")
    seed = split_seed(suite.manifest["seed"], "files", "test")
    rebuilt = generate("files", len(frozen), seed, "files-test", set(), collections.Counter())
    assert [t.to_dict() for t in rebuilt] == [t.to_dict() for t in frozen]
