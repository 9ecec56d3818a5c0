"""Stable-Baselines3 PPO on a rods environment, scored on held-out tasks against random policies.

    python examples/sb3_ppo.py --env-id rods/Files-v0 --timesteps 40000 --seed 0

The environment is ``StructuredActions(gym.make(env_id))``: a ``Box`` observation and a
``MultiDiscrete`` action (a head that picks a tool, the reply or a question, then one index per
argument slot). SB3's PPO has no notion of action masks, so ``ValidActions`` folds every choice
onto a valid one: an invalid head becomes the ``h % n``-th valid head, an invalid slot index the
``s % n``-th valid index of that slot under the chosen head (``StructuredActions.slot_mask``).
The space PPO sees is unchanged; only choices the mask forbids are redirected, so PPO never
wastes an episode on a tool of another domain or a slot with nothing in it.

After training, the greedy policy plays every task of the held-out split once and is compared
with two random policies over the same action space, playing the same tasks with the same step
budget:

- ``masked random``: a head uniformly among the valid heads, then each slot uniformly among the
  indices valid under that head (the fair baseline: it has the same help ``ValidActions`` gives);
- ``uniform random``: ``action_space.sample()``, the mask ignored.

Scores are the mean outcome (every turn passed) and the mean progress (fraction of turns passed).

The reward is sparse (a turn pays only when all its calls are right and the turn is then ended),
so PPO from scratch stays at the random level in a budget of minutes. By default the example
first clones the structured oracle's demonstrations on the training tasks into PPO's own policy
network (``--warm-start-tasks 0`` turns that off), then runs PPO with a low learning rate; the
held-out scores of the warm start alone are printed too. Figures: docs/integrations.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

import rods_envs  # registers the rods/ ids
from rods_agents.structured import StructuredActions


@dataclass
class Settings:
    env_id: str = "rods/Files-v0"
    timesteps: int = 40_000
    seed: int = 0
    max_steps: int = 24            # actions per episode: short episodes give PPO more of them
    n_envs: int = 4                # environments PPO collects from (a DummyVecEnv)
    n_steps: int = 256             # steps per environment per update
    batch_size: int = 256
    n_epochs: int = 4
    learning_rate: float = 1e-4    # low: PPO refines the warm start instead of unlearning it
    ent_coef: float = 0.0
    gamma: float = 0.99
    hidden: int = 256
    torch_threads: int = 1         # a small MLP is fastest on one thread (two oversubscribe 2 cores)
    warm_start_tasks: int = 10_000 # training tasks the oracle demonstrates (at most; 0: PPO alone)
    warm_start_epochs: int = 150   # passes of behaviour cloning over those demonstrations


class ValidActions(gym.ActionWrapper):
    """Redirect each part of a ``StructuredActions`` action that its mask forbids onto a valid one.

    The head comes first (its mask is the episode domain's heads); the slots are then folded under
    the head actually taken. Deterministic, so the same PPO action always means the same thing in
    the same state.
    """

    def __init__(self, env: StructuredActions):
        super().__init__(env)
        if not isinstance(env, StructuredActions):
            raise TypeError("ValidActions wraps a StructuredActions environment")

    def action(self, action):
        env: StructuredActions = self.env
        a = np.asarray(action, dtype=np.int64).reshape(-1).copy()
        heads = np.flatnonzero(env.head_mask())
        if not env.head_mask()[a[0]]:
            a[0] = heads[a[0] % len(heads)]
        mask = env.slot_mask(int(a[0]))
        for j in range(env.S):
            if not mask[j, a[1 + j]]:
                valid = valid_indices(mask[j])
                a[1 + j] = valid[a[1 + j] % len(valid)]
        return a


def valid_indices(row: np.ndarray) -> np.ndarray:
    """The valid indices of one slot. A required parameter with no fitting candidate should offer
    "none" (the last index); where a mask row comes back empty, "none" is used all the same (the
    environment then answers the call with an error)."""
    valid = np.flatnonzero(row)
    return valid if len(valid) else np.array([len(row) - 1])


def make_env(env_id: str, split: str = "train", max_steps: int = 16, valid: bool = True) -> gym.Env:
    env = StructuredActions(gym.make(env_id, split=split, max_steps=max_steps))
    return ValidActions(env) if valid else env


def structured_view(env: gym.Env) -> StructuredActions:
    """The ``StructuredActions`` layer of a wrapper stack."""
    while not isinstance(env, StructuredActions):
        if not isinstance(env, gym.Wrapper):
            raise TypeError("no StructuredActions in this environment's wrappers")
        env = env.env
    return env


# -- policies: (env, observation, info) -> action ----------------------------------------------------
Act = Callable[[gym.Env, np.ndarray, dict], np.ndarray]


def masked_random(rng: np.random.Generator) -> Act:
    def act(env, obs, info):
        structured = structured_view(env)
        head = int(rng.choice(np.flatnonzero(structured.head_mask())))
        mask = structured.slot_mask(head)
        return np.array([head] + [int(rng.choice(valid_indices(row))) for row in mask], dtype=np.int64)
    return act


def uniform_random(rng: np.random.Generator) -> Act:
    def act(env, obs, info):
        return np.array([rng.integers(n) for n in env.action_space.nvec], dtype=np.int64)
    return act


def ppo_policy(model) -> Act:
    def act(env, obs, info):
        action, _ = model.predict(obs, deterministic=True)
        return action
    return act


# -- training and evaluation -------------------------------------------------------------------------
def new_model(s: Settings, verbose: int = 0):
    """An untrained PPO ("MlpPolicy") over ``n_envs`` copies of the training split."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(s.torch_threads)
    vec = make_vec_env(lambda: make_env(s.env_id, "train", s.max_steps), n_envs=s.n_envs, seed=s.seed)
    return PPO("MlpPolicy", vec, n_steps=s.n_steps, batch_size=s.batch_size, n_epochs=s.n_epochs,
               learning_rate=s.learning_rate, ent_coef=s.ent_coef, gamma=s.gamma, seed=s.seed,
               policy_kwargs={"net_arch": [s.hidden, s.hidden]}, device="cpu", verbose=verbose)


def train(s: Settings, verbose: int = 0):
    """The optional warm start, then ``s.timesteps`` of PPO; returns the model."""
    model = new_model(s, verbose)
    if s.warm_start_tasks:
        clone_oracle(model, s)
    if s.timesteps:
        model.learn(total_timesteps=s.timesteps)
    return model


def demonstrations(s: Settings) -> tuple[np.ndarray, np.ndarray]:
    """The structured oracle's (observation, action) pairs on the first ``warm_start_tasks``
    training tasks, through the same wrappers PPO trains on."""
    from rods_agents.structured_oracle import StructuredOracle

    env = make_env(s.env_id, "train", s.max_steps)
    oracle = StructuredOracle(structured_view(env))
    observations, actions = [], []
    for i, task in enumerate(env.unwrapped.tasks[:s.warm_start_tasks]):
        obs, info = env.reset(seed=s.seed * 100_003 + i, options={"task_id": task.id})
        oracle.reset()
        done = False
        while not done:
            action = oracle.act(obs, info)
            observations.append(obs)
            actions.append(env.action(action))      # as ValidActions will send it
            obs, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
    env.close()
    return np.stack(observations), np.stack(actions)


def clone_oracle(model, s: Settings) -> float:
    """Behaviour cloning into PPO's own policy network (maximise the log-likelihood of the
    oracle's actions), so that PPO starts from a policy that makes well-formed calls; returns
    the last epoch's mean loss. Uses a generator seeded by ``s.seed`` for the minibatch order."""
    import torch

    obs, actions = demonstrations(s)
    obs_t, act_t = torch.as_tensor(obs), torch.as_tensor(actions)
    policy = model.policy
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(s.seed)
    loss_value = float("nan")
    for _ in range(s.warm_start_epochs):
        order = torch.randperm(len(obs_t), generator=generator)
        losses = []
        for start in range(0, len(order), s.batch_size):
            idx = order[start:start + s.batch_size]
            _, log_prob, _ = policy.evaluate_actions(obs_t[idx], act_t[idx])
            loss = -log_prob.mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        loss_value = float(np.mean(losses))
    return loss_value


def evaluate(act: Act, s: Settings, split: str = "test", valid: bool = True, limit: int | None = None) -> dict:
    """Every task of ``split`` once (or the first ``limit``), in order: mean outcome and progress."""
    env = make_env(s.env_id, split, s.max_steps, valid=valid)
    tasks = env.unwrapped.tasks[:limit]
    outcomes, progress = [], []
    for i, task in enumerate(tasks):
        obs, info = env.reset(seed=s.seed * 100_003 + i, options={"task_id": task.id})
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(act(env, obs, info))
            done = terminated or truncated
        outcomes.append(info["outcome"])
        progress.append(info["progress"])
    env.close()
    return {"outcome": float(np.mean(outcomes)), "progress": float(np.mean(progress)), "episodes": len(tasks)}


def compare(s: Settings, limit: int | None = None, verbose: int = 0) -> dict:
    """Train (warm start, if any, then PPO) and score on the held-out split: PPO, the warm start
    alone (when there is one), and both random baselines."""
    started = time.perf_counter()
    model = new_model(s, verbose)
    scores = {}
    if s.warm_start_tasks:
        clone_oracle(model, s)
        scores["warm_start"] = evaluate(ppo_policy(model), s, limit=limit)
    learn_started = time.perf_counter()
    if s.timesteps:
        model.learn(total_timesteps=s.timesteps)
    scores["ppo_seconds"] = time.perf_counter() - learn_started
    scores["ppo"] = evaluate(ppo_policy(model), s, limit=limit)
    scores["masked_random"] = evaluate(masked_random(np.random.default_rng(s.seed)), s, limit=limit)
    scores["uniform_random"] = evaluate(uniform_random(np.random.default_rng(s.seed)), s, valid=False, limit=limit)
    scores["seconds"] = time.perf_counter() - started
    return scores


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = Settings()
    for name, value in vars(defaults).items():
        p.add_argument("--" + name.replace("_", "-"), type=type(value), default=value)
    p.add_argument("--verbose", type=int, default=0)
    args = vars(p.parse_args(argv))
    verbose = args.pop("verbose")
    s = Settings(**args)
    native = [*rods_envs.ENV_IDS.values(), rods_envs.MIXED_ENV_ID]
    if s.env_id not in native:
        p.error(f"--env-id must be a native rods id ({', '.join(native)}), not {s.env_id!r}")
    if min(s.timesteps, s.warm_start_tasks, s.warm_start_epochs) < 0 or min(s.max_steps, s.n_envs, s.n_epochs, s.hidden, s.torch_threads) < 1:
        p.error("timesteps and warm-start-* must be >= 0; max-steps, n-envs, n-epochs, hidden, torch-threads positive")
    if min(s.n_steps, s.batch_size) < 2 or not s.learning_rate > 0 or s.ent_coef < 0 or not 0 < s.gamma <= 1:
        p.error("n-steps and batch-size must be at least 2, learning-rate positive, ent-coef >= 0, gamma in (0, 1]")
    r = compare(s, verbose=verbose)
    n_warm = min(s.warm_start_tasks, len(gym.make(s.env_id, split="train").unwrapped.tasks))
    warm = f"oracle warm start on {n_warm} training tasks, then " if n_warm else ""
    print(f"{s.env_id}: {warm}PPO for {s.timesteps} steps ({r['ppo_seconds']:.0f} s of PPO, {r['seconds']:.0f} s in all); "
          f"held-out split, {r['ppo']['episodes']} tasks, {s.max_steps} steps per episode")
    print(f"{'policy':<16}{'outcome':>9}{'progress':>10}")
    for name in ("ppo", "warm_start", "masked_random", "uniform_random"):
        if name not in r:
            continue
        print(f"{name.replace('_', ' '):<16}{r[name]['outcome']:>9.3f}{r[name]['progress']:>10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
