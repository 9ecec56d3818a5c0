"""Distributed rollouts on Ray: rods environments hosted by Ray actors, driven from one process.

Every worker is a Ray actor (``RolloutWorker``) hosting a batch of environments of one registered
id (``rods/Files-v0``, ``rods/Mixed-v0``, ...; environment kwargs and wrappers are passed through).
Two drivers sit on top of the same workers:

- ``RayVectorEnv``: a Gymnasium vector environment whose sub-environments live in the actors.
  Actions go in, batched observations, rewards, terminations, truncations and infos come out, with
  next-step autoreset exactly as ``SyncVectorEnv`` does it, so a learner written for a vector
  environment runs on a cluster unchanged.
- ``RayEpisodes``: sends a policy (an object with ``act(observation, info)``, or a zero-argument
  factory that makes one) to the actors and plays whole episodes there, one ``EpisodeRecord`` per
  requested ``Episode``, returned in the order asked.

An episode is named by ``(task id or seed, index)``. Its reset seed is fixed by the ``Episode``
and a policy with a ``seed(int)`` method is reseeded with ``policy_seed(episode)`` before it, so
its record does not depend on which worker played it, in which order, or next to what.

Fault handling. A worker whose process dies (killed, crashed, its node lost) is replaced by a new
actor, up to ``max_worker_restarts`` times per driver. ``RayEpisodes`` runs again every episode
the dead worker had not returned; a result counts only once it has arrived at the driver, and each
episode has one live attempt at a time, so none is counted twice or lost. ``RayVectorEnv`` keeps,
for each sub-environment, how its current episode was reset (the seed, or the generator state for
an unseeded autoreset) and the actions since; a replacement worker replays them, which rods
environments reproduce exactly (same seed and actions, same episode), and the step that was in
flight is sent again. An exception raised by a policy or an environment is not a dead worker: it
stops the run with a ``RolloutError`` naming the episode (or sub-environment).

Example (docs/integrations.md has more)::

    import ray, rods_envs
    from rods_agents.ray_rollouts import RayEpisodes, plan_episodes

    def make_oracle():
        return rods_envs.OraclePolicy(rods_envs.load_suite("rods-v1").split("test"))

    ray.init()            # or ray.init(address="auto") on a cluster
    with RayEpisodes("rods/Files-v0", num_workers=2, env_kwargs={"split": "test"}) as pool:
        records = pool.run(make_oracle, plan_episodes(seeds=range(8)))
"""

from __future__ import annotations

import copy
import os
import pickle
import queue
import sys
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, Sequence

import gymnasium as gym
import numpy as np
from gymnasium.utils.env_checker import data_equivalence
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space, concatenate, create_empty_array, iterate

from rods_envs.episode import EpisodeResult, run_episode

from .evaluate import episode_seed, one_line

DEFAULT_ACTOR_OPTIONS = {"num_cpus": 1}
# The drivers replace dead workers themselves (they know which episodes were unfinished);
# Ray's own restarts and retries would resurrect a worker with fresh environments behind their back.
DRIVER_OWNED_OPTIONS = ("max_restarts", "max_task_retries", "max_concurrency")


class RolloutError(RuntimeError):
    """A rollout that cannot go on: a policy or environment raised, or workers kept dying.

    ``finished`` maps each episode that did finish to its record, so nothing played is lost.
    """

    def __init__(self, message: str, finished: dict | None = None):
        super().__init__(message)
        self.finished = finished or {}


def _ray():
    try:
        import ray
    except ImportError:
        raise ImportError("distributed rollouts need Ray: pip install 'rods[distributed]'") from None
    return ray


def _worker_lost(ray) -> tuple[type[BaseException], ...]:
    """The errors that mean a worker's process or node is gone (not that its code raised)."""
    e = ray.exceptions
    return (e.RayActorError, e.WorkerCrashedError, e.NodeDiedError, e.ObjectLostError)


# -- episodes ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Episode:
    """One episode to play: reset with ``seed`` (and ``options={"task_id": task_id}`` if set).

    ``index`` tells repeated episodes of one task or seed apart (a trial number). The episode's
    name is ``key``: (task id, or the seed when no task is pinned; index).
    """
    seed: int
    task_id: str | None = None
    index: int = 0

    @property
    def key(self) -> tuple:
        return (self.seed if self.task_id is None else self.task_id, self.index)

    def __str__(self) -> str:
        what = f"seed {self.seed}" if self.task_id is None else f"task {self.task_id!r} (seed {self.seed})"
        return f"episode {what}, index {self.index}"


