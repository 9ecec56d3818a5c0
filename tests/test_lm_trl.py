"""The TRL path: rods tools as environment_factory methods, the tiny model, SFT, and GRPO steps
through TRL's GRPOTrainer with the RODS callback feeding the replay buffer."""

import inspect
import os

import pytest

pytest.importorskip("trl")
transformers = pytest.importorskip("transformers")

import rods_envs  # noqa: E402
from rods_agents.lm.conversation import CLOSING, gold_conversation, prompt  # noqa: E402
from rods_agents.lm.rods_trl import RewardLog, prompt_row  # noqa: E402
from rods_agents.lm.tools import lm_tool_schemas  # noqa: E402
from rods_agents.lm.trl_env import CONVERSATION_OVER, environment_class, environment_factory  # noqa: E402

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def files_tasks():
    return rods_envs.load_suite().split("train", domain="files")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory, files_tasks):
    from rods_agents.lm.tiny import build_tiny
    return build_tiny(tmp_path_factory.mktemp("tiny"), tasks=files_tasks[:30], vocab_size=3000)


def test_every_tool_is_a_method_with_the_schema_trl_renders():
    from transformers.utils import get_json_schema

    for domain in rods_envs.DOMAINS:
        cls = environment_class(domain)
        tools = rods_envs.get_domain(domain).tool_schemas
        for schema in tools:
            rendered = get_json_schema(getattr(cls, schema["function"]["name"]))["function"]
            assert rendered["name"] == schema["function"]["name"]
            assert set(rendered["parameters"]["properties"]) == set(schema["function"]["parameters"]["properties"])
            assert set(rendered["parameters"].get("required", [])) == set(schema["function"]["parameters"]["required"])
        # exactly what GRPOTrainer renders from an instance's methods, in its order
        instance = cls()
        methods = [getattr(instance, name) for name, _ in inspect.getmembers(cls, inspect.isfunction)
                   if name not in ("reset", "get_reward") and not name.startswith("_")]
        assert lm_tool_schemas(tools) == [get_json_schema(m) for m in methods]
        assert len(methods) == len(tools) + 1


def test_adapter_turns_bad_calls_into_error_text(files_tasks):
    env = environment_factory("files")()
    env.reset(task_id=files_tasks[0].id)
    assert env.cat().startswith("Error:")                            # a required argument is missing
    assert env.cat(path="/nowhere", colour="red").startswith("Error:")
    assert env.ls(path="~").startswith("{")
    with pytest.raises(ValueError, match="unknown task_id"):
        env.reset(task_id="no-such-task")


def test_reply_tool_serves_every_turn_then_says_the_conversation_is_over(files_tasks):
    task = next(t for t in files_tasks if len(t.turns) >= 2)
    env = environment_factory("files")()
    env.reset(task_id=task.id)
    assert env.reply_to_user("I am not sure.") == task.turns[1]["instruction"]
    for _ in range(len(task.turns) - 1):
        last = env.reply_to_user("Still not sure.")
    assert last == CONVERSATION_OVER
    assert env.get_reward() == 0.0
    assert env.ls().startswith("Error: the conversation is over")


def test_gold_conversations_solve_their_tasks_in_every_domain():
    suite = rods_envs.load_suite()
    for domain in rods_envs.DOMAINS:
        for task in suite.split("test", domain=domain)[:5]:
            example = gold_conversation(task)          # raises unless the adapter's reward is 1
            roles = [m["role"] for m in example["messages"]]
            assert roles[:2] == ["system", "user"] and example["messages"][-1]["content"] == CLOSING
            replies = [m for m in example["messages"] if m.get("tool_calls")
                       and m["tool_calls"][0]["function"]["name"] == "reply_to_user"]
            assert len(replies) >= len(task.turns)
            assert example["messages"][:2] == prompt(task) == prompt_row(task)["prompt"]


def test_reward_log_groups_by_task_and_keeps_incomplete_groups():
    log = RewardLog()
    for task_id, reward in [("a", 1), ("a", 0), ("b", 1), ("a", 1), ("a", 0), ("b", 0), ("a", 1)]:
        log.record(task_id, reward)
    assert log.groups(2) == [("a", [1.0, 0.0]), ("a", [1.0, 0.0]), ("b", [1.0, 0.0])]
    assert log.pending == [("a", 1.0)]


def test_tiny_model_and_tokenizer_are_built_locally(tiny_dir, files_tasks):
    from trl.chat_template_utils import add_response_schema, supports_tool_calling

    from rods_agents.lm.tiny import load_pretrained

    model, tokenizer = load_pretrained(tiny_dir)
    assert supports_tool_calling(tokenizer)
    add_response_schema(tokenizer)
    text = '<tool_call>\n{"name": "ls", "arguments": {"path": "~"}}\n</tool_call><|im_end|>'
    parsed = tokenizer.parse_response(text, prefix="")
    assert parsed["tool_calls"][0]["function"] == {"name": "ls", "arguments": {"path": "~"}}
    example = gold_conversation(files_tasks[0])
    ids = tokenizer.apply_chat_template(example["messages"], tools=example["tools"], return_dict=True)["input_ids"]
    assert len(ids) < model.config.max_position_embeddings
    assert tokenizer.decode(ids).startswith("<|im_start|>system")
    with pytest.raises(FileNotFoundError, match="no model"):
        load_pretrained(tiny_dir / "missing")


