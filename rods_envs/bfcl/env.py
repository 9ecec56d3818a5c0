"""BFCLEnv: one BFCL V3 multi-turn task per episode, as a Gymnasium environment.

### Description
The agent serves a user over the turns of a BFCL multi-turn task, calling the functions of the
task's backends (file system, trading bot, travel booking, vehicle control, ...). Within a turn
the agent may make any number of steps with calls; a message without calls ends its turn, as in
BFCL's harness, and the turn is judged with the semantics of bfcl-eval's ``multi_turn_checker``.

### Action space
``UnicodeText``: BFCL's own format, Python call syntax such as ``[cd(folder='documents'), ls()]``
(parsed with ``ast``, never evaluated; only plain calls with literal arguments), or any action
``rods_envs.actions.parse_action`` takes (a JSON call or list of calls, ``<tool_call>`` blocks, an
OpenAI-style assistant message dict with ``tool_calls``), or plain text to the user. Malformed
actions, unknown functions and schema violations become error observations.
A message containing ``###STOP###`` gives up: the current turn is judged and the episode ends.

### Observation space
``UnicodeText``: the new messages as text, cut at 65,536 characters (a few long-context results
are longer; ``info["messages"]`` always holds them whole, exactly as BFCL's executor renders them).
``info``: ``messages`` (OpenAI chat format), ``tools`` (OpenAI function format: the functions
available in this turn, so a miss_func task's held-out function appears at its turn),
``task_id``, ``category``, ``turn``, ``num_turns``, ``progress``, ``turns_passed``; and
``outcome`` once the episode is over.

### Rewards
``reward_mode="progress"``: 1 / number of turns for each turn that passes, so an episode's
rewards sum to its progress. ``reward_mode="outcome"``: 1.0 at the end if every turn passed
(BFCL's verdict), else 0.

### Starting state
``reset`` picks a task with ``self.np_random`` (``options={"task_id": ...}`` pins one,
``options={"task": BFCLTask}`` runs any) on its own fresh copy of the task's backends.

### Episode end
``terminated`` when the last turn is judged or the agent gives up; ``truncated`` when
``max_steps`` actions have been taken first.

### Arguments
``gym.make("rods/BFCL-MultiTurn-v0", category="all", split="train", reward_mode="progress",
max_steps=None, tasks=None, user=None, render_mode=None)``: ``category`` is "base",
"miss_func", "miss_param", "long_context", a list of them, or "all"; ``split`` is "train" (even
scenario numbers), "test" (odd) or "all"; ``max_steps=None`` allows 21 actions per user turn
(BFCL's 20 steps with calls plus the closing message), pooled over the episode.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from typing import Any

import gymnasium as gym

from ..actions import MAX_ACTION_CHARS, Action, Call
from ..env import MAX_OBSERVATION_CHARS, ToolUseEnv, render_messages
from ..spaces import UnicodeText
from .backends import all_functions, fresh_instances
from .calls import CallSyntaxError, PyCall, bind, parse_python_calls
from .checker import execute, task_functions, turn_passes
from .data import BFCLTask, load_tasks
from .install import require_bfcl
from .schemas import openai_tool

STEPS_PER_TURN = 21


class BFCLUser:
    """BFCL's user: serves the task's turns in order. Any message from the agent ends its turn,
    as a response without calls does in BFCL's harness; a miss_param turn's missing detail comes
    in the next user turn."""

    def reset(self, task: BFCLTask, rng=None) -> None:
        self.task = task

    def instruction(self, turn: int) -> str:
        return self.task.turns[turn]

    def respond(self, turn: int, message: str) -> str | None:
        return None


@lru_cache(maxsize=None)
def _tools(classes: tuple[str, ...], hidden: frozenset[str]) -> list[dict]:
    return [openai_tool(name, f.doc.get("description", ""), f.schema)
            for name, f in task_functions(classes).items() if name not in hidden]


class BFCLEnv(ToolUseEnv):
    """See the module docstring. Subclasses ToolUseEnv for its turn flow (talking to the user,
    giving up, termination, rewards) and replaces the world: BFCL backends and BFCL's check."""

    def __init__(self, category: Any = "all", split: str = "train", reward_mode: str = "progress",
                 max_steps: int | None = None, tasks: list[BFCLTask] | None = None, user=None,
                 render_mode: str | None = None):
        require_bfcl()
        if reward_mode not in ("progress", "outcome"):
            raise ValueError(f"reward_mode must be 'progress' or 'outcome', not {reward_mode!r}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None")
        if max_steps is not None and (not isinstance(max_steps, int) or max_steps < 1):
            raise ValueError(f"max_steps must be a positive int or None, not {max_steps!r}")
        self.tasks = list(tasks) if tasks is not None else load_tasks(category, split)
        if not self.tasks:
            raise ValueError("no BFCL tasks to serve")
        strangers = [t for t in self.tasks if not isinstance(t, BFCLTask)]
        if strangers:
            raise ValueError(f"tasks must be BFCLTask objects, got {type(strangers[0]).__name__}")
        self._by_id = {t.id: t for t in self.tasks}
        self.reward_mode, self.render_mode = reward_mode, render_mode
        self._max_steps = max_steps
        self.max_steps = max_steps or STEPS_PER_TURN
        self.user = user if user is not None else BFCLUser()
        self.action_space = UnicodeText(MAX_ACTION_CHARS)
        self.observation_space = UnicodeText(MAX_OBSERVATION_CHARS)
        self.task: BFCLTask | None = None
        self._tools_key: tuple | None = None

    # -- Gymnasium API ---------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        gym.Env.reset(self, seed=seed)
        self.task = self._choose(options or {})
        self.backends = fresh_instances(self.task)
        self.user.reset(self.task, self.np_random)
        self.turn, self.steps, self._call_count = 0, 0, 0
        self.max_steps = self._max_steps or STEPS_PER_TURN * len(self.task.turns)
        self.passed: list[bool] = []
        self.trajectory = [{"calls": [], "said": ""}]
        self.turn_steps: list[list[list[tuple]]] = [[]]   # BFCL's shape: turns of steps of calls
        self._results: Counter = Counter()                # every result so far (response check)
        self.done = False
        opening = [self._user_says(self.user.instruction(0))]
        self.messages: list[dict] = list(opening)
        return render_messages(opening), self._info(opening)

    # -- internals -------------------------------------------------------------------------------
    def _choose(self, options: dict) -> BFCLTask:
        if "task" in options:
            if not isinstance(options["task"], BFCLTask):
                raise ValueError("options['task'] must be a BFCLTask")
            return options["task"]
        return super()._choose(options)

    def _parse(self, action: Any) -> Action:
        """BFCL's Python call syntax first; anything else as the core environment parses it."""
        text = action if isinstance(action, str) else None
        if isinstance(action, dict) and not action.get("tool_calls") and isinstance(action.get("content"), str):
            text = action["content"]
        if text is not None and len(text) <= MAX_ACTION_CHARS:
            try:
                calls = parse_python_calls(text)
            except CallSyntaxError as exc:
                return Action(error=str(exc))
            if calls is not None:
                return Action(calls=[self._bound(call) for call in calls])
        return super()._parse(action)

    def _run_calls(self, calls: list[Call]) -> list[dict]:
        """As the core env, and each step's calls recorded in BFCL's shape (turns of steps)."""
        while len(self.turn_steps) <= self.turn:
            self.turn_steps.append([])
        self._step: list[tuple] = []
        new = super()._run_calls(calls)
        self.turn_steps[self.turn].append(self._step)
        return new

    def _bound(self, call: PyCall) -> Call:
        call_id = self._next_call_id()
        if not call.args:
            return Call(call_id, call.name[:128], call.kwargs)
        function = all_functions().get(call.name)
        try:
            kwargs = bind(call, function.parameters) if function is not None else call.kwargs
        except CallSyntaxError as exc:
            return Call(call_id, call.name[:128], None, str(exc))
        return Call(call_id, call.name[:128], kwargs)

    def _run(self, call: Call) -> dict:
        if call.error is not None:
            content = f"Error: {call.error}"
            self._step.append((call.name, None))
        else:
            content = execute(self.task, self.turn, self.backends, call.name, call.arguments)
            self._step.append((call.name, call.arguments))
        self._results[content] += 1
        self.trajectory[-1]["calls"].append((call.name, call.arguments))
        return {"role": "tool", "tool_call_id": call.id, "name": call.name, "content": content}

    def _judge_turn(self) -> float:
        steps = self.turn_steps[self.turn] if self.turn < len(self.turn_steps) else []
        passed = turn_passes(self.task.expected.turns[self.turn], bool(steps), self.backends, self._results)
        self.passed.append(passed)
        if self.reward_mode == "progress" and passed:
            return 1.0 / len(self.task.turns)
        return 0.0

    @property
    def recorded(self) -> list[list[list[tuple]]]:
        """The episode so far in BFCL's shape, for ``checker.score_trajectory``."""
        reached = min(self.turn + 1, len(self.task.turns))
        return [self.turn_steps[t] if t < len(self.turn_steps) else [] for t in range(reached)]

    @property
    def tools(self) -> list[dict]:
        """The functions shown in the current turn, in OpenAI's format."""
        turn = min(self.turn, len(self.task.turns) - 1)
        if self._tools_key != (self.task, turn):     # looked up once per turn, not per step
            self._tools_key = (self.task, turn)
            self._tools_now = _tools(self.task.classes, self.task.hidden_before(turn))
        return self._tools_now

    def _info(self, new: list[dict]) -> dict:
        info = {"messages": new, "tools": self.tools, "task_id": self.task.id, "domain": "bfcl",
                "category": self.task.category, "turn": self.turn, "num_turns": len(self.task.turns),
                "progress": self.progress, "turns_passed": list(self.passed)}
        if self.done:
            info["outcome"] = int(len(self.passed) == len(self.task.turns) and all(self.passed))
        return info
