"""Where training runs: TRL configs default to bf16, which a CPU trainer refuses, and torch's
default of one thread per core thrashes on a small shared CPU."""

from __future__ import annotations


def precision_args() -> dict:
    """``TrainingArguments`` keywords for this machine: bf16 on a GPU that has it, fp32 on CPU."""
    import torch

    if torch.cuda.is_available():
        return {"bf16": torch.cuda.is_bf16_supported(), "use_cpu": False}
    return {"bf16": False, "fp16": False, "use_cpu": True}


def cpu_threads(threads: int) -> None:
    """Torch's intra-op threads when training on CPU. On a 2-core machine shared with other jobs,
    one forward-backward pass of the tiny model took 1.1 s on one thread and 7.4 s on two."""
    import torch

    if not torch.cuda.is_available() and threads > 0:
        torch.set_num_threads(threads)