def _overfit(model, tokenizer, task, out_dir):
    """A few dozen SFT steps on one gold conversation: enough for well-formed tool calls."""
    from rods_agents.lm.sft import SFTSettings, warm_start

    warm_start(model, tokenizer, [task] * 5, out_dir, SFTSettings(epochs=8, learning_rate=3e-3, batch_size=1))


def test_two_grpo_steps_through_grpotrainer_feed_the_rods_buffer(tiny_dir, files_tasks, tmp_path):
    import torch
    from datasets import IterableDataset
    from trl import GRPOConfig

    from rods_agents.lm.hardware import precision_args
    from rods_agents.lm.rods_trl import BufferPrompts, RODSCallback, RODSGRPOTrainer
    from rods_agents.lm.tiny import load_pretrained
    from rods_agents.replay import VariantSource
    from rods_agents.replay_buffer import BufferPolicy, ReplayBuffer

    torch.manual_seed(0)
    task = min(files_tasks, key=lambda t: len(gold_conversation(t)["messages"]))
    model, tokenizer = load_pretrained(tiny_dir)
    _overfit(model, tokenizer, task, tmp_path / "sft")

    buffer = ReplayBuffer([task], synthesize=VariantSource([task]), policy=BufferPolicy(groups_per_round=1))
    log, stream = RewardLog(), BufferPrompts(buffer)
    config = GRPOConfig(output_dir=str(tmp_path / "grpo"), max_steps=2, per_device_train_batch_size=4,
                        num_generations=4, max_completion_length=160, max_tool_calling_iterations=6,
                        learning_rate=1e-4, temperature=0.5, beta=0.0, logging_steps=1, report_to=[], save_strategy="no",
                        shuffle_dataset=False, gradient_checkpointing=False, **precision_args())
    batches = []

    class Inspecting(RODSGRPOTrainer):
        def _generate_and_score_completions(self, inputs):
            output = super()._generate_and_score_completions(inputs)
            batches.append({k: output[k].clone() for k in ("completion_mask", "advantages") if k in output}
                           | ({"tool_mask": output["tool_mask"].clone()} if "tool_mask" in output else {}))
            return output

    callback = RODSCallback(buffer, log, config.num_generations)
    trainer = Inspecting(model, args=config, processing_class=tokenizer,
                         train_dataset=IterableDataset.from_generator(stream),
                         environment_factory=environment_factory("files", lookup=stream.lookup, log=log),
                         callbacks=[callback])
    trainer.train()

    assert trainer.state.global_step == 2
    rewards = [e["reward"] for e in trainer.state.log_history if "reward" in e]
    assert len(rewards) == 2 and all(0.0 <= r <= 1.0 for r in rewards)
    assert callback.groups_seen == 2 and log.pending == []           # 2 groups of 4 rollouts, all consumed
    assert task.id in buffer.detector.estimates and buffer.round == 2
    assert len(batches) == 2
    calls = [e["tools/call_frequency"] for e in trainer.state.log_history if "tools/call_frequency" in e]
    assert max(calls) > 0                                             # the warm-started model calls tools
    tool_masks = [b["tool_mask"] for b in batches if "tool_mask" in b]
    assert tool_masks and any((m == 0).any() for m in tool_masks)    # tool (and user) tokens are masked out
    assert all((m == 1).any() for m in tool_masks)                   # the model's own tokens are trained on


def test_rods_train_runs_sft_then_grpo_and_resumes(tiny_dir, tmp_path):
    import json

    from rods_agents.cli import main

    out = tmp_path / "run"
    common = ["train", "--model", str(tiny_dir), "--algo", "rods", "--domain", "files", "--out", str(out),
              "--sft-epochs", "0.04", "--sft-variants", "1", "--group-size", "2", "--max-completion-length", "48",
              "--max-tool-calls", "2", "--save-every", "1", "--eval-tasks", "1"]
    assert main(common + ["--steps", "1"]) == 0
    first = json.loads((out / "summary.json").read_text())
    assert first["grpo"]["steps"] == 1 and (out / "grpo" / "checkpoint-1" / "rods_buffer.json").is_file()
    assert json.loads((out / "final" / "rods.json").read_text())["reply_tool"] is True
    for stage in ("after_sft", "after_grpo"):
        assert first[stage]["tasks"] == 1 and 0.0 <= first[stage]["progress"] <= 1.0

    assert main(common + ["--steps", "2"]) == 2                      # an earlier run is never overwritten
    assert main(common + ["--steps", "2", "--resume"]) == 0           # SFT is reused; GRPO goes on from step 1
    second = json.loads((out / "summary.json").read_text())
    assert second["grpo"]["steps"] == 2 and (out / "grpo" / "checkpoint-2").is_dir()


def test_sft_rows_are_the_gold_conversations_unchanged():
    from rods_agents.lm.sft import sft_dataset

    tasks = rods_envs.load_suite().split("train", domain="retail")[:4]
    rows = sft_dataset(tasks)
    for task, row in zip(tasks, rows):
        gold = gold_conversation(task)
        assert row["messages"] == gold["messages"] and row["tools"] == gold["tools"]   # no keys added by Arrow
