"""Distributed rollouts on a local Ray instance (rods_agents.ray_rollouts): the same episodes as a
serial run, workers that really die (ray.kill, os._exit) replaced with every episode counted once,
and clear errors for bad input."""

import collections
import os
import re
import sys
import threading
import time

import gymnasium as gym
import numpy as np
import pytest

ray = pytest.importorskip("ray")

import rods_envs  # noqa: E402
from rods_agents.evaluate import EpisodeSeededRandom as SeededRandom  # noqa: E402
from rods_agents.ray_rollouts import (  # noqa: E402
    Episode,
    RayEpisodes,
    RayVectorEnv,
    RolloutError,
    plan_episodes,
    policy_seed,
    run_in_process,
)
from rods_agents.structured import StructuredActions  # noqa: E402
from rods_envs.episode import run_episode  # noqa: E402

ENV_ID = "rods/Files-v0"
KWARGS = {"split": "test"}
SMALL = {"num_cpus": 0.5}     # two drivers' workers fit on the two CPUs the test's Ray has
WAIT_S = 60


@pytest.fixture(scope="module")
def ray_instance():
    # address="local": a fresh instance even where a cluster runs on this machine.
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    # The test-only policies below live in this module, which workers cannot import: send them by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def pool(ray_instance):
    with RayEpisodes(ENV_ID, num_workers=2, envs_per_worker=2, env_kwargs=KWARGS, actor_options=SMALL) as p:
        yield p


@pytest.fixture(scope="module")
def test_tasks():
    return rods_envs.load_suite("rods-v1").split("test", domain="files")


# -- policies (each worker builds its own copies) ---------------------------------------------------

def make_oracle():
    return rods_envs.OraclePolicy(rods_envs.load_suite("rods-v1").split("test"))


class Saboteur:
    """The oracle, except on task ``target``'s second action, where it does ``what`` once per
    ``marker`` file (or every time without one): "hold" (waits for ``release``), "exit"
    (``os._exit``: the worker process dies) or "raise"."""

    def __init__(self, target, what, marker=None, release=None):
        self.oracle = make_oracle()
        self.target, self.what, self.marker, self.release = target, what, marker, release

    def reset(self, info):
        self.oracle.reset(info)
        self.actions = 0

    def act(self, observation, info):
        self.actions += 1
        if info["task_id"] == self.target and self.actions == 2 and self._first_time():
            if self.what == "exit":
                os._exit(3)
            if self.what == "raise":
                raise ValueError("the policy broke on purpose")
            deadline = time.monotonic() + WAIT_S
            while not os.path.exists(self.release) and time.monotonic() < deadline:
                time.sleep(0.01)
        return self.oracle.act(observation, info)

    def _first_time(self):
        if self.marker is None:
            return True
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL))
            return True
        except FileExistsError:
            return False


def serial_records(episodes, make_policy, env_kwargs=KWARGS, env_id=ENV_ID):
    """The reference: plain run_episode in this process, one fresh-seeded policy per episode."""
    env = gym.make(env_id, **env_kwargs)
    out = []
    for ep in episodes:
        policy = make_policy()
        if hasattr(policy, "seed"):
            policy.seed(policy_seed(ep))
        options = None if ep.task_id is None else {"task_id": ep.task_id}
        out.append(run_episode(env, policy, seed=ep.seed, options=options))
    return out


def same_results(records, reference, episodes):
    assert len(records) == len(reference) == len(episodes)
    for record, ref, ep in zip(records, reference, episodes):
        assert record.index == ep.index and record.seed == ep.seed
        assert (record.task_id, record.reward, record.progress, record.outcome, record.steps,
                record.tool_calls, record.errors, record.truncated) == \
               (ref.task_id, ref.reward, ref.progress, ref.outcome, ref.steps, ref.tool_calls, ref.errors,
                ref.truncated)


# -- whole episodes ---------------------------------------------------------------------------------

