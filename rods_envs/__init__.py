"""rods environments: multi-turn tool-use tasks as Gymnasium environments.

>>> import gymnasium as gym, rods_envs
>>> env = gym.make("rods/Retail-v0", split="test")
>>> observation, info = env.reset(seed=0)
"""

import gymnasium as gym

from .domains import DOMAINS, get_domain
from .env import ToolUseEnv
from .multiagent import RodsConversation, RodsConversationParallel
from .oracle import OraclePolicy
from .suite import Suite, load_suite
from .task import Task, TaskError, load_tasks

ENV_IDS = {"retail": "rods/Retail-v0", "travel": "rods/Travel-v0", "files": "rods/Files-v0",
           "cloudops": "rods/CloudOps-v0"}

for _domain, _env_id in ENV_IDS.items():
    if _env_id not in gym.registry:
        gym.register(id=_env_id, entry_point="rods_envs.env:ToolUseEnv", kwargs={"domain": _domain},
                     disable_env_checker=False)

# Every native domain's tasks in one environment (the whole suite, as training uses it).
MIXED_ENV_ID = "rods/Mixed-v0"
if MIXED_ENV_ID not in gym.registry:
    gym.register(id=MIXED_ENV_ID, entry_point="rods_envs.env:ToolUseEnv", kwargs={"domain": None},
                 disable_env_checker=False)

# BFCL V3 multi-turn (optional: the environment needs  pip install --no-deps bfcl-eval mpmath).
if "rods/BFCL-MultiTurn-v0" not in gym.registry:
    gym.register(id="rods/BFCL-MultiTurn-v0", entry_point="rods_envs.bfcl.env:BFCLEnv",
                 disable_env_checker=False)

__all__ = ["DOMAINS", "ENV_IDS", "MIXED_ENV_ID", "OraclePolicy", "RodsConversation", "RodsConversationParallel", "Suite", "Task", "TaskError", "ToolUseEnv",
           "get_domain", "load_suite", "load_tasks"]
