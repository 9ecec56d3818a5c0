"""The RODS loop's parts: boundary detector, replay buffer, replay wrapper."""

import json
import zlib

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import rods_envs
from rods_agents.boundary import BoundaryDetector, Thresholds, classify, group_stats
from rods_agents.replay import RODSReplay, VariantSource
from rods_agents.replay_buffer import BufferPolicy, ReplayBuffer
from rods_envs.episode import DoNothingPolicy
from rods_envs.oracle import OraclePolicy


# -- detector -------------------------------------------------------------------------------------
def test_popoviciu_normalisation():
    assert group_stats([0, 1, 0, 1]).normalised == 1.0                       # an even split: the bound
    assert group_stats([0.25, 0.75]).normalised == pytest.approx(0.25)       # var 1/16 over 1/4
    assert group_stats([1, 1, 1]).normalised == 0.0
    assert group_stats([0, 0, 0, 1]).variance == pytest.approx(3 / 16)
    assert group_stats([0, 2], low=0, high=2).normalised == 1.0              # the bound scales with the range
    with pytest.raises(ValueError, match="lie in"):
        group_stats([1.5])
    with pytest.raises(ValueError, match="at least one"):
        group_stats([])


@given(st.lists(st.floats(0, 1), min_size=1, max_size=16))
def test_normalised_variance_is_in_unit_interval(rewards):
    assert 0.0 <= group_stats(rewards).normalised <= 1.0


def test_classes_on_constructed_groups():
    d = BoundaryDetector()
    assert d.observe("split", [0, 1, 1, 0, 1, 0, 0, 1]).label == "boundary"
    assert d.observe("solved", [1.0] * 8).label == "mastered"
    assert d.observe("failed", [0.0] * 8).label == "hard"
    assert d.observe("stuck", [0.5] * 8).label == "hard"              # no variance, not mastered
    assert d.observe("nearly", [1, 1, 1, 1, 1, 1, 1, 0.75]).label == "mastered"
    assert d.label("never") is None
    assert classify(0.5, 0.2, Thresholds(boundary_variance=0.2)) == "boundary"


def test_running_estimate_across_visits():
    d = BoundaryDetector(Thresholds(smoothing=0.5))
    d.observe("t", [0, 1, 0, 1])                      # mean 0.5, normalised 1
    e = d.observe("t", [1, 1, 1, 1])                  # mean 1, normalised 0
    assert (e.mean, e.normalised, e.visits) == (0.75, 0.5, 2) and e.label == "boundary"
    e = d.observe("t", [1, 1, 1, 1])
    assert e.normalised == 0.25 and e.label == "boundary"
    e = d.observe("t", [1, 1, 1, 1])
    assert e.label == "mastered" and e.visits == 4
    again = BoundaryDetector.from_state_dict(json.loads(json.dumps(d.state_dict())))
    assert again.estimates == d.estimates


# -- buffer ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seeds():
    return rods_envs.load_suite().split("train")


def test_buffer_admits_variants_of_boundary_tasks_with_lineage(seeds):
    retail = [t for t in seeds if t.domain == "retail"][:20]
    policy = BufferPolicy(groups_per_round=4, variants_per_task=2, max_admit=3, min_size=1)
    buffer = ReplayBuffer(retail, capacity=30, synthesize=VariantSource(retail), policy=policy)
    for task in retail[:3]:
        buffer.record_group(task.id, [0, 1, 0, 1])                           # boundary
    stats = buffer.record_group(retail[3].id, [1, 1, 1, 1])                  # mastered: closes the round
    assert stats is not None and stats.round == 1
    assert stats.admitted == 3 and stats.retired == {"mastered": 1, "hard": 0}
    assert retail[3].id not in buffer.entries and buffer.retired[retail[3].id]["reason"] == "mastered"
    children = [e for e in buffer.entries.values() if e.parent is not None]
    assert len(children) == 3 and all(e.root == e.parent for e in children)
    assert all(e.task.record["lineage"]["mutations"][0] == "resample_like" for e in children)
    assert all(e.parent in {t.id for t in retail[:3]} for e in children)
    assert stats.size == 20 - 1 + 3 and stats.variants == 3


