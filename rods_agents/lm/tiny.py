"""A tiny Qwen2-style causal LM and its tokenizer, built on this machine from nothing.

    path = build_tiny("runs/tiny")            # tokenizer + randomly initialised model, saved
    model, tokenizer = load_pretrained(path)

The tokenizer is a byte-level BPE trained with the ``tokenizers`` library on the suite's own
training conversations (the gold episodes, rendered with their tool schemas), so it spends its
vocabulary on tool names, schema text and the phrasing of requests. Its chat template is TRL's
copy of Qwen2.5's, with ``<tool_call>`` blocks: TRL recognises it and parses the model's tool
calls, and transformers renders tools into the system prompt. Nothing is downloaded.

The model is small enough for CPU tests and minute-scale training (about 1.5M parameters with the
defaults); ``tiny_config`` takes overrides for a larger one on a GPU.
"""

from __future__ import annotations

import json
from pathlib import Path

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CALL_TOKENS = ["<tool_call>", "</tool_call>"]     # plain added tokens, as in Qwen2.5: never skipped on decode
MAX_LENGTH = 4096


def chat_template() -> str:
    from trl.chat_template_utils import qwen2_5_chat_template
    return qwen2_5_chat_template


def training_texts(tasks) -> list[str]:
    """Every gold conversation of ``tasks`` rendered as the model will read it."""
    from transformers.utils.chat_template_utils import render_jinja_template

    from .conversation import gold_conversation

    texts = []
    for task in tasks:
        example = gold_conversation(task)
        rendered, _ = render_jinja_template([example["messages"]], tools=example["tools"], chat_template=chat_template())
        texts.extend(rendered)
    return texts


def train_tokenizer(texts: list[str], vocab_size: int = 8192):
    """A byte-level BPE over ``texts``, wrapped as a transformers fast tokenizer."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    # No word split: merges may span spaces and punctuation, so the schema text that every prompt
    # repeats becomes a few tokens and an episode fits in ~450 tokens instead of ~3,600.
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(texts, trainer=trainer)
    bpe.add_tokens([AddedToken(t, special=False, normalized=False) for t in CALL_TOKENS])
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"], padding_side="left",
        model_max_length=MAX_LENGTH, chat_template=chat_template())


def tiny_config(tokenizer, **overrides):
    from transformers import Qwen2Config

    settings = dict(vocab_size=len(tokenizer), hidden_size=128, intermediate_size=384, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=MAX_LENGTH,
                    tie_word_embeddings=True, rope_theta=10_000.0,
                    bos_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                    pad_token_id=tokenizer.pad_token_id)
    settings.update(overrides)
    return Qwen2Config(**settings)


def build_tiny(out_dir: str | Path, tasks=None, vocab_size: int = 8192, seed: int = 0, **config) -> Path:
    """Train the tokenizer, initialise the model (torch's global generator is left as it was) and
    save both under ``out_dir``. ``tasks`` defaults to the rods-v1 training split."""
    import torch
    from transformers import GenerationConfig, Qwen2ForCausalLM

    if tasks is None:
        import rods_envs
        tasks = rods_envs.load_suite().split("train")
    tokenizer = train_tokenizer(training_texts(tasks), vocab_size)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2ForCausalLM(tiny_config(tokenizer, **config))
    model.generation_config = GenerationConfig(eos_token_id=tokenizer.eos_token_id,
                                               pad_token_id=tokenizer.pad_token_id, max_new_tokens=256)
    out = Path(out_dir)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    config_file = out / "tokenizer_config.json"
    config_file.write_text(json.dumps({**json.loads(config_file.read_text()), "rods_tiny": True}, indent=2))
    return out


def load_pretrained(path: str | Path):
    """``(model, tokenizer)`` from a directory written by ``build_tiny`` or ``save_pretrained``."""
    from transformers import AutoModelForCausalLM

    path = Path(path)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"no model in {path} (expected config.json; build one with `rods train --model tiny`)")
    tokenizer = load_tokenizer(path)
    return AutoModelForCausalLM.from_pretrained(path, local_files_only=True), tokenizer


def load_tokenizer(path: str | Path):
    """The tokenizer saved in a model directory."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    path = Path(path)
    if json.loads((path / "tokenizer_config.json").read_text()).get("rods_tiny"):
        # AutoTokenizer would pick Qwen2's tokenizer class for a qwen2 config and put Qwen2's word
        # split back in front of our byte-level BPE: load the tokenizer exactly as it was saved.
        return PreTrainedTokenizerFast.from_pretrained(path, padding_side="left", local_files_only=True)
    return AutoTokenizer.from_pretrained(path, padding_side="left", local_files_only=True)
