"""Supervised warm start: TRL's ``SFTTrainer`` on the oracle's conversations.

GRPO learns nothing from a model that never emits a well-formed call (every reward is 0 and so is
every advantage), so ``rods train`` first fits the gold conversations of the training tasks (and
any synthesized variants passed in). Only the assistant's tokens are trained on
(``assistant_only_loss``): tool results and the user's words, which arrive as tool results, are not.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SFTSettings:
    epochs: float = 3.0
    learning_rate: float = 2e-3
    batch_size: int = 1               # no padding: lengths vary 4x, and padding was most of the compute
    max_length: int = 4096            # the tiny model's context; longer conversations are cut
    seed: int = 0


def sft_dataset(tasks):
    """A conversational dataset (``messages``, ``tools``) of the gold episodes of ``tasks``.

    Both columns are ``Json`` features: with inferred (Arrow struct) types, every tool schema and
    every call's arguments would gain the keys of all the others, set to null, and the model would
    be trained on prompts it never sees at run time."""
    from datasets import Dataset, Features, Json

    from .conversation import gold_conversation

    rows = [gold_conversation(task) for task in tasks]
    return Dataset.from_list([{"messages": r["messages"], "tools": r["tools"]} for r in rows],
                             features=Features({"messages": Json(), "tools": Json()}))


def warm_start(model, tokenizer, tasks, out_dir, settings: SFTSettings = SFTSettings(), callbacks=None):
    """Fit ``model`` to the gold conversations of ``tasks``; returns the finished trainer."""
    from trl import SFTConfig, SFTTrainer

    from .hardware import precision_args

    config = SFTConfig(
        output_dir=str(out_dir), num_train_epochs=settings.epochs, learning_rate=settings.learning_rate,
        per_device_train_batch_size=settings.batch_size, max_length=settings.max_length,
        assistant_only_loss=True, lr_scheduler_type="cosine", warmup_steps=10, weight_decay=0.0,
        logging_steps=10, save_strategy="no", report_to=[], seed=settings.seed, data_seed=settings.seed,
        gradient_checkpointing=False, dataloader_num_workers=0, disable_tqdm=False, **precision_args())
    trainer = SFTTrainer(model=model, args=config, train_dataset=sft_dataset(tasks), processing_class=tokenizer,
                         callbacks=callbacks)
    trainer.train()
    return trainer