def test_episodes_equal_a_serial_run(pool, test_tasks):
    by_task = plan_episodes(task_ids=[t.id for t in test_tasks[:10]], trials=2, seed=5)
    by_seed = plan_episodes(seeds=range(12), trials=2)
    oracle_records = pool.run(make_oracle, by_task)
    random_records = pool.run(SeededRandom(), by_seed)
    same_results(oracle_records, serial_records(by_task, make_oracle), by_task)
    same_results(random_records, serial_records(by_seed, SeededRandom), by_seed)
    assert all(r.outcome == 1 for r in oracle_records)
    assert len({(r.steps, r.tool_calls, r.errors) for r in random_records}) > 3     # not all alike
    # The two trials of a seed play the same task with differently seeded policies.
    assert [r.task_id for r in random_records[:12]] == [r.task_id for r in random_records[12:]]
    assert [r.steps for r in random_records[:12]] != [r.steps for r in random_records[12:]]
    assert run_in_process(ENV_ID, SeededRandom(), by_seed, env_kwargs=KWARGS) == random_records
    assert pool.worker_nodes == [ray.get_runtime_context().get_node_id()] * 2


def test_a_killed_worker_is_replaced_and_its_episodes_run_once(pool, test_tasks, tmp_path):
    episodes = plan_episodes(task_ids=[t.id for t in test_tasks[:12]])
    held = episodes[0]
    hold, release = tmp_path / "holding", tmp_path / "release"
    seen = {}

    def kill_the_holder():
        deadline = time.monotonic() + WAIT_S
        while not hold.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        playing = pool.in_flight()
        seen["killed"] = [w for w, eps in playing.items() if held in eps]
        seen["lost"] = [ep for w in seen["killed"] for ep in playing[w]]
        for w in seen["killed"]:
            ray.kill(pool.workers[w])
        release.touch()

    arrivals = []
    restarts, reruns = pool.restarts, pool.reruns
    killer = threading.Thread(target=kill_the_holder)
    killer.start()
    records = pool.run(Saboteur(held.task_id, "hold", marker=hold, release=release), episodes,
                       on_result=lambda ep, record: arrivals.append(ep))
    killer.join()
    assert len(seen["killed"]) == 1                        # the held episode was on one worker, now dead
    assert pool.restarts == restarts + 1
    # What it was playing ran again: the held episode, and whatever else it had not finished
    # (its other environment may finish between the look and the kill, or be sent one more).
    assert held in seen["lost"] and 1 <= pool.reruns - reruns <= pool.envs_per_worker
    assert collections.Counter(arrivals) == collections.Counter(episodes)   # each exactly once
    same_results(records, serial_records(episodes, make_oracle), episodes)
    assert all(r.outcome == 1 for r in records)


def test_a_worker_that_exits_mid_episode_is_replaced(pool, test_tasks, tmp_path):
    episodes = plan_episodes(task_ids=[t.id for t in test_tasks[:8]], trials=2)
    arrivals = []
    restarts = pool.restarts
    records = pool.run(Saboteur(episodes[5].task_id, "exit", marker=tmp_path / "exited"), episodes,
                       on_result=lambda ep, record: arrivals.append(ep))
    assert (tmp_path / "exited").exists() and pool.restarts == restarts + 1
    assert sorted(arrivals, key=episodes.index) == episodes
    same_results(records, serial_records(episodes, make_oracle), episodes)