@dataclass
class EpisodeRecord(EpisodeResult):
    """``rods_envs.episode.EpisodeResult`` plus the episode's index."""
    index: int


def plan_episodes(*, task_ids: Iterable[str] | None = None, seeds: Iterable[int] | None = None,
                  trials: int = 1, seed: int = 0) -> list[Episode]:
    """Episodes for every task id (or every seed) times ``trials``, trial-major.

    With ``task_ids`` each reset seed comes from (``seed``, task id, trial), as ``rods eval`` makes
    them; with ``seeds`` the seed itself picks the task, and every trial resets with it.

    >>> plan_episodes(seeds=[3, 4], trials=2)[2]
    Episode(seed=3, task_id=None, index=1)
    """
    if (task_ids is None) == (seeds is None):
        raise ValueError("plan_episodes needs either task_ids or seeds (exactly one of them)")
    trials = _positive_int("trials", trials)
    if task_ids is not None:
        task_ids = list(task_ids)
        return [Episode(episode_seed(seed, t, trial), t, trial) for trial in range(trials) for t in task_ids]
    seeds = list(seeds)
    return [Episode(s, None, trial) for trial in range(trials) for s in seeds]


def policy_seed(episode: Episode) -> int:
    """The seed a policy with ``seed(int)`` gets before ``episode``: 32 bits of a hash of its name."""
    return episode_seed(episode.seed, episode.task_id, episode.index)


def check_episodes(episodes: Iterable[Episode], known_task_ids: set[str] | None = None) -> list[Episode]:
    """The episodes as a list, or a ValueError naming the first bad or repeated one."""
    episodes = list(episodes)
    seen: set = set()
    for n, ep in enumerate(episodes):
        if not isinstance(ep, Episode):
            raise ValueError(f"episodes[{n}] is a {type(ep).__name__}, not an Episode (see plan_episodes)")
        if isinstance(ep.seed, bool) or not isinstance(ep.seed, (int, np.integer)) or ep.seed < 0:
            raise ValueError(f"episodes[{n}]: the seed must be a non-negative integer, not {ep.seed!r}")
        if ep.task_id is not None and not isinstance(ep.task_id, str):
            raise ValueError(f"episodes[{n}]: task_id must be a string or None, not {type(ep.task_id).__name__}")
        if isinstance(ep.index, bool) or not isinstance(ep.index, (int, np.integer)) or ep.index < 0:
            raise ValueError(f"episodes[{n}]: index must be a non-negative integer, not {ep.index!r}")
        if ep.key in seen:
            raise ValueError(f"episodes[{n}]: {ep} is asked for twice (same task or seed and index)")
        seen.add(ep.key)
    if known_task_ids is not None:
        unknown = sorted({ep.task_id for ep in episodes if ep.task_id is not None} - known_task_ids)
        if unknown:
            shown = ", ".join(map(repr, unknown[:5])) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
            raise ValueError(f"unknown task id {shown} for this environment ({len(known_task_ids)} tasks)")
    return episodes


def check_policy(policy: Any) -> None:
    if not callable(getattr(policy, "act", None)) and not callable(policy):
        raise ValueError(f"policy must have act(observation, info) or be a factory that makes such an object, "
                         f"not {type(policy).__name__}")


# -- the worker: plain Python, made a Ray actor by the drivers ---------------------------------------

@dataclass(frozen=True)
class WorkerFailure:
    """What a worker returns instead of results when an environment raised."""
    slot: int
    message: str


def _node_id() -> str | None:
    """The Ray node this process runs on (None outside Ray)."""
    ray = sys.modules.get("ray")
    try:
        return ray.get_runtime_context().get_node_id() if ray is not None and ray.is_initialized() else None
    except Exception:  # an old or half-started Ray: the node is only shown, never relied on
        return None


def make_env(env_id: str, env_kwargs: dict, wrappers: Sequence[Callable]) -> gym.Env:
    env = gym.make(env_id, **env_kwargs)
    for wrap in wrappers:
        env = wrap(env)
    return env


def _restore_generator(env: gym.Env, state: dict) -> None:
    base = env.unwrapped
    try:
        base.np_random.bit_generator.state = state        # in place, so references stay valid
    except (TypeError, ValueError):                        # another bit generator: build one
        generator = np.random.Generator(getattr(np.random, state["bit_generator"])())
        generator.bit_generator.state = state
        base.np_random = generator


