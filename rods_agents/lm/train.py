"""``rods train``: a supervised warm start, then GRPO (plain, or with the RODS loop) in TRL.

    rods train --model tiny --algo rods --domain files --steps 20 --out runs/train

1. The model: ``tiny`` builds the local Qwen2-style model and tokenizer (``tiny.build_tiny``) in
   ``OUT/base``; any other value is a local model directory.
2. ``SFTTrainer`` on the gold conversations of the domain's training tasks (with
   ``--sft-variants N``, also of N synthesized variants of each) -> ``OUT/sft``.
3. ``GRPOTrainer`` with the domain's ``environment_factory`` adapter -> ``OUT/final``. ``--algo
   grpo`` trains on the fixed training tasks; ``--algo rods`` serves prompts from the co-evolving
   replay buffer, with the RODS callback and synthesized variants of boundary tasks. Checkpoints
   every ``--save-every`` steps under ``OUT/grpo`` (with the buffer's state); ``--resume`` goes on
   from the last one, and skips the stages already finished.
4. Held-out success (the test split of the domain) after SFT and after GRPO, with ``HFPolicy``,
   written to ``OUT/summary.json``.

The device is chosen by itself: a GPU when there is one (bf16 where it has it), else the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from .policies import SETTINGS_FILE

BUFFER_FILE = "rods_buffer.json"
EVAL_MAX_STEPS, EVAL_NEW_TOKENS = 32, 160   # the oracle needs at most ~20 steps and ~60 tokens a call


@dataclass
class TrainArgs:
    model: str = "tiny"                # "tiny" or a local model directory
    algo: str = "rods"                 # "rods" or "grpo"
    domain: str = "files"
    steps: int = 20                    # GRPO optimizer steps
    out: str = "runs/train"
    seed: int = 0
    sft_epochs: float = 3.0
    sft_learning_rate: float = 2e-3
    sft_variants: int = 0              # synthesized resample_like variants per training task, added to SFT
    group_size: int = 4                # GRPO generations per prompt
    prompts_per_step: int = 1
    learning_rate: float = 1e-4
    temperature: float = 1.0
    max_completion_length: int = 768   # tokens over the whole multi-turn completion, tool results included
    max_tool_calls: int = 24
    reward_mode: str = "progress"
    drop_zero_variance: bool = True
    save_every: int = 10
    eval_tasks: int = 20               # held-out tasks scored after SFT and after GRPO (0: all)
    torch_threads: int = 1             # on CPU (0: torch's default)
    resume: bool = False


def _done(path: Path) -> bool:
    return (path / SETTINGS_FILE).is_file()


def _save(model, tokenizer, path: Path, **extra) -> None:
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    (path / SETTINGS_FILE).write_text(json.dumps({"reply_tool": True, **extra}, indent=2))


def held_out_success(model, tokenizer, domain: str, count: int, seed: int) -> dict:
    """Outcome and progress of ``HFPolicy`` (greedy, reply tool) on the domain's test tasks."""
    import rods_envs
    from rods_envs.env import ToolUseEnv
    from rods_envs.episode import run_episode

    from .policies import HFPolicy

    tasks = rods_envs.load_suite().split("test", domain=domain)
    tasks = tasks[:count] if count else tasks
    env = ToolUseEnv(domain, split="test", max_steps=EVAL_MAX_STEPS)
    policy = HFPolicy(model, tokenizer, reply_tool=True, max_new_tokens=EVAL_NEW_TOKENS)
    results = [run_episode(env, policy, seed=seed, options={"task_id": t.id}) for t in tasks]
    return {"tasks": len(results), "outcome": sum(r.outcome for r in results) / len(results),
            "progress": sum(r.progress for r in results) / len(results)}


def sft_variants(tasks: list, per_task: int, seed: int) -> list:
    """Verified ``resample_like`` variants of ``tasks`` (their gold conversations are SFT data too)."""
    if per_task <= 0:
        return []
    import numpy as np

    from ..replay import VariantSource

    source, rng = VariantSource(tasks, seed), np.random.default_rng([seed, 0x5F7])
    return [variant for task in tasks for variant in source(task, per_task, rng)]


def _base_model(args: TrainArgs, out: Path) -> Path:
    if args.model != "tiny":
        return Path(args.model)
    base = out / "base"
    if not (base / "config.json").is_file():
        from .tiny import build_tiny
        print(f"building the tiny model and tokenizer in {base}")
        build_tiny(base, seed=args.seed)
    return base


def _grpo_config(args: TrainArgs, out: Path):
    from trl import GRPOConfig

    from .hardware import precision_args

    return GRPOConfig(
        output_dir=str(out / "grpo"), max_steps=args.steps, seed=args.seed, data_seed=args.seed,
        per_device_train_batch_size=args.group_size * args.prompts_per_step, num_generations=args.group_size,
        learning_rate=args.learning_rate, lr_scheduler_type="constant", temperature=args.temperature,
        max_completion_length=args.max_completion_length, max_tool_calling_iterations=args.max_tool_calls,
        beta=0.0, gradient_checkpointing=False, logging_steps=1, report_to=[],
        save_strategy="steps", save_steps=args.save_every, ignore_data_skip=True,
        shuffle_dataset=args.algo == "grpo", dataloader_num_workers=0, **precision_args())


def _checkpoint_callback(buffer):
    from transformers import TrainerCallback

    class SaveBuffer(TrainerCallback):
        """Writes the replay buffer next to each checkpoint, so ``--resume`` restores it too."""

        def on_save(self, args, state, control, **kwargs):
            buffer.save(Path(args.output_dir) / f"checkpoint-{state.global_step}" / BUFFER_FILE)
            return control

    return SaveBuffer()