def test_a_worker_that_keeps_dying_stops_the_run(ray_instance):
    kwargs = {"split": "test", "max_steps": 6}          # passed through to every environment
    episodes = plan_episodes(seeds=[0, 1, 2, 3])
    expected = serial_records(episodes, make_oracle, kwargs, "rods/Mixed-v0")
    target = expected[2].task_id
    assert target not in {expected[0].task_id, expected[1].task_id}
    with RayEpisodes("rods/Mixed-v0", num_workers=1, env_kwargs=kwargs, actor_options=SMALL,
                     max_worker_restarts=1) as doomed:
        with pytest.raises(RolloutError, match=r"max_worker_restarts=1; .*died playing episode seed 2, index 0") as caught:
            doomed.run(Saboteur(target, "exit"), episodes)
        assert "\n" not in str(caught.value)
        assert list(caught.value.finished) == episodes[:2]           # what finished is kept
        assert all(r.steps <= 6 for r in caught.value.finished.values())
        same_results(list(caught.value.finished.values()), expected[:2], episodes[:2])


def test_a_policy_error_names_its_episode_and_keeps_the_rest(pool, test_tasks):
    episodes = plan_episodes(task_ids=[t.id for t in test_tasks[:6]])
    restarts = pool.restarts
    with pytest.raises(RolloutError, match=rf"{re.escape(episodes[3].task_id)}.*ValueError: the policy broke on purpose") as caught:
        pool.run(Saboteur(episodes[3].task_id, "raise"), episodes)
    assert "\n" not in str(caught.value) and pool.restarts == restarts     # not a dead worker
    assert episodes[3] not in caught.value.finished
    assert all(r.outcome == 1 for r in caught.value.finished.values())
    assert [r.outcome for r in pool.run(make_oracle, episodes[:2])] == [1, 1]   # the pool still works


def test_bad_input_gets_clear_errors(pool, ray_instance, test_tasks):
    episodes = plan_episodes(seeds=[0])
    with pytest.raises(ValueError, match="unknown environment id 'rods/Nope-v0'"):
        RayEpisodes("rods/Nope-v0")
    with pytest.raises(ValueError, match="unknown split 'bogus'"):
        RayEpisodes(ENV_ID, num_workers=1, env_kwargs={"split": "bogus"}, actor_options=SMALL)
    with pytest.raises(ValueError, match="may not set max_restarts"):
        RayEpisodes(ENV_ID, actor_options={"max_restarts": 3})
    with pytest.raises(ValueError, match="num_workers must be a positive integer"):
        RayEpisodes(ENV_ID, num_workers=0)
    with pytest.raises(RolloutError, match=r"1 of 1 workers did not start within 1 s: each asks for .*no_such_thing"):
        RayEpisodes(ENV_ID, num_workers=1, actor_options={"num_cpus": 0, "resources": {"no_such_thing": 1}},
                    startup_timeout_s=1)
    with pytest.raises(ValueError, match="unknown task id 'files-nope'"):
        pool.run(make_oracle, [Episode(0, "files-nope")])
    with pytest.raises(ValueError, match="asked for twice"):
        pool.run(make_oracle, [Episode(0, test_tasks[0].id), Episode(9, test_tasks[0].id)])
    with pytest.raises(ValueError, match=r"episodes\[0\] is a tuple"):
        pool.run(make_oracle, [(0, None, 0)])
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        pool.run(make_oracle, [Episode(-1)])
    with pytest.raises(ValueError, match="policy must have act"):
        pool.run(42, episodes)
    with pytest.raises(ValueError, match="must pickle"):
        pool.run(lambda lock=threading.Lock(): make_oracle(), episodes)
    with pytest.raises(ValueError, match="returned a str, which has no act"):
        pool.run(lambda: "not a policy", episodes)
    with pytest.raises(ValueError, match="exactly one of them"):
        plan_episodes()


# -- step by step -----------------------------------------------------------------------------------

def env_info(infos, i):
    return {k: v[i] for k, v in infos.items() if not k.startswith("_") and infos[f"_{k}"][i]}