class RolloutWorker:
    """One worker's environments and, for whole episodes, one copy of the policy per environment.

    Errors come back as one-line strings rather than exceptions, so that the driver can tell an
    environment or policy error (stop and report) from a dead process (replace and run again).
    """

    def __init__(self, env_id: str, env_kwargs: dict, wrappers: Sequence[Callable], num_envs: int):
        self.error: str | None = None
        self.envs: list[gym.Env] = []
        try:
            import rods_envs  # noqa: F401  (registers the rods ids in this process)
            self.envs = [make_env(env_id, env_kwargs, wrappers) for _ in range(num_envs)]
        except Exception as exc:
            self.error = f"cannot make {env_id} with {env_kwargs}: {one_line(exc)}"
        self.needs_reset = [False] * len(self.envs)
        self.policies: list = []
        self.free: queue.SimpleQueue = queue.SimpleQueue()   # environments not playing an episode
        for slot in range(len(self.envs)):
            self.free.put(slot)

    def ready(self) -> dict:
        if self.error:
            return {"error": self.error}
        env = self.envs[0]
        tasks = getattr(env.unwrapped, "tasks", None)
        task_ids = {t.id for t in tasks if isinstance(getattr(t, "id", None), str)} if tasks else None
        return {"observation_space": env.observation_space, "action_space": env.action_space,
                "metadata": dict(env.metadata), "task_ids": task_ids, "pid": os.getpid(), "node_id": _node_id()}

    # -- step by step (RayVectorEnv) ---------------------------------------------------------------
    def _reset(self, slot: int, seed: int | None, options: dict | None):
        """Reset one environment; the record returned is what a replay needs to redo it."""
        env = self.envs[slot]
        state = None if seed is not None else copy.deepcopy(env.unwrapped.np_random.bit_generator.state)
        observation, info = env.reset(seed=seed, options=options)
        self.needs_reset[slot] = False
        return observation, info, {"seed": seed, "options": options, "state": state}

    def reset(self, seeds: list, options: list) -> list | WorkerFailure:
        out = []
        for slot, (seed, opts) in enumerate(zip(seeds, options)):
            try:
                out.append(self._reset(slot, seed, opts))
            except Exception as exc:
                return WorkerFailure(slot, one_line(exc))
        return out

    def step(self, actions: list) -> list | WorkerFailure:
        out = []
        for slot, action in enumerate(actions):
            try:
                if self.needs_reset[slot]:   # next-step autoreset: the action is ignored
                    observation, info, record = self._reset(slot, None, None)
                    out.append((observation, 0.0, False, False, info, record))
                    continue
                observation, reward, terminated, truncated, info = self.envs[slot].step(action)
            except Exception as exc:
                return WorkerFailure(slot, one_line(exc))
            self.needs_reset[slot] = bool(terminated or truncated)
            out.append((observation, float(reward), bool(terminated), bool(truncated), info, None))
        return out

    def restore(self, logs: list) -> list | WorkerFailure:
        """Replay each environment's log (its last reset, then its actions since): the last
        observation of each, or an error."""
        last = []
        for slot, log in enumerate(logs):
            try:
                record = log["reset"]
                if record["state"] is not None:
                    _restore_generator(self.envs[slot], record["state"])
                observation, _ = self.envs[slot].reset(seed=record["seed"], options=record["options"])
                self.needs_reset[slot] = False
                for action in log["actions"]:
                    observation, _, terminated, truncated, _ = self.envs[slot].step(action)
                    self.needs_reset[slot] = bool(terminated or truncated)
            except Exception as exc:
                return WorkerFailure(slot, one_line(exc))
            last.append(observation)
        return last

    # -- whole episodes (RayEpisodes) --------------------------------------------------------------
    def set_policy(self, policy) -> str | None:
        """One policy per environment: a factory's products, or copies of the policy (sent
        pickled, as bytes, by the Ray drivers: unpickling once per environment is much cheaper than
        deep-copying a policy that holds a task suite)."""
        try:
            if isinstance(policy, bytes):
                template, copy_of = pickle.loads(policy), (lambda: pickle.loads(policy))
            else:
                template, copy_of = policy, (lambda: copy.deepcopy(policy))
            if callable(getattr(template, "act", None)):
                self.policies = [template] + [copy_of() for _ in self.envs[1:]]
            else:
                self.policies = [template() for _ in self.envs]
        except Exception as exc:
            return f"cannot build the policy on a worker: {one_line(exc)}"
        if not callable(getattr(self.policies[0], "act", None)):
            return (f"the policy factory returned a {type(self.policies[0]).__name__}, "
                    "which has no act(observation, info) method")
        return None

    def run_episodes(self, episodes: list[Episode]) -> list[EpisodeRecord | str]:
        """Play ``episodes`` one after another on a free environment; an error (a one-line
        string) ends the list."""
        slot = self.free.get()
        out: list[EpisodeRecord | str] = []
        try:
            for episode in episodes:
                out.append(self._play(slot, episode))
                if isinstance(out[-1], str):
                    break
        finally:
            self.free.put(slot)
        return out

    def _play(self, slot: int, episode: Episode) -> EpisodeRecord | str:
        try:
            policy = self.policies[slot]
            if callable(getattr(policy, "seed", None)):
                policy.seed(policy_seed(episode))
            options = None if episode.task_id is None else {"task_id": episode.task_id}
            result = run_episode(self.envs[slot], policy, seed=int(episode.seed), options=options)
            return EpisodeRecord(**asdict(result), index=int(episode.index))
        except Exception as exc:
            return one_line(exc)