def run_grpo(args: TrainArgs, model, tokenizer, out: Path) -> dict:
    """GRPO in TRL from the warm-started model; returns the RODS callback's figures (if any)."""
    import rods_envs
    from datasets import Dataset, IterableDataset
    from transformers.trainer_utils import get_last_checkpoint

    from ..replay import VariantSource
    from ..replay_buffer import ReplayBuffer
    from .rods_trl import BufferPrompts, RewardLog, RODSCallback, RODSGRPOTrainer, prompt_row
    from .trl_env import environment_factory

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    config = _grpo_config(args, out)
    seeds = rods_envs.load_suite().split("train", domain=args.domain)
    checkpoint = get_last_checkpoint(config.output_dir) if args.resume and Path(config.output_dir).is_dir() else None
    log, callbacks, buffer = RewardLog(), [], None
    if args.algo == "rods":
        buffer = ReplayBuffer(seeds, synthesize=VariantSource(seeds, args.seed), seed=args.seed)
        if checkpoint and (Path(checkpoint) / BUFFER_FILE).is_file():
            buffer.load(Path(checkpoint) / BUFFER_FILE)
        stream = BufferPrompts(buffer, seed=args.seed + (int(Path(checkpoint).name.split("-")[-1]) if checkpoint else 0))
        dataset = IterableDataset.from_generator(stream)
        rods = RODSCallback(buffer, log, args.group_size)
        callbacks = [rods, _checkpoint_callback(buffer)]
        factory = environment_factory(args.domain, reward_mode=args.reward_mode, lookup=stream.lookup, log=log)
    elif args.algo == "grpo":
        dataset = Dataset.from_list([prompt_row(t) for t in seeds])
        factory = environment_factory(args.domain, reward_mode=args.reward_mode, log=log)
    else:
        raise ValueError(f"--algo must be 'rods' or 'grpo', not {args.algo!r}")
    trainer = RODSGRPOTrainer(model, args=config, processing_class=tokenizer, train_dataset=dataset,
                              environment_factory=factory, callbacks=callbacks,
                              drop_zero_variance=args.drop_zero_variance)
    trainer.train(resume_from_checkpoint=checkpoint)
    rewards = [e["reward"] for e in trainer.state.log_history if "reward" in e]
    figures = {"steps": trainer.state.global_step, "mean_reward_first": rewards[0] if rewards else None,
               "mean_reward_last": rewards[-1] if rewards else None}
    if buffer is not None:
        figures.update(buffer_size=len(buffer), rounds=buffer.round,
                       variants=buffer.variant_count)
    return figures


def train(args: TrainArgs) -> dict:
    import torch

    from .hardware import cpu_threads
    from .sft import SFTSettings, warm_start
    from .tiny import load_pretrained

    cpu_threads(args.torch_threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not args.resume and (_done(out / "sft") or (out / "grpo").is_dir()):
        raise ValueError(f"{out} holds an earlier run: pass --resume to go on with it, or choose another --out")
    torch.manual_seed(args.seed)
    summary: dict = {"args": asdict(args), "device": "cuda" if torch.cuda.is_available() else "cpu"}
    started = time.perf_counter()

    sft_dir = out / "sft"
    if _done(sft_dir):
        model, tokenizer = load_pretrained(sft_dir)
    else:
        import rods_envs
        model, tokenizer = load_pretrained(_base_model(args, out))
        tasks = rods_envs.load_suite().split("train", domain=args.domain)
        tasks = tasks + sft_variants(tasks, args.sft_variants, args.seed)
        warm_start(model, tokenizer, tasks, out / "sft-work",
                   SFTSettings(epochs=args.sft_epochs, learning_rate=args.sft_learning_rate, seed=args.seed))
        _save(model, tokenizer, sft_dir, stage="sft")
    summary["sft_seconds"] = round(time.perf_counter() - started, 1)
    summary["after_sft"] = held_out_success(model, tokenizer, args.domain, args.eval_tasks, args.seed)
    print(f"held-out after SFT: {summary['after_sft']}")

    started = time.perf_counter()
    summary["grpo"] = run_grpo(args, model, tokenizer, out)
    summary["grpo_seconds"] = round(time.perf_counter() - started, 1)
    summary["grpo_steps_per_second"] = round(summary["grpo"]["steps"] / max(summary["grpo_seconds"], 1e-9), 4)
    _save(model, tokenizer, out / "final", stage=args.algo)
    summary["after_grpo"] = held_out_success(model, tokenizer, args.domain, args.eval_tasks, args.seed)
    print(f"held-out after GRPO ({args.algo}): {summary['after_grpo']}")
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("train", help="SFT warm start then GRPO (or RODS) with TRL on a language model")
    for f in fields(TrainArgs):
        flag = "--" + f.name.replace("_", "-")
        if isinstance(f.default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default)
        else:
            parser.add_argument(flag, type=type(f.default), default=f.default)
    parser.set_defaults(run=cmd_train)


def cmd_train(ns) -> int:
    args = TrainArgs(**{f.name: getattr(ns, f.name) for f in fields(TrainArgs)})
    summary = train(args)
    print(json.dumps({k: summary[k] for k in ("after_sft", "after_grpo", "grpo")}, indent=2))
    print(f"summary: {Path(args.out) / 'summary.json'}")
    return 0