def test_buffer_retires_tasks_that_stay_hard_and_respects_floor_and_capacity(seeds):
    tasks = seeds[:10]
    policy = BufferPolicy(groups_per_round=1, hard_patience=2, min_size=8)
    buffer = ReplayBuffer(tasks, capacity=10, policy=policy)
    for _ in range(2):
        for task in tasks[:4]:
            buffer.record_group(task.id, [0, 0, 0, 0])
    assert len(buffer) == 8                           # floor of 8: two of the four hard tasks retired
    assert sum(r["reason"] == "hard" for r in buffer.retired.values()) == 2
    full = ReplayBuffer(seeds[:12], capacity=5)
    assert len(full) == 5


def test_sampling_favours_boundary_tasks(seeds):
    tasks = seeds[:10]
    buffer = ReplayBuffer(tasks, policy=BufferPolicy(groups_per_round=1000))
    buffer.record_group(tasks[0].id, [0, 1, 0, 1])
    for task in tasks[1:]:
        buffer.record_group(task.id, [1, 1, 1, 1])
    rng = np.random.default_rng(0)
    draws = [buffer.sample(rng).id for _ in range(400)]
    assert draws.count(tasks[0].id) / len(draws) > 0.4       # 4 / (4 + 9 * 0.25) = 0.64


def test_buffer_save_load_round_trip_resumes_exactly(tmp_path, seeds):
    retail = [t for t in seeds if t.domain == "retail"][:12]
    policy = BufferPolicy(groups_per_round=3, min_size=1)

    def run(buffer, rounds, rng):
        out = []
        for _ in range(rounds * 3):
            task = buffer.sample()
            rewards = [float(x) for x in rng.integers(0, 2, size=4)]
            buffer.record_group(task.id, rewards)
            out.append(task.id)
        return out, sorted(buffer.entries)

    a = ReplayBuffer(retail, synthesize=VariantSource(retail), policy=policy)
    run(a, 2, np.random.default_rng(1))
    a.save(tmp_path / "buffer.json")
    synth_state = a.synthesize.state_dict()
    expected = run(a, 2, np.random.default_rng(2))

    b = ReplayBuffer(retail, synthesize=VariantSource(retail), policy=policy)
    b.load(tmp_path / "buffer.json")
    b.synthesize.load_state_dict(synth_state)
    assert run(b, 2, np.random.default_rng(2)) == expected
    assert [s.round for s in b.history] == [1, 2, 3, 4]


def test_corrupt_buffer_files_are_refused(tmp_path, seeds):
    buffer = ReplayBuffer(seeds[:3])
    bad = tmp_path / "bad.json"
    for content, message in [("{not json", "not JSON"), ("[1, 2]", "not a JSON object"),
                             ('{"capacity": 5}', "not a valid replay buffer")]:
        bad.write_text(content)
        with pytest.raises(ValueError, match=message):
            buffer.load(bad)
    with pytest.raises(ValueError, match="no replay buffer file"):
        buffer.load(tmp_path / "missing.json")
    assert len(buffer) == 3                           # a refused file changes nothing


# -- wrapper --------------------------------------------------------------------------------------
class CoinOracle:
    """Plays the oracle on some episodes and does nothing on others, with a per-task success rate:
    a real policy whose group rewards vary, so the detector has boundaries to find."""

    def __init__(self, buffer, rng):
        self.buffer, self.oracle, self.idle, self.rng = buffer, OraclePolicy([]), DoNothingPolicy(), rng
        self.current = None

    def start(self, task_id):
        if task_id in self.buffer.entries:             # variants join the buffer as the run goes
            self.oracle.tasks[task_id] = self.buffer.entries[task_id].task
        rate = (zlib.crc32(task_id.encode()) % 5) / 4          # 0, .25, .5, .75 or 1
        self.current = self.oracle if self.rng.random() < rate else self.idle

    def act(self, observation, info):
        return self.current.act(observation, info)


def play(env, policy, episodes, seed=0):
    log = []
    for k in range(episodes):
        obs, info = env.reset(seed=seed if k == 0 else None)
        policy.start(info["task_id"])
        done = False
        while not done:
            obs, reward, terminated, truncated, info = env.step(policy.act(obs, info))
            done = terminated or truncated
        log.append((info["task_id"], info["progress"], info.get("rods_group", {}).get("label")))
    return log