def run_in_process(env_id: str, policy, episodes: Iterable[Episode], *, env_kwargs: dict | None = None,
                   wrappers: Sequence[Callable] = ()) -> list[EpisodeRecord]:
    """The same episodes as ``RayEpisodes.run``, played one after another in this process (with
    ``policy`` itself, not a copy, when it is an object rather than a factory)."""
    _check_env_id(env_id)
    check_policy(policy)
    worker = RolloutWorker(env_id, _check_kwargs(env_kwargs), list(wrappers), 1)
    ready = worker.ready()
    if "error" in ready:
        raise ValueError(ready["error"])
    episodes = check_episodes(episodes, ready["task_ids"])
    failure = worker.set_policy(policy)
    if failure:
        raise ValueError(failure)
    records = []
    for episode in episodes:
        [out] = worker.run_episodes([episode])
        if isinstance(out, str):
            raise RolloutError(f"{episode}: {out}", dict(zip(episodes, records)))
        records.append(out)
    return records


# -- a driver's workers: start, replace, stop ---------------------------------------------------------

def _check_env_id(env_id: str) -> None:
    import rods_envs  # noqa: F401  (registers the rods ids here, so that they can be checked)
    if not isinstance(env_id, str):
        raise ValueError(f"env_id must be a registered environment id, not {type(env_id).__name__}")
    try:
        gym.spec(env_id)
    except gym.error.Error as exc:
        rods_ids = ", ".join(sorted(i for i in gym.registry if i.startswith("rods/")))
        raise ValueError(f"unknown environment id {env_id!r} ({exc}); the rods ids are {rods_ids}") from None


def _check_kwargs(env_kwargs) -> dict:
    if env_kwargs is None:
        return {}
    if not isinstance(env_kwargs, dict) or not all(isinstance(k, str) for k in env_kwargs):
        raise ValueError(f"env_kwargs must be a dict of keyword arguments, not {type(env_kwargs).__name__}")
    return dict(env_kwargs)


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")
    return int(value)


_actor_class = None


def _connect(ray) -> None:
    """``ray.init()``: a local instance, or the cluster RAY_ADDRESS names; a failure in one line."""
    try:
        ray.init()
    except Exception as exc:
        where = os.environ.get("RAY_ADDRESS")
        hint = ""
        chain, link = [], exc
        while link is not None and len(chain) < 8:
            chain.append(link)
            link = link.__cause__ or link.__context__
        if any(isinstance(e, ray.exceptions.AuthenticationError) or "AuthToken" in str(e) for e in chain):
            hint = ("; the cluster wants its token: set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN "
                    "(`ray get-auth-token` on the head prints it)")
        raise RolloutError(f"cannot start or join Ray{f' at RAY_ADDRESS={where}' if where else ''}: "
                           f"{one_line(exc)}{hint}") from None


