"""ToolUseEnv: one multi-turn tool-use task per episode, as a Gymnasium environment.

### Description
The agent serves a simulated user in one of the native domains (retail, travel, files, cloud
ops). Each episode is one task: a world, 2 to 5 user turns, and a gold plan. Within a turn the
agent calls tools, may ask the user a clarifying question, and ends its turn by replying to the
user; then the turn is judged and the next one is served.

### Action space
``UnicodeText``: the model's raw text (a JSON call, a JSON list of calls, ``<tool_call>`` blocks,
or plain text to the user). An OpenAI-style assistant message dict with ``tool_calls`` is accepted
too. Malformed actions, unknown tools and schema violations become error observations.
A message containing ``###STOP###`` gives up: the current turn is judged and the episode ends.

### Observation space
``UnicodeText``: the new messages rendered as text. ``info`` carries the same messages in OpenAI
chat format (``messages``), the tools in OpenAI function format (``tools``), ``task_id``,
``turn``, ``num_turns``, ``progress`` and ``turns_passed``.

### Rewards
``reward_mode="progress"``: when a turn is judged, the agent earns its share of the progress
(1 / number of turns if it passed), so an episode's rewards sum to its final progress.
``reward_mode="outcome"``: 1.0 at the end if every turn passed, else 0.

### Starting state
``reset`` picks a task from the source with ``self.np_random`` (``options={"task_id": ...}``
pins one, ``options={"task": Task}`` runs any task of this domain) on a fresh copy of its world.

### Episode end
``terminated`` when the last turn is judged or the agent gives up; ``truncated`` when
``max_steps`` actions have been taken first.

### Arguments
``gym.make("rods/Retail-v0", suite="rods-v1", split="train", reward_mode="progress",
max_steps=64, user=None, tasks=None, render_mode=None)``: ``split`` is "train", "test" or "all";
``tasks`` replaces the suite with a list of Task objects; ``user`` is a UserSimulator.
``rods/Mixed-v0`` (``domain=None``) serves the tasks of every domain: each episode's tools are
its task's domain's, and ``info["domain"]`` says which.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from gymnasium.error import ResetNeeded

from .actions import MAX_ACTION_CHARS, Call, dumps_text, parse_action
from .checker import turn_passed
from .domains import get_domain
from .spaces import UnicodeText
from .task import Task
from .tool import ToolError
from .user import ScriptedUser

MAX_OBSERVATION_CHARS = 65_536
_to_json = dumps_text     # json.dumps(value, ensure_ascii=False), without json's Python layers
GIVE_UP = "###STOP###"


def _line(m: dict) -> str:
    return f"[tool {m['name']}] {m['content']}" if m["role"] == "tool" else f"[{m['role']}] {m['content']}"


def render_messages(messages: list[dict]) -> str:
    if len(messages) == 1:      # most steps add one message: no list, no join
        m = messages[0]
        text = f"[tool {m['name']}] {m['content']}" if m["role"] == "tool" else f"[{m['role']}] {m['content']}"
    else:
        text = "\n".join([_line(m) for m in messages])
    if len(text) > MAX_OBSERVATION_CHARS:
        text = text[: MAX_OBSERVATION_CHARS - 20] + " …[truncated]"
    return text


class ToolUseEnv(gym.Env):
    metadata = {"render_modes": ["ansi"], "render_fps": 1, "autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP}

    def __init__(self, domain: str | None, suite: str = "rods-v1", split: str = "train",
                 reward_mode: str = "progress", max_steps: int = 64, user=None,
                 tasks: list[Task] | None = None, render_mode: str | None = None):
        if reward_mode not in ("progress", "outcome"):
            raise ValueError(f"reward_mode must be 'progress' or 'outcome', not {reward_mode!r}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None")
        if tasks is None:
            from .suite import load_suite
            tasks = load_suite(suite).split(split, domain=domain)
        self.tasks = list(tasks)
        if not self.tasks:
            raise ValueError(f"no {domain or ''} tasks in suite {suite!r}, split {split!r}".replace("  ", " "))
        self.mixed = domain is None
        if not self.mixed:
            strangers = {t.domain for t in self.tasks} - {domain}
            if strangers:
                raise ValueError(f"a {domain} environment cannot run tasks of {sorted(strangers)}")
        # Every domain this environment may serve (a mixed one: all of them).
        from .domains import DOMAINS
        self.domains = {name: get_domain(name) for name in (sorted(DOMAINS) if self.mixed else [domain])}
        self.domain = get_domain(domain or self.tasks[0].domain)
        self._by_id = {t.id: t for t in self.tasks}
        self.reward_mode, self.max_steps, self.render_mode = reward_mode, max_steps, render_mode
        self.user = user if user is not None else ScriptedUser()
        self.action_space = UnicodeText(MAX_ACTION_CHARS)
        self.observation_space = UnicodeText(MAX_OBSERVATION_CHARS)
        self.task: Task | None = None

    # -- Gymnasium API ---------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.task = self._choose(options or {})
        self.domain = self.domains[self.task.domain]
        self.state = self.task.fresh_state()
        self.user.reset(self.task, self.np_random)
        self.turn, self.steps, self._call_count = 0, 0, 0
        self.passed: list[bool] = []
        self.trajectory = [{"calls": [], "said": ""}]
        self.done = False
        opening = [self._user_says(self.user.instruction(0))]
        self.messages: list[dict] = list(opening)
        return render_messages(opening), self._info(opening)

    def step(self, action: Any):
        if self.task is None or self.done:
            raise ResetNeeded("call reset() before step(): the episode has not started or has ended")
        self.steps += 1
        parsed = self._parse(action)
        new: list[dict] = []
        reward = 0.0
        if parsed.error is not None:
            self.messages.append({"role": "assistant", "content": action if isinstance(action, str) else ""})
            new.append(self._note(f"Error: {parsed.error}"))
        elif parsed.calls:
            self.messages.append(self._assistant_calls(parsed.calls))
            new.extend(self._run_calls(parsed.calls))
        else:
            reward = self._talk(parsed.text, new)
        terminated = self.done
        truncated = not terminated and self.steps >= self.max_steps
        if truncated:
            self.done = True
        self.messages.extend(new)
        return render_messages(new), reward, terminated, truncated, self._info(new)

    def render(self):
        if self.render_mode == "ansi":
            return render_messages([m for m in self.messages if m.get("content")])
        return None

    # -- internals -------------------------------------------------------------------------------
    def _choose(self, options: dict) -> Task:
        if "task" in options:
            task = options["task"]
            if not isinstance(task, Task) or task.domain not in self.domains:
                raise ValueError(f"options['task'] must be a Task of {' or '.join(self.domains)}")
            return task
        if "task_id" in options:
            try:
                return self._by_id[options["task_id"]]
            except (KeyError, TypeError):
                raise ValueError(f"unknown task_id {options['task_id']!r} for this environment") from None
        return self.tasks[int(self.np_random.integers(len(self.tasks)))]

    def _parse(self, action: Any):
        """The action as calls, text or an error (a subclass may accept another call syntax)."""
        return parse_action(action, self._next_call_id)

    def _run_calls(self, calls: list[Call]) -> list[dict]:
        results = []
        for call in calls:      # a loop, not a comprehension: no extra frame per step (Python 3.11)
            results.append(self._run(call))
        return results

    def _next_call_id(self) -> str:
        self._call_count += 1
        return f"call_{self._call_count}"

    def _user_says(self, text: str) -> dict:
        return {"role": "user", "content": text}

    def _note(self, text: str) -> dict:
        return {"role": "system", "content": text}

    def _assistant_calls(self, calls: list[Call]) -> dict:
        return {"role": "assistant", "content": "", "tool_calls": [
            {"id": c.id, "type": "function",
             "function": {"name": c.name, "arguments": _to_json(c.arguments)}}
            for c in calls]}

    def _run(self, call: Call) -> dict:
        content = None
        if call.error is not None:
            content = f"Error: {call.error}"
        else:
            tool = self.domain.tools.get(call.name)
            if tool is None:
                content = f"Error: unknown tool {call.name!r}; available: {', '.join(self.domain.tools)}"
            else:
                self.trajectory[-1]["calls"].append((call.name, call.arguments))
                try:
                    content = _to_json(tool(self.state, call.arguments))
                except ToolError as exc:
                    content = f"Error: {exc}"
                except Exception as exc:  # a tool bug must not end the learner's run
                    content = f"Error: {call.name} failed internally ({type(exc).__name__})"
        return {"role": "tool", "tool_call_id": call.id, "name": call.name, "content": content}

    def _talk(self, text: str, new: list[dict]) -> float:
        """The agent spoke to the user: a clarifying question, the end of its turn, or giving up."""
        self.messages.append({"role": "assistant", "content": text})
        self.trajectory[-1]["said"] += text + "\n"
        if GIVE_UP in text:
            reward = self._judge_turn()
            self.passed += [False] * (len(self.task.turns) - len(self.passed))
            self.done = True
            return reward + self._outcome_reward()
        reply = self.user.respond(self.turn, text)
        if reply is not None:
            new.append(self._user_says(reply))
            return 0.0
        reward = self._judge_turn()
        self.turn += 1
        if self.turn == len(self.task.turns):
            self.done = True
            return reward + self._outcome_reward()
        self.trajectory.append({"calls": [], "said": ""})
        new.append(self._user_says(self.user.instruction(self.turn)))
        return reward

    def _judge_turn(self) -> float:
        passed = turn_passed(self.task, self.turn, self.state, self.trajectory[-1]["said"])
        self.passed.append(passed)
        if self.reward_mode == "progress" and passed:
            return 1.0 / len(self.task.turns)
        return 0.0

    def _outcome_reward(self) -> float:
        if self.reward_mode == "outcome":
            return float(all(self.passed))
        return 0.0

    @property
    def progress(self) -> float:
        return sum(self.passed) / len(self.task.turns)

    def _info(self, new: list[dict]) -> dict:
        info = {"messages": new, "tools": self.domain.tool_schemas, "task_id": self.task.id,
                "domain": self.domain.name, "turn": self.turn, "num_turns": len(self.task.turns),
                "progress": self.progress, "turns_passed": list(self.passed)}
        if self.done:
            info["outcome"] = int(len(self.passed) == len(self.task.turns) and all(self.passed))
        return info