def test_vector_env_matches_sync_through_a_killed_worker(ray_instance):
    kwargs = {"split": "test", "max_steps": 10}
    n = 4
    reference = gym.vector.SyncVectorEnv([lambda: gym.make(ENV_ID, **kwargs) for _ in range(n)])
    with RayVectorEnv(ENV_ID, n, num_workers=2, env_kwargs=kwargs, actor_options=SMALL) as envs:
        assert envs.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
        assert envs.single_action_space == reference.single_action_space
        with pytest.raises(gym.error.ResetNeeded):
            envs.step(("Okay.",) * n)
        obs, infos = envs.reset(seed=7)
        ref_obs, ref_infos = reference.reset(seed=7)
        assert obs == ref_obs and list(infos["task_id"]) == list(ref_infos["task_id"])
        oracles = [make_oracle() for _ in range(n)]
        for i in range(n):
            oracles[i].reset(env_info(ref_infos, i))
        ended = np.zeros(n, dtype=bool)
        episodes_ended, killed_at, total = np.zeros(n, dtype=int), None, 0.0
        for step in range(70):
            # A sub-environment that ended resets on this step and ignores its action.
            actions = tuple("(ignored)" if ended[i] else oracles[i].act(ref_obs[i], env_info(ref_infos, i))
                            for i in range(n))
            if killed_at is None and episodes_ended[:2].min() >= 1:
                ray.kill(envs.workers[0])          # worker 0 hosts sub-environments 0 and 1
                killed_at = step
            obs, rewards, terminated, truncated, infos = envs.step(actions)
            ref_obs, ref_rewards, ref_terminated, ref_truncated, ref_infos = reference.step(actions)
            assert obs == ref_obs
            assert (rewards == ref_rewards).all() and rewards.dtype == ref_rewards.dtype
            assert (terminated == ref_terminated).all() and (truncated == ref_truncated).all()
            for key in ("task_id", "turn", "progress", "messages"):
                assert list(infos[key]) == list(ref_infos[key]), (step, key)
            for i in np.flatnonzero(ended):
                oracles[i].reset(env_info(ref_infos, i))       # the new episode's opening
            ended = terminated | truncated
            episodes_ended += ended
            total += rewards.sum()
        assert killed_at is not None and envs.restarts == 1
        assert episodes_ended.min() >= 3 and total > 0
        with pytest.raises(ValueError, match="one action per sub-environment: 4, not 3"):
            envs.step(("Okay.",) * 3)
        with pytest.raises(ValueError, match="not a single str"):
            envs.step("Okay.")
        with pytest.raises(ValueError, match="seed must be None, an int or a list of 4"):
            envs.reset(seed=[1, 2])
    with pytest.raises(RolloutError, match="closed"):
        envs.reset()
    reference.close()


def test_vector_env_over_structured_actions(ray_instance):
    n = 2
    reference = gym.vector.SyncVectorEnv([lambda: StructuredActions(gym.make(ENV_ID, **KWARGS)) for _ in range(n)])
    with RayVectorEnv(ENV_ID, n, num_workers=1, env_kwargs=KWARGS, wrappers=[StructuredActions],
                      actor_options=SMALL) as envs:
        obs, infos = envs.reset(seed=[3, 4])
        ref_obs, ref_infos = reference.reset(seed=[3, 4])
        assert obs.dtype == np.float32 and obs.shape == ref_obs.shape and (obs == ref_obs).all()
        rng = np.random.default_rng(0)
        for _ in range(12):
            actions = np.stack([rng.integers(envs.single_action_space.nvec) for _ in range(n)])
            obs, rewards, terminated, truncated, infos = envs.step(actions)
            ref_obs, ref_rewards, ref_terminated, ref_truncated, ref_infos = reference.step(actions)
            assert (obs == ref_obs).all() and (rewards == ref_rewards).all()
            assert (infos["action_mask"] == ref_infos["action_mask"]).all()
        bad = np.zeros((n, len(envs.single_action_space.nvec)), dtype=np.int64)
        bad[1, 0] = envs.single_action_space.nvec[0] + 5
        with pytest.raises(ValueError, match=r"action 1 is not in MultiDiscrete"):
            envs.step(bad)
    reference.close()