class _Workers:
    """The Ray actors behind a driver: worker ``w`` hosts ``sizes[w]`` environments."""

    def __init__(self, env_id: str, sizes: list[int], env_kwargs, wrappers, actor_options,
                 max_worker_restarts: int, startup_timeout_s: float, concurrent: bool):
        global _actor_class
        _check_env_id(env_id)
        self.env_args = (env_id, _check_kwargs(env_kwargs), list(wrappers))
        for wrap in self.env_args[2]:
            if not callable(wrap):
                raise ValueError(f"wrappers must be callables that wrap an environment, not {type(wrap).__name__}")
        actor_options = dict(actor_options or {})
        owned = sorted(set(actor_options) & set(DRIVER_OWNED_OPTIONS))
        if owned:
            raise ValueError(f"actor_options may not set {', '.join(owned)}: the driver replaces dead workers itself")
        if isinstance(max_worker_restarts, bool) or not isinstance(max_worker_restarts, int) or max_worker_restarts < 0:
            raise ValueError(f"max_worker_restarts must be a non-negative integer, not {max_worker_restarts!r}")
        self.ray = _ray()
        if not self.ray.is_initialized():
            _connect(self.ray)
        if _actor_class is None:
            _actor_class = self.ray.remote(RolloutWorker)
        self.options = {**DEFAULT_ACTOR_OPTIONS, **actor_options}
        self.sizes, self.concurrent = sizes, concurrent
        self.max_restarts, self.restarts = max_worker_restarts, 0
        self.startup_timeout_s = startup_timeout_s
        self.lost = _worker_lost(self.ray)
        self.handles: list = []
        try:
            for w in range(len(sizes)):
                self.handles.append(self._spawn(w))
            self.infos = self._await_ready(self.handles)     # what each worker said when it started
        except BaseException:
            self.close()
            raise

    def _spawn(self, w: int):
        try:
            return _actor_class.options(**self.options, max_restarts=0, max_task_retries=0,
                                        max_concurrency=self.sizes[w] if self.concurrent else 1
                                        ).remote(*self.env_args, self.sizes[w])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad actor_options {self.options}: {one_line(exc)}") from None

    def _await_ready(self, handles: list) -> list[dict]:
        refs = [h.ready.remote() for h in handles]
        _, waiting = self.ray.wait(refs, num_returns=len(refs), timeout=self.startup_timeout_s)
        if waiting:
            raise RolloutError(
                f"{len(waiting)} of {len(refs)} workers did not start within {self.startup_timeout_s:g} s: "
                f"each asks for {self.options}, the cluster has {self.ray.available_resources()} free; "
                "add nodes or ask for less (actor_options)")
        infos = []
        for ref in refs:
            try:
                info = self.ray.get(ref)
            except self.lost as exc:
                raise RolloutError(f"a worker died while starting (is rods installed on every node?): "
                                   f"{one_line(exc, 500)}") from None
            if "error" in info:
                raise ValueError(info["error"])
            infos.append(info)
        return infos

    def replace(self, w: int, why: str):
        """A fresh actor in place of worker ``w``, which died."""
        self.restarts += 1
        if self.restarts > self.max_restarts:
            raise RolloutError(f"workers died {self.restarts} times, more than max_worker_restarts="
                               f"{self.max_restarts}; the last time {why}")
        self.kill(self.handles[w])
        self.handles[w] = self._spawn(w)
        [self.infos[w]] = self._await_ready([self.handles[w]])
        return self.handles[w]

    def kill(self, handle) -> None:
        try:
            self.ray.kill(handle, no_restart=True)
        except Exception:   # already dead, or Ray shut down: nothing left to stop
            pass

    def close(self) -> None:
        for handle in self.handles:
            self.kill(handle)
        self.handles = []


# -- driver 1: whole episodes --------------------------------------------------------------------

class _PoolView:
    """What a driver shows of its worker pool (``self._workers``)."""

    @property
    def workers(self) -> list:
        """The live actor handles, one per worker."""
        return list(self._workers.handles)

    @property
    def restarts(self) -> int:
        """How many dead workers have been replaced so far."""
        return self._workers.restarts

    @property
    def worker_nodes(self) -> list[str]:
        """The Ray node id each worker runs on."""
        return [info["node_id"] for info in self._workers.infos]


