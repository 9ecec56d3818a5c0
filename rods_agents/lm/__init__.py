"""Language-model agents: rods tasks for TRL, local Hugging Face models and hosted chat models.

- ``tools``: a domain's tools as Python functions with typed signatures and docstrings (the form
  TRL's ``environment_factory`` and transformers' chat templates read), plus ``reply_to_user``.
- ``trl_env``: ``environment_factory`` adapters, one class per domain.
- ``conversation``: the system prompt and gold conversations for supervised warm starts.
- ``tiny``: a tiny Qwen2-style model and a byte-level BPE tokenizer built locally.
- ``rods_trl``: the RODS loop inside TRL's ``GRPOTrainer`` (a prompt stream and a callback).
- ``policies`` and ``serve``: ``HFPolicy``, ``OpenAIChatPolicy`` and a loopback chat server.

``OpenAIChatPolicy`` and the ``trl_env`` adapters need only the core install; everything else here needs
the ``train`` extra (torch, transformers, trl).
"""