def test_wrapper_serves_groups_and_feeds_the_buffer(seeds):
    files = [t for t in seeds if t.domain == "files"]
    base = gym.make("rods/Files-v0", split="train")
    env = RODSReplay(base, group_size=4, policy=BufferPolicy(groups_per_round=5, min_size=1), seed=3)
    policy = CoinOracle(env.buffer, np.random.default_rng(0))
    log = play(env, policy, 4 * 20)
    groups = [log[i:i + 4] for i in range(0, len(log), 4)]
    assert all(len({task for task, _, _ in g}) == 1 for g in groups)      # G consecutive episodes, one task
    assert env.buffer.round == 4 and len(env.buffer.history) == 4
    assert env.buffer.detector.estimates, "groups reached the detector"
    labels = {g[-1][2] for g in groups}
    assert "boundary" in labels
    admitted = sum(s.admitted for s in env.buffer.history)
    assert admitted > 0 and any(e.parent for e in env.buffer.entries.values())
    assert {e.root for e in env.buffer.entries.values()} <= {t.id for t in files}
    # a pinned episode passes through, uncounted
    _, info = env.reset(options={"task_id": files[0].id})
    assert "rods" not in info


def test_wrapper_resumes_exactly(tmp_path, seeds):
    def fresh():
        base = gym.make("rods/Retail-v0", split="train")
        return RODSReplay(base, group_size=3, policy=BufferPolicy(groups_per_round=4, min_size=1), seed=1)
    a = fresh()
    play(a, CoinOracle(a.buffer, np.random.default_rng(5)), 3 * 9 + 1)       # stops inside a group
    a.save(tmp_path / "run.json")
    later = play(a, CoinOracle(a.buffer, np.random.default_rng(6)), 3 * 10)
    b = fresh()
    b.load(tmp_path / "run.json")
    assert play(b, CoinOracle(b.buffer, np.random.default_rng(6)), 3 * 10) == later
    assert b.buffer.state_dict() == a.buffer.state_dict()


def test_wrapper_under_sync_vector_env_with_a_shared_buffer(seeds):
    travel = [t for t in seeds if t.domain == "travel"]
    buffer = ReplayBuffer(travel, synthesize=VariantSource(travel), policy=BufferPolicy(groups_per_round=3, min_size=1))
    envs = gym.vector.SyncVectorEnv([
        (lambda k=k: RODSReplay(gym.make("rods/Travel-v0"), buffer=buffer, group_size=2, seed=k)) for k in range(2)])
    assert envs.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    envs.reset(seed=0)
    finished = 0
    for _ in range(200):                      # talking ends each turn: episodes of a few steps
        _, _, terminated, truncated, info = envs.step(["Done."] * 2)
        finished += int(np.sum(terminated | truncated))
    assert finished > 20
    assert buffer.round >= 3 and buffer.detector.estimates
    assert len(buffer.history) == buffer.round


def test_wrapper_refuses_bad_arguments():
    with pytest.raises(ValueError, match="group_size"):
        RODSReplay(gym.make("rods/Files-v0"), group_size=1)


def test_wrapper_on_bfcl_synthesizes_bfcl_variants_and_resumes(tmp_path):
    pytest.importorskip("bfcl_eval", reason="bfcl-eval is not installed (pip install --no-deps bfcl-eval mpmath)")
    from rods_envs.bfcl import load_tasks
    from rods_envs.bfcl.oracle import BFCLOraclePolicy

    def fresh():
        base = gym.make("rods/BFCL-MultiTurn-v0", category="base", split="train")
        return RODSReplay(base, group_size=2, policy=BufferPolicy(groups_per_round=3, min_size=1), seed=2)

    class Coin(CoinOracle):
        def __init__(self, buffer, rng):
            super().__init__(buffer, rng)
            self.oracle = BFCLOraclePolicy([])

    a = fresh()
    play(a, Coin(a.buffer, np.random.default_rng(0)), 2 * 12)
    assert a.buffer.round == 4
    variants = [e for e in a.buffer.entries.values() if e.parent]
    assert variants and all(e.task.domain == "bfcl" and e.root in {t.id for t in load_tasks("base", "train")}
                            for e in variants)
    a.save(tmp_path / "bfcl.json")
    later = play(a, Coin(a.buffer, np.random.default_rng(1)), 2 * 6)
    b = fresh()
    b.load(tmp_path / "bfcl.json")
    assert play(b, Coin(b.buffer, np.random.default_rng(1)), 2 * 6) == later