class RayEpisodes(_PoolView):
    """Play whole episodes of a policy on ``num_workers`` Ray actors.

    Each worker hosts ``envs_per_worker`` environments and plays that many episodes at once (in
    threads: this pays off when the policy waits, on a model server for example; a policy that
    computes in Python holds the GIL and gains from more workers, not more environments). Each
    Ray call carries ``episodes_per_call`` episodes for one environment: more cut Ray's round
    trip (about a millisecond) out of short episodes, fewer balance the load finer, and a worker
    that dies takes only the calls it had not returned with it.

    ``env_kwargs`` go to ``gym.make``, ``wrappers`` (picklable callables) wrap each environment,
    ``actor_options`` go to Ray's ``.options()`` for each actor (``num_cpus`` defaults to 1;
    ``resources``, ``scheduling_strategy``, ... place workers on chosen nodes).
    """

    def __init__(self, env_id: str, *, num_workers: int = 2, envs_per_worker: int = 1,
                 episodes_per_call: int = 1, env_kwargs: dict | None = None,
                 wrappers: Sequence[Callable] = (), actor_options: dict | None = None,
                 max_worker_restarts: int = 8, startup_timeout_s: float = 120.0):
        num_workers = _positive_int("num_workers", num_workers)
        self.envs_per_worker = _positive_int("envs_per_worker", envs_per_worker)
        self.episodes_per_call = _positive_int("episodes_per_call", episodes_per_call)
        self._workers = _Workers(env_id, [self.envs_per_worker] * num_workers, env_kwargs, wrappers,
                                 actor_options, max_worker_restarts, startup_timeout_s, concurrent=True)
        self.env_id = env_id
        self.reruns = 0                   # episodes sent again because their worker died
        self._in_flight: dict = {}        # ray ref -> (worker, handle, positions of its episodes)
        self._episodes: list[Episode] = []

    def in_flight(self) -> dict[int, list[Episode]]:
        """Worker index -> the episodes it is playing now (for monitoring)."""
        current = self._workers.handles
        playing: dict[int, list[Episode]] = {}
        for w, handle, chunk in list(self._in_flight.values()):
            if handle is current[w]:
                playing.setdefault(w, []).extend(self._episodes[p] for p in chunk)
        return playing

    def run(self, policy, episodes: Iterable[Episode],
            on_result: Callable[[Episode, EpisodeRecord], None] | None = None) -> list[EpisodeRecord]:
        """Play every episode once; the records in the order of ``episodes``.

        ``policy`` is pickled once per call and unpickled once per environment on the workers
        (so each environment has its own copy, in the state it had when sent); a zero-argument
        factory is called once per environment instead. ``on_result(episode,
        record)`` is called in this process as each episode arrives.
        """
        if not self._workers.handles:
            raise RolloutError("this RayEpisodes is closed")
        check_policy(policy)
        episodes = check_episodes(episodes, self._workers.infos[0]["task_ids"])
        ray = self._workers.ray
        try:
            policy_ref = ray.put(ray.cloudpickle.dumps(policy))
        except Exception as exc:
            raise ValueError(f"the policy cannot be sent to the workers (it must pickle): {one_line(exc)}") from None
        self._send_policy(list(range(len(self._workers.handles))), policy_ref)

        self._episodes = episodes
        pending = deque(range(len(episodes)))
        results: dict[int, EpisodeRecord] = {}
        load = [0] * len(self._workers.handles)
        failure: str | None = None

        def fill() -> None:
            for w, handle in enumerate(self._workers.handles):
                while failure is None and pending and load[w] < self.envs_per_worker:
                    chunk = [pending.popleft() for _ in range(min(self.episodes_per_call, len(pending)))]
                    ref = handle.run_episodes.remote([episodes[p] for p in chunk])
                    self._in_flight[ref] = (w, handle, chunk)
                    load[w] += 1

        def finished() -> dict:
            return {episodes[p]: r for p, r in sorted(results.items())}

        try:
            fill()
            while self._in_flight:
                [ref], _ = ray.wait(list(self._in_flight), num_returns=1)
                w, handle, chunk = self._in_flight.pop(ref)
                alive = handle is self._workers.handles[w]
                if alive:
                    load[w] -= 1
                try:
                    outs = ray.get(ref)
                except self._workers.lost as exc:
                    # Never arrived, so never counted: these run again, on another worker or the new one.
                    pending.extendleft(reversed(chunk))
                    self.reruns += len(chunk)
                    if alive and failure is None:
                        lost = [p for (_, h, c) in self._in_flight.values() if h is handle for p in c]
                        why = (f"worker {w} died playing {', '.join(str(episodes[p]) for p in chunk + lost)} "
                               f"({type(exc).__name__})")
                        try:
                            self._workers.replace(w, why)
                        except RolloutError as err:
                            failure = str(err)
                            continue
                        self._send_policy([w], policy_ref)
                        load[w] = 0
                    fill()
                    continue
                for pos, out in zip(chunk, outs):
                    if isinstance(out, str):
                        failure = failure or f"{episodes[pos]}: {out}"
                        break
                    if pos in results:    # cannot happen: one live attempt per episode
                        raise RolloutError(f"internal error: {episodes[pos]} arrived twice")
                    results[pos] = out
                    if on_result is not None:
                        on_result(episodes[pos], out)
                fill()
        finally:
            self._in_flight.clear()
        if failure is not None:
            raise RolloutError(failure, finished())
        return [results[p] for p in range(len(episodes))]

    def _send_policy(self, ws: list[int], policy_ref) -> None:
        """Build the policy on workers ``ws`` (all at once); a worker that dies meanwhile is replaced."""
        ray = self._workers.ray
        refs = {w: self._workers.handles[w].set_policy.remote(policy_ref) for w in ws}
        for w in ws:
            while True:
                try:
                    failure = ray.get(refs[w])
                    break
                except self._workers.lost as exc:
                    handle = self._workers.replace(w, f"worker {w} died receiving the policy ({type(exc).__name__})")
                    refs[w] = handle.set_policy.remote(policy_ref)
            if failure:
                raise ValueError(failure)

    def close(self) -> None:
        self._workers.close()

    def __enter__(self) -> RayEpisodes:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# -- driver 2: a vector environment -----------------------------------------------------------------

