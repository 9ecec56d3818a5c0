"""The RODS loop inside TRL's ``GRPOTrainer``.

Three parts, all reusing the buffer and detector of ``rods_agents.replay_buffer``:

- ``RewardLog``: the TRL adapters (``trl_env``) record every rollout's reward in it, with its task;
- ``BufferPrompts``: an endless stream of dataset rows drawn from the replay buffer
  (``datasets.IterableDataset.from_generator(stream)``), so each generation batch's prompts come
  from the buffer as it stands; TRL repeats each row ``num_generations`` times, one GRPO group;
- ``RODSCallback``: after each optimizer step it reads the finished groups from the log and hands
  them to the buffer (boundary detection; every ``groups_per_round`` groups, retirement and
  synthesis of variants of boundary tasks).

``RODSGRPOTrainer`` adds the option to drop groups whose rewards do not vary (their advantages are
all zero, so they only dilute the loss's token normalisation), as DAPO and EigenData do.

    buffer = ReplayBuffer(seeds, synthesize=VariantSource(seeds))
    log, stream = RewardLog(), BufferPrompts(buffer)
    trainer = RODSGRPOTrainer(model, args=config, processing_class=tokenizer,
                              train_dataset=IterableDataset.from_generator(stream),
                              environment_factory=environment_factory("files", lookup=stream.lookup, log=log),
                              callbacks=[RODSCallback(buffer, log, config.num_generations)])
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict

import numpy as np
from transformers import TrainerCallback
from trl import GRPOTrainer

from .conversation import prompt


def prompt_row(task) -> dict:
    """A dataset row for ``task``: its opening messages, its id, and its domain (the
    ``environment`` a multi-domain ``environment_factory`` dict selects by)."""
    return {"prompt": prompt(task), "task_id": task.id, "environment": task.domain}


class RewardLog:
    """Rewards in the order TRL scored the rollouts, waiting to be grouped."""

    def __init__(self):
        self.pending: list[tuple[str, float]] = []

    def record(self, task_id: str, reward: float) -> None:
        self.pending.append((task_id, float(reward)))

    def groups(self, group_size: int) -> list[tuple[str, list[float]]]:
        """Take every complete group out of the log: ``group_size`` rewards of one task."""
        by_task: dict[str, list[float]] = defaultdict(list)
        for task_id, reward in self.pending:
            by_task[task_id].append(reward)
        done, rest = [], []
        for task_id, rewards in by_task.items():
            whole = len(rewards) - len(rewards) % group_size
            done += [(task_id, rewards[i:i + group_size]) for i in range(0, whole, group_size)]
            rest += [(task_id, r) for r in rewards[whole:]]
        self.pending = rest
        return done


class BufferPrompts:
    """Rows drawn from ``buffer`` with its class weights, one per GRPO group.

    ``lookup(task_id)`` returns any task this stream has served recently, even one the buffer has
    retired since (a batch may be fetched one step ahead of the callback that retires it)."""

    def __init__(self, buffer, seed: int = 0, remember: int = 4096):
        self.buffer, self.remember = buffer, remember
        self.rng = np.random.default_rng([seed, 0x7A1])
        self.served: OrderedDict = OrderedDict()

    def __call__(self):
        while True:
            task = self.buffer.sample(self.rng)
            self.served[task.id] = task
            self.served.move_to_end(task.id)
            while len(self.served) > self.remember:
                self.served.popitem(last=False)
            yield prompt_row(task)

    def lookup(self, task_id: str):
        task = self.served.get(task_id)
        if task is None and task_id in self.buffer.entries:
            task = self.buffer.entries[task_id].task
        return task


class RODSCallback(TrainerCallback):
    """Feeds finished GRPO groups to the replay buffer after each step and logs its state."""

    def __init__(self, buffer, log: RewardLog, group_size: int):
        self.buffer, self.log, self.group_size = buffer, log, group_size
        self.groups_seen = 0

    def on_step_end(self, args, state, control, **kwargs):
        for task_id, rewards in self.log.groups(self.group_size):
            self.buffer.record_group(task_id, rewards)   # a finished round lands in buffer.history
            self.groups_seen += 1
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs is not None:
            logs["rods/buffer_size"] = len(self.buffer)
            logs["rods/groups"] = self.groups_seen
            logs["rods/rounds"] = self.buffer.round
            logs["rods/variants"] = self.buffer.variant_count
        return control


class RODSGRPOTrainer(GRPOTrainer):
    """``GRPOTrainer`` that can drop groups whose rewards are all equal (``drop_zero_variance``)."""

    def __init__(self, *args, drop_zero_variance: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.drop_zero_variance = drop_zero_variance

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        if not self.drop_zero_variance:
            return output
        advantages = output["advantages"]
        groups = advantages.view(-1, self.num_generations)
        flat = (groups == 0).all(dim=1).repeat_interleave(self.num_generations)
        if flat.any():
            output["completion_mask"] = output["completion_mask"] * (~flat).unsqueeze(1).to(output["completion_mask"].dtype)
            mask = output["completion_mask"]
            if "tool_mask" in output:
                mask = mask * output["tool_mask"]
            output["num_items_in_batch"] = self.accelerator.gather(mask.sum()).sum()
        self._metrics["train"]["rods/dropped_groups"].append(flat.float().mean().item())
        return output
