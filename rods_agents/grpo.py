"""Reference GRPO agent for rods environments, in the manner of CleanRL: one file, read top to
bottom, every hyperparameter in ``Args``.

    python -m rods_agents.grpo --data rods --total-trajectories 4000 --seed 0

The policy is a small torch network over ``StructuredActions`` (a fixed-size observation and a
``MultiDiscrete`` action: a head that picks a tool, the reply or a question, then one candidate
per argument slot, both masked). Training:

1. warm start: behaviour cloning on the structured oracle's demonstrations of a few training
   seeds, so that GRPO starts from a policy that can make well-formed calls (a language model's
   pre-training plays this part in the RODS paper);
2. GRPO: ``lanes`` environments, each a ``RODSReplay`` serving groups of ``group_size``
   consecutive episodes of one task; all lanes play their groups in step, so a group is played by
   one policy; every trajectory of a group gets the group-relative advantage
   ``(R - mean) / (std + eps)`` of its final progress; a clipped policy-gradient loss averaged
   over steps; optionally, dynamic filtering drops groups whose rewards do not vary (they carry
   no gradient) and plays more groups until the batch is full.

Where the tasks come from is ``--data``: ``seeds`` (the training seeds, uniformly), ``pool``
(a fixed pool of synthesized variants, uniformly) or ``rods`` (the co-evolving replay buffer).
Everything is seeded: the same arguments give the same run on CPU.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn as nn

import rods_envs
from rods_envs.env import ToolUseEnv

from .boundary import BoundaryDetector, Thresholds
from .replay import RODSReplay, VariantSource
from .replay_buffer import BufferPolicy, ReplayBuffer
from .structured import StructuredActions
from .structured_oracle import StructuredOracle


@dataclass
class Args:
    seed: int = 0
    data: str = "rods"                  # seeds | pool | rods
    dynamic_filtering: bool = False     # drop zero-variance groups (DAPO / EigenData)
    total_trajectories: int = 4000      # the budget: every episode played counts
    group_size: int = 8                 # G: rollouts per task in a GRPO group
    lanes: int = 8                      # groups played side by side (one policy update's worth)
    learning_rate: float = 5e-4
    update_epochs: int = 2
    minibatch_steps: int = 512
    clip_coef: float = 0.2
    ent_coef: float = 0.002
    max_grad_norm: float = 1.0
    hidden: int = 256
    max_candidates: int = 32
    max_steps: int = 40                 # actions per episode
    # The warm start is sized on the training split so that many seeds sit at the boundary (at 160
    # seeds and 800 steps, 21 of 48 probed seeds did, against 2 of 48 at 40 seeds and 400 steps).
    warm_start_tasks: int = 160         # training seeds the warm start imitates
    warm_start_steps: int = 800         # gradient steps of the warm start (minibatches of 256 steps)
    eval_every: int = 1024              # trajectories between two held-out evaluations
    eval_tasks: int | None = None       # held-out tasks per evaluation (None: the whole test split)
    greedy_eval: bool = False           # evaluate the argmax policy instead of the sampled one
    suite: str = "rods-v1"
    capacity: int = 800                 # replay buffer (data="rods")
    same_wl: bool = False               # RODS variants keep the seed's plan shape (WL hash)
    boundary_variance: float = 0.2      # the detector's threshold (see rods_agents.boundary)
    buffer: BufferPolicy = field(default_factory=BufferPolicy)


# -- environments ---------------------------------------------------------------------------------
def make_env(tasks: list, args: Args, buffer: ReplayBuffer | None = None, lane: int = 0) -> StructuredActions:
    """The structured view of a mixed-domain environment; with ``buffer``, one whose episodes
    ``RODSReplay`` serves from it, in groups."""
    env = ToolUseEnv(None, tasks=tasks, max_steps=args.max_steps)
    if buffer is not None:
        env = RODSReplay(env, buffer=buffer, group_size=args.group_size, seed=args.seed * 1000 + lane)
    return StructuredActions(env, max_candidates=args.max_candidates)


def task_source(args: Args, seeds: list, pool: list | None = None) -> ReplayBuffer:
    """The buffer the lanes draw groups from: static (seeds or pool, uniform) or co-evolving."""
    static = BufferPolicy(groups_per_round=10**9, retire_mastered=False, hard_patience=10**9,
                          weights={"boundary": 1.0, "unseen": 1.0, "hard": 1.0, "mastered": 1.0})
    if args.data == "seeds":
        return ReplayBuffer(seeds, capacity=len(seeds), policy=static, seed=args.seed)
    if args.data == "pool":
        if not pool:
            raise ValueError("data='pool' needs a pool of synthesized variants")
        return ReplayBuffer(pool, capacity=len(pool), policy=static, seed=args.seed)
    if args.data == "rods":
        return ReplayBuffer(seeds, capacity=args.capacity, synthesize=VariantSource(seeds, args.seed, args.same_wl),
                            detector=BoundaryDetector(Thresholds(boundary_variance=args.boundary_variance)),
                            policy=args.buffer, seed=args.seed)
    raise ValueError(f"data must be seeds, pool or rods, not {args.data!r}")


# -- the policy -----------------------------------------------------------------------------------
class Policy(nn.Module):
    """Observation -> head logits; (observation, head) -> logits of every argument slot.

    A slot's logit for candidate k is a pointer score, the slot's query (from the observation and
    the head) against candidate k's own features, plus a positional term, which serves slots that
    index an enum rather than the candidates. Pointer scores let one value's features decide,
    wherever it sits in the list."""

    def __init__(self, obs_dim: int, n_heads: int, n_slots: int, n_candidates: int, hidden: int,
                 candidates: slice, candidate_features: int, key_dim: int = 64):
        super().__init__()
        self.n_slots, self.n_candidates, self.key_dim = n_slots, n_candidates, key_dim
        self.candidates, self.candidate_features = candidates, candidate_features
        self.trunk = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh())
        self.head = nn.Linear(hidden, n_heads)
        self.head_embedding = nn.Embedding(n_heads, hidden)
        self.queries = nn.Linear(hidden, n_slots * key_dim)
        self.positions = nn.Linear(hidden, n_slots * n_candidates)
        self.keys = nn.Sequential(nn.Linear(candidate_features, key_dim), nn.Tanh(), nn.Linear(key_dim, key_dim))
        self.none_key = nn.Parameter(torch.zeros(key_dim))     # index K-1: "none"

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(obs)
        return h, self.head(h)

    def slot_logits(self, h: torch.Tensor, head: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        x = torch.tanh(h + self.head_embedding(head))
        features = obs[:, self.candidates].view(obs.shape[0], self.n_candidates - 1, self.candidate_features)
        keys = torch.cat([self.keys(features), self.none_key.expand(obs.shape[0], 1, -1)], dim=1)
        queries = self.queries(x).view(-1, self.n_slots, self.key_dim)
        pointer = torch.einsum("bsd,bkd->bsk", queries, keys) / self.key_dim ** 0.5
        return pointer + self.positions(x).view(-1, self.n_slots, self.n_candidates)


NEG = -1e9


def masked(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return logits.masked_fill(~mask, NEG)


def log_probs(policy: Policy, obs, head_mask, head, slot_mask, slots, used):
    """Log-probability and entropy of (head, slots) under ``policy``; a slot the head does not
    use (``used`` False) adds nothing."""
    h, head_logits = policy(obs)
    head_dist = torch.distributions.Categorical(logits=masked(head_logits, head_mask))
    slot_dist = torch.distributions.Categorical(logits=masked(policy.slot_logits(h, head, obs), slot_mask))
    lp = head_dist.log_prob(head) + (slot_dist.log_prob(slots) * used).sum(-1)
    entropy = head_dist.entropy() + (slot_dist.entropy() * used).sum(-1)
    return lp, entropy


@torch.no_grad()
def act(policy: Policy, envs: list, obs: np.ndarray, infos: list, generator: torch.Generator | None,
        greedy: bool = False):
    """One action per environment; returns the actions and what training needs to store."""
    n_heads = policy.head.out_features
    obs_t = torch.as_tensor(obs, dtype=torch.float32)
    head_mask = torch.as_tensor(np.stack([i["action_mask"][:n_heads] for i in infos]), dtype=torch.bool)
    h, head_logits = policy(obs_t)
    head_logits = masked(head_logits, head_mask)
    if greedy:
        head = head_logits.argmax(-1)
    else:
        head = torch.multinomial(torch.softmax(head_logits, -1), 1, generator=generator).squeeze(-1)
    slot_mask = torch.as_tensor(np.stack([env.slot_mask(int(k)) for env, k in zip(envs, head)]), dtype=torch.bool)
    used = slot_mask.sum(-1) > 1                       # a slot with one option is not a choice
    slot_logits = masked(policy.slot_logits(h, head, obs_t), slot_mask)
    if greedy:
        slots = slot_logits.argmax(-1)
    else:
        flat = torch.softmax(slot_logits, -1).view(-1, policy.n_candidates)
        slots = torch.multinomial(flat, 1, generator=generator).view(-1, policy.n_slots)
    lp = torch.distributions.Categorical(logits=head_logits).log_prob(head) + (
        torch.distributions.Categorical(logits=slot_logits).log_prob(slots) * used).sum(-1)
    actions = np.concatenate([head.numpy()[:, None], slots.numpy()], axis=1)
    return actions, {"head_mask": head_mask, "head": head, "slot_mask": slot_mask, "slots": slots,
                     "used": used.float(), "logprob": lp}


# -- playing episodes -----------------------------------------------------------------------------
def play_episodes(policy: Policy, envs: list, reset: Callable[[int], tuple], generator, greedy=False):
    """One episode in each environment, all in step; ``reset(k)`` starts lane k's episode.
    Returns per lane: the final info and the list of stored steps."""
    started = [reset(k) for k in range(len(envs))]
    obs = [o for o, _ in started]
    infos = [i for _, i in started]
    live = list(range(len(envs)))
    steps: list[list[dict]] = [[] for _ in envs]
    final: list[dict | None] = [None] * len(envs)
    while live:
        batch_obs = np.stack([obs[k] for k in live])
        actions, stored = act(policy, [envs[k] for k in live], batch_obs, [infos[k] for k in live], generator, greedy)
        still = []
        for j, k in enumerate(live):
            if not greedy:
                steps[k].append({"obs": batch_obs[j], **{name: value[j] for name, value in stored.items()}})
            obs[k], _, terminated, truncated, infos[k] = envs[k].step(actions[j])
            if terminated or truncated:
                final[k] = infos[k]
            else:
                still.append(k)
        live = still
    return final, steps


def evaluate(policy: Policy, tasks: list, args: Args, greedy: bool | None = None) -> dict:
    """Held-out scores: mean outcome and mean progress over ``tasks``, one episode each, with
    the policy sampled from a generator seeded by ``args.seed`` (or greedy)."""
    greedy = args.greedy_eval if greedy is None else greedy
    generator = None if greedy else torch.Generator().manual_seed(args.seed + 7919)
    envs = [make_env(tasks, args) for _ in range(min(16, len(tasks)))]
    outcomes, progress = [], []
    for start in range(0, len(tasks), len(envs)):
        chunk = tasks[start:start + len(envs)]
        final, _ = play_episodes(policy, envs[:len(chunk)],
                                 lambda k: envs[k].reset(options={"task": chunk[k]}), generator, greedy=greedy)
        outcomes += [f["outcome"] for f in final]
        progress += [f["progress"] for f in final]
    return {"outcome": float(np.mean(outcomes)), "progress": float(np.mean(progress))}


# -- warm start -----------------------------------------------------------------------------------
def demonstrations(tasks: list, args: Args) -> list[dict]:
    """The structured oracle's steps on ``tasks`` (observation, masks, the oracle's action)."""
    env = make_env(tasks, args)
    n_heads = env.action_space.nvec[0]
    out = []
    for task in tasks:
        obs, info = env.reset(options={"task": task})
        oracle = StructuredOracle(env)
        done = False
        while not done:
            action = np.asarray(oracle.act(obs, info))
            head = int(action[0])
            slot_mask = env.slot_mask(head)
            out.append({"obs": obs, "head_mask": info["action_mask"][:n_heads], "head": head,
                        "slot_mask": slot_mask, "slots": action[1:], "used": (slot_mask.sum(-1) > 1).astype(np.float32)})
            obs, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
    return out


def stack(steps: list[dict]) -> dict:
    return {
        "obs": torch.as_tensor(np.stack([s["obs"] for s in steps]), dtype=torch.float32),
        "head_mask": torch.as_tensor(np.stack([np.asarray(s["head_mask"]) for s in steps]), dtype=torch.bool),
        "head": torch.as_tensor(np.array([int(s["head"]) for s in steps]), dtype=torch.long),
        "slot_mask": torch.as_tensor(np.stack([np.asarray(s["slot_mask"]) for s in steps]), dtype=torch.bool),
        "slots": torch.as_tensor(np.stack([np.asarray(s["slots"]) for s in steps]), dtype=torch.long),
        "used": torch.as_tensor(np.stack([np.asarray(s["used"]) for s in steps]), dtype=torch.float32),
    }


def warm_start(policy: Policy, demos: list[dict], args: Args) -> None:
    """Behaviour cloning: maximise the log-probability of the oracle's actions."""
    data = stack(demos)
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(args.seed)
    for _ in range(args.warm_start_steps):
        idx = torch.randint(len(demos), (min(256, len(demos)),), generator=generator)
        lp, _ = log_probs(policy, *(data[k][idx] for k in ("obs", "head_mask", "head", "slot_mask", "slots", "used")))
        loss = -lp.mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def new_policy(args: Args, env: StructuredActions) -> Policy:
    torch.manual_seed(args.seed)
    nvec = env.action_space.nvec
    candidates = env.layout["candidates"]
    return Policy(env.observation_space.shape[0], int(nvec[0]), len(nvec) - 1, args.max_candidates, args.hidden,
                  candidates, (candidates.stop - candidates.start) // (args.max_candidates - 1))


# -- GRPO -----------------------------------------------------------------------------------------
def group_advantages(rewards: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Trajectory-level group-relative advantages: (R - mean) / (std + eps), 0 for a group whose
    rewards are all equal.

    >>> group_advantages(np.array([0.0, 1.0, 1.0, 0.0])).tolist()
    [-0.999999000001, 0.999999000001, 0.999999000001, -0.999999000001]
    """
    std = rewards.std()
    if std < 1e-12:
        return np.zeros_like(rewards)
    return (rewards - rewards.mean()) / (std + eps)


def training_steps(groups: list[list[tuple[float, list[dict]]]], dynamic_filtering: bool) -> list[dict]:
    """Every step of every trajectory, with its trajectory's group-relative advantage. A group is
    a list of (final progress, steps); with ``dynamic_filtering`` a group whose rewards are all
    equal is dropped (its advantages are zero: it would only dilute the batch)."""
    out = []
    for group in groups:
        rewards = np.array([r for r, _ in group])
        if dynamic_filtering and rewards.std() < 1e-12:
            continue
        for advantage, (_, steps) in zip(group_advantages(rewards), group):
            out += [{**s, "advantage": float(advantage)} for s in steps]
    return out


def grpo_update(policy: Policy, optimizer, batch: list[dict], args: Args, generator) -> dict:
    data = stack(batch)
    advantages = torch.as_tensor(np.array([s["advantage"] for s in batch]), dtype=torch.float32)
    old_lp = torch.stack([s["logprob"] for s in batch])
    n = len(batch)
    stats = []
    for _ in range(args.update_epochs):
        for idx in torch.randperm(n, generator=generator).split(args.minibatch_steps):
            lp, entropy = log_probs(policy, *(data[k][idx] for k in ("obs", "head_mask", "head", "slot_mask", "slots", "used")))
            ratio = torch.exp(lp - old_lp[idx])
            a = advantages[idx]
            pg_loss = -torch.min(ratio * a, torch.clamp(ratio, 1 - args.clip_coef, 1 + args.clip_coef) * a).mean()
            loss = pg_loss - args.ent_coef * entropy.mean()
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(policy.parameters(), args.max_grad_norm)
            optimizer.step()
            stats.append((pg_loss.item(), entropy.mean().item(), ((ratio - 1).abs() > args.clip_coef).float().mean().item()))
    pg, ent, clipped = np.mean(stats, axis=0)
    return {"pg_loss": float(pg), "entropy": float(ent), "clip_fraction": float(clipped)}


def train(args: Args, policy: Policy, seeds: list, test_tasks: list, pool: list | None = None,
          progress: Callable[[dict], None] | None = None) -> list[dict]:
    """GRPO from ``policy`` (changed in place) until ``args.total_trajectories`` episodes have been
    played. Returns the learning curve: held-out scores against trajectories consumed."""
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(args.seed)
    buffer = task_source(args, seeds, pool)
    lanes = [make_env(seeds, args, buffer, lane=k) for k in range(args.lanes)]
    optimizer = torch.optim.Adam(policy.parameters(), lr=args.learning_rate)
    eval_tasks = test_tasks[: args.eval_tasks] if args.eval_tasks else test_tasks
    curve = [{"trajectories": 0, **evaluate(policy, eval_tasks, args), "train_reward": None, "buffer": len(buffer),
              "informative": None}]
    consumed, next_eval, batch, rewards_seen, started = 0, args.eval_every, [], [], time.perf_counter()
    batch_rewards: list[float] = []
    varied = groups_played = 0             # groups whose rewards differ: the ones with a gradient
    kept = 0                               # groups in the batch
    first_reset = True
    while consumed < args.total_trajectories:
        # One group per lane: group_size waves of one episode in every lane.
        groups = [[] for _ in lanes]
        for _ in range(args.group_size):
            seed = args.seed if first_reset else None
            final, steps = play_episodes(policy, lanes, lambda k: lanes[k].reset(seed=None if seed is None else seed + k), generator)
            first_reset = False
            for k in range(len(lanes)):
                groups[k].append((final[k]["progress"], steps[k]))
            consumed += len(lanes)
        rewards = [r for group in groups for r, _ in group]
        rewards_seen += rewards
        batch_rewards += rewards
        varying = sum(np.std([r for r, _ in group]) > 1e-12 for group in groups)
        groups_played += len(groups)
        varied += varying
        batch += training_steps(groups, args.dynamic_filtering)
        # Dynamic filtering (DAPO's dynamic sampling): play on until the batch holds ``lanes``
        # groups whose rewards vary; without it, every round of groups is one update.
        kept += varying if args.dynamic_filtering else len(groups)
        if batch and kept >= args.lanes:
            stats = grpo_update(policy, optimizer, batch, args, generator)
            batch, kept = [], 0
            if progress:
                progress({"trajectories": consumed, "train_reward": float(np.mean(rewards_seen[-256:])),
                          "train_reward_batch": float(np.mean(batch_rewards)), "buffer": len(buffer),
                          "elapsed": time.perf_counter() - started, **stats})
            batch_rewards = []
        if consumed >= next_eval or consumed >= args.total_trajectories:
            next_eval += args.eval_every
            curve.append({"trajectories": consumed, **evaluate(policy, eval_tasks, args),
                          "train_reward": float(np.mean(rewards_seen[-256:])), "buffer": len(buffer),
                          "informative": varied / max(groups_played, 1)})
            varied = groups_played = 0
    return curve


def main(argv=None) -> int:
    import argparse
    parser = argparse.ArgumentParser(description="GRPO on rods-v1 through StructuredActions")
    for name, value in vars(Args()).items():
        if isinstance(value, (bool, int, float, str)) or value is None:
            kind = (lambda s: s.lower() in ("1", "true", "yes")) if isinstance(value, bool) else (type(value) if value is not None else int)
            parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=value)
    args = Args(**{k: v for k, v in vars(parser.parse_args(argv)).items()})
    torch.set_num_threads(1)
    suite = rods_envs.load_suite(args.suite)
    seeds, test = suite.split("train"), suite.split("test")
    env = make_env(seeds, args)
    policy = new_policy(args, env)
    warm_start(policy, demonstrations(seeds[: args.warm_start_tasks], args), args)
    curve = train(args, policy, seeds, test, progress=lambda s: print(
        f"trajectories {s['trajectories']:6d}  train reward {s['train_reward']:.3f}  buffer {s['buffer']}  "
        f"entropy {s['entropy']:.2f}  {s['elapsed']:.0f}s", flush=True))
    for point in curve:
        print(f"held-out after {point['trajectories']:6d} trajectories: outcome {point['outcome']:.3f}  "
              f"progress {point['progress']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