class RayVectorEnv(_PoolView, gym.vector.VectorEnv):
    """``num_envs`` copies of ``env_id`` spread over ``num_workers`` Ray actors, as one vector env.

    Same API and semantics as ``gymnasium.vector.SyncVectorEnv`` with next-step autoreset: when a
    sub-environment ends, the next ``step`` resets it (unseeded, so its generator carries on),
    ignores its action there and returns the new episode's opening with reward 0. Observations and
    actions are batched with Gymnasium's ``batch_space`` (text ids: tuples of strings), infos are
    Gymnasium's batched dicts. Sub-environments ``0..num_envs-1`` are split over the workers in
    contiguous blocks. A dead worker is replaced and its sub-environments are replayed to where
    they were (see the module docstring); ``restarts`` counts replacements.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, env_id: str, num_envs: int, *, num_workers: int = 2, env_kwargs: dict | None = None,
                 wrappers: Sequence[Callable] = (), actor_options: dict | None = None,
                 max_worker_restarts: int = 8, startup_timeout_s: float = 120.0):
        self.num_envs = _positive_int("num_envs", num_envs)
        num_workers = min(_positive_int("num_workers", num_workers), self.num_envs)
        blocks = np.array_split(np.arange(self.num_envs), num_workers)
        self._blocks = [(int(b[0]), int(b[-1]) + 1) for b in blocks]
        self._workers = _Workers(env_id, [len(b) for b in blocks], env_kwargs, wrappers, actor_options,
                                 max_worker_restarts, startup_timeout_s, concurrent=False)
        info = self._workers.infos[0]
        self.single_observation_space = info["observation_space"]
        self.single_action_space = info["action_space"]
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = {**info["metadata"], "autoreset_mode": AutoresetMode.NEXT_STEP}
        self._text_actions = isinstance(self.single_action_space, gym.spaces.Text)
        self._observations = create_empty_array(self.single_observation_space, self.num_envs)
        self._logs: list[dict | None] = [None] * self.num_envs     # how to replay each sub-environment
        self._last: list = [None] * self.num_envs                  # its latest observation
        self._broken: str | None = "call reset() before step()"

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | list | None = None):
        """Reset every sub-environment: ``seed`` None, an int (``seed + i`` for the i-th) or a list;
        ``options`` one dict for all, or a list of one per sub-environment."""
        self._check_open()
        n = self.num_envs
        if seed is None:
            seeds = [None] * n
        elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            seeds = [int(seed) + i for i in range(n)]
        elif isinstance(seed, (list, tuple)) and len(seed) == n:
            seeds = list(seed)
        else:
            raise ValueError(f"seed must be None, an int or a list of {n} seeds, not {seed!r:.80}")
        if options is None or isinstance(options, dict):
            if options and "reset_mask" in options:
                raise ValueError("RayVectorEnv resets all sub-environments together: options['reset_mask'] "
                                 "is not supported")
            per_env = [options] * n
        elif isinstance(options, (list, tuple)) and len(options) == n and all(
                o is None or isinstance(o, dict) for o in options):
            per_env = list(options)
        else:
            raise ValueError(f"options must be None, a dict or a list of {n} dicts")
        out = self._call("reset", lambda a, b: (seeds[a:b], per_env[a:b]), replay=False)
        infos: dict = {}
        for i, (observation, info, record) in enumerate(out):
            self._logs[i] = {"reset": record, "actions": []}
            self._last[i] = observation
            infos = self._add_info(infos, info, i)
        self._broken = None
        self._observations = concatenate(self.single_observation_space, self._last, self._observations)
        return copy.deepcopy(self._observations), infos

    def step(self, actions):
        self._check_open()
        if self._broken:
            raise gym.error.ResetNeeded(self._broken)
        items = self._split_actions(actions)
        out = self._call("step", lambda a, b: (items[a:b],), replay=True)
        rewards = np.zeros(self.num_envs, dtype=np.float64)
        terminated = np.zeros(self.num_envs, dtype=np.bool_)
        truncated = np.zeros(self.num_envs, dtype=np.bool_)
        infos: dict = {}
        for i, (observation, reward, term, trunc, info, record) in enumerate(out):
            if record is not None:        # autoreset: a new episode begins, the action was ignored
                self._logs[i] = {"reset": record, "actions": []}
            else:
                self._logs[i]["actions"].append(items[i])
            self._last[i] = observation
            rewards[i], terminated[i], truncated[i] = reward, term, trunc
            infos = self._add_info(infos, info, i)
        self._observations = concatenate(self.single_observation_space, self._last, self._observations)
        return copy.deepcopy(self._observations), rewards, terminated, truncated, infos

    def _split_actions(self, actions) -> list:
        n = self.num_envs
        if isinstance(actions, (str, bytes, dict)):
            raise ValueError(f"actions must hold one action per sub-environment ({n}), not a single "
                             f"{type(actions).__name__}")
        try:
            items = list(actions) if self._text_actions else list(iterate(self.action_space, actions))
        except Exception as exc:
            raise ValueError(f"actions do not fit {self.action_space}: {one_line(exc)}") from None
        if len(items) != n:
            raise ValueError(f"actions must hold one action per sub-environment: {n}, not {len(items)}")
        if not self._text_actions:   # text envs answer any text with an observation, even an error
            for i, action in enumerate(items):
                if not self.single_action_space.contains(action):
                    raise ValueError(f"action {i} is not in {self.single_action_space}: {action!r:.120}")
        return [copy.deepcopy(a) for a in items]   # the log must not see the caller reuse its buffers

    def _call(self, method: str, args_of: Callable[[int, int], tuple], replay: bool) -> list:
        """Call ``method`` on every worker with its block's arguments; the results in env order.

        A worker found dead is replaced; with ``replay``, the new one first replays its block's
        logs and must arrive at the observations already returned."""
        ray, workers = self._workers.ray, self._workers
        refs = [getattr(h, method).remote(*args_of(a, b)) for h, (a, b) in zip(workers.handles, self._blocks)]
        out: list = []
        for w, (a, b) in enumerate(self._blocks):
            while True:
                try:
                    part = ray.get(refs[w])
                    break
                except workers.lost as exc:
                    try:
                        handle = workers.replace(w, f"worker {w} died in {method} ({type(exc).__name__})")
                        if replay:
                            self._replay(w, handle, a, b)
                    except BaseException:
                        self._broken = "a worker died and could not be brought back: call reset()"
                        raise
                    refs[w] = getattr(workers.handles[w], method).remote(*args_of(a, b))   # the live one
            if isinstance(part, WorkerFailure):
                self._broken = f"an earlier {method} failed: call reset()"
                raise RolloutError(f"sub-environment {a + part.slot}: {part.message}")
            out.extend(part)
        return out

    def _replay(self, w: int, handle, a: int, b: int) -> None:
        ray = self._workers.ray
        while True:
            try:
                last = ray.get(handle.restore.remote(self._logs[a:b]))
                break
            except self._workers.lost as exc:
                handle = self._workers.replace(w, f"worker {w} died replaying ({type(exc).__name__})")
        if isinstance(last, WorkerFailure):
            raise RolloutError(f"sub-environment {a + last.slot} could not be replayed: {last.message}")
        for i, observation in enumerate(last):
            if not data_equivalence(observation, self._last[a + i], exact=True):
                raise RolloutError(f"sub-environment {a + i} replayed to another observation than it had "
                                   "returned: the environment is not deterministic, so its worker cannot be replaced")

    def _check_open(self) -> None:
        if self.closed or not self._workers.handles:
            raise RolloutError("this RayVectorEnv is closed")

    def close_extras(self, **kwargs) -> None:
        self._workers.close()

    def __enter__(self) -> RayVectorEnv:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            if not self.closed:
                self.close()
        except Exception:
            pass
