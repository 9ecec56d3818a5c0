"""The reference GRPO agent and the reproduction experiment."""

import json
from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the GRPO agent needs the train extra (torch)")

import rods_envs  # noqa: E402
from rods_agents import grpo  # noqa: E402
from rods_agents.cli import main as rods  # noqa: E402


@pytest.fixture(scope="module")
def suite():
    s = rods_envs.load_suite()
    return s.split("train"), s.split("test")


def test_group_advantages():
    a = grpo.group_advantages(np.array([0.0, 1.0, 1.0, 0.0]))
    assert np.allclose(a, [-1, 1, 1, -1], atol=1e-5)
    b = grpo.group_advantages(np.array([0.0, 0.0, 0.0, 1.0]))    # mean .25, std .433
    assert np.allclose(b, [-0.57735, -0.57735, -0.57735, 1.73205], atol=1e-4) and abs(b.sum()) < 1e-6
    assert not grpo.group_advantages(np.array([0.5, 0.5, 0.5])).any()


def test_dynamic_filtering_drops_groups_that_do_not_vary():
    step = {"obs": 0}
    groups = [[(1.0, [step, step]), (1.0, [step])], [(0.0, [step]), (1.0, [step, step])]]
    kept = grpo.training_steps(groups, dynamic_filtering=True)
    assert len(kept) == 3 and sorted(s["advantage"] for s in kept) == pytest.approx([-1, 1, 1], abs=1e-5)
    assert len(grpo.training_steps(groups, dynamic_filtering=False)) == 6


def test_stored_log_probs_match_recomputed_ones(suite):
    seeds, _ = suite
    args = grpo.Args(lanes=3)
    envs = [grpo.make_env(seeds, args) for _ in range(3)]
    policy = grpo.new_policy(args, envs[0])
    started = [env.reset(seed=k) for k, env in enumerate(envs)]
    obs = np.stack([o for o, _ in started])
    _, stored = grpo.act(policy, envs, obs, [i for _, i in started], torch.Generator().manual_seed(0))
    lp, _ = grpo.log_probs(policy, torch.as_tensor(obs), stored["head_mask"], stored["head"],
                           stored["slot_mask"], stored["slots"], stored["used"])
    assert torch.allclose(lp, stored["logprob"], atol=1e-5)    # the first update's ratios start at 1


def test_warm_start_learns_the_demonstrations(suite):
    seeds, _ = suite
    args = grpo.Args(warm_start_steps=150)
    tasks = [t for t in seeds if t.domain == "files"][:6]
    policy = grpo.new_policy(args, grpo.make_env(seeds, args))
    before = grpo.evaluate(policy, tasks, args)
    grpo.warm_start(policy, grpo.demonstrations(tasks, args), args)
    after = grpo.evaluate(policy, tasks, args)
    assert after["progress"] > before["progress"] + 0.3


def _short_run(seeds, test, **overrides):
    args = grpo.Args(seed=3, lanes=4, group_size=4, total_trajectories=64, eval_every=32, eval_tasks=6,
                     warm_start_steps=20, **overrides)
    tasks = [t for t in seeds if t.domain == "retail"][:8]
    policy = grpo.new_policy(args, grpo.make_env(tasks, args))
    grpo.warm_start(policy, grpo.demonstrations(tasks[:4], args), args)
    return grpo.train(args, policy, tasks, test[:6])


def test_training_is_seeded_and_reproducible(suite):
    seeds, test = suite
    a = _short_run(seeds, test, data="rods")
    b = _short_run(seeds, test, data="rods")
    assert a == b and [p["trajectories"] for p in a] == [0, 32, 64]


def test_grpo_raises_training_reward_on_a_fixed_task_set(suite):
    """A short seeded run on a handful of tasks: the reward of what it trains on goes up."""
    seeds, test = suite
    tasks = [t for t in seeds if t.domain == "files"][:6]
    args = grpo.Args(seed=0, data="seeds", lanes=6, group_size=8, total_trajectories=48 * 16,
                     eval_every=10**6, eval_tasks=2, warm_start_steps=45, learning_rate=1e-3)
    policy = grpo.new_policy(args, grpo.make_env(tasks, args))
    grpo.warm_start(policy, grpo.demonstrations(tasks, args), args)    # a weak start: reward ~0.1
    rewards = []
    grpo.train(args, policy, tasks, test[:2], progress=lambda s: rewards.append(s["train_reward_batch"]))
    assert len(rewards) == 16
    assert np.mean(rewards[-4:]) > np.mean(rewards[:4]) + 0.05, rewards


def test_reproduce_writes_curves_plot_and_summary(tmp_path, capsys):
    out = tmp_path / "run"
    code = rods(["reproduce", "--seeds", "0", "--budget", "128", "--eval-every", "64", "--eval-tasks", "4",
                 "--pool-size", "12", "--warm-start-steps", "20", "--workers", "1", "--out", str(out)])
    assert code == 0
    rows = (out / "curves.csv").read_text().splitlines()
    assert rows[0] == "arm,seed,trajectories,outcome,progress,train_reward,buffer,informative"
    assert {r.split(",")[0] for r in rows[1:]} == {"grpo", "grpo+filter", "offline-pool", "rods"}
    assert len(rows) == 1 + 4 * 3                                   # 4 arms x checkpoints 0, 64, 128
    summary = json.loads((out / "summary.json").read_text())
    assert summary["pool_size"] == 12 and set(summary["metrics"]) == {"outcome", "progress"}
    assert (out / "curves.png").stat().st_size > 1000
    printed = capsys.readouterr().out
    assert "RODS - GRPO at equal budget" in printed and "plot:" in printed


def test_reproduce_refuses_bad_settings(capsys):
    assert rods(["reproduce", "--budget", "0", "--workers", "1"]) == 2
    assert "must be positive" in capsys.readouterr().err
