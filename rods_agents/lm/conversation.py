"""What a language model reads and, for warm starts, what it should write.

``prompt(task)`` is the opening of an episode (system prompt and the first request), the
``prompt`` column of a TRL dataset row. ``gold_conversation(task)`` replays the oracle through
the TRL adapter (``trl_env``), so its tool results, user answers and closing notices are exactly
the ones GRPO rollouts will see; it is a conversational SFT example (``messages`` and ``tools``).
"""

from __future__ import annotations

from rods_envs.actions import parse_action
from rods_envs.oracle import OraclePolicy

CLOSING = "Goodbye."     # the last assistant message: plain text ends TRL's tool loop


def system_prompt(domain: str, reply_tool: bool = True) -> str:
    finish = ("When a request is done, call reply_to_user with the answer, giving every value the user "
              "asked for; call it also to ask for a missing detail." if reply_tool else
              "When a request is done, answer the user in plain text, giving every value they asked for.")
    return f"You are an assistant for the {domain} domain. Use the tools to do what the user asks. {finish}"


def prompt(task, reply_tool: bool = True) -> list[dict]:
    return [{"role": "system", "content": system_prompt(task.domain, reply_tool)},
            {"role": "user", "content": task.turns[0]["instruction"]}]


def tool_call_message(name: str, arguments: dict) -> dict:
    return {"role": "assistant", "content": "",
            "tool_calls": [{"type": "function", "function": {"name": name, "arguments": arguments}}]}


def user_words(messages: list[dict]) -> str:
    """What the user (or the environment's notices) said in ``messages``: the result of a
    ``reply_to_user`` call."""
    return "\n".join(m["content"] for m in messages if m.get("role") in ("user", "system"))


def gold_conversation(task) -> dict:
    """The oracle's episode of ``task`` as chat messages, with the tool schemas the model sees."""
    from .tools import lm_tool_schemas
    from .trl_env import environment_class

    env = environment_class(task.domain)(split="all", lookup={task.id: task}.get)
    env.reset(task_id=task.id)
    messages = prompt(task)
    oracle = OraclePolicy([task])
    while not env.over:
        action = parse_action(oracle.act("", env.info), lambda: "call")
        if action.calls:
            call = action.calls[0]
            name, arguments, result = call.name, call.arguments, getattr(env, call.name)(**call.arguments)
        else:
            name, arguments = "reply_to_user", {"message": action.text}
            result = env.reply_to_user(action.text)
        messages += [tool_call_message(name, arguments), {"role": "tool", "name": name, "content": result}]
    messages.append({"role": "assistant", "content": CLOSING})
    if env.get_reward() != 1.0:
        raise ValueError(f"the oracle does not solve {task.id} through the TRL adapter")
    return {"messages": messages, "tools": lm_tool_schemas(env.env.domain.tool_schemas),
            "task_id": task.id, "domain": task.domain}
