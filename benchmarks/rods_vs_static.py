"""RODS against static-data GRPO at equal trajectory budgets: held-out rods-v1 test outcome and
progress against trajectories consumed, for fixed-data GRPO, GRPO with dynamic filtering, a large
offline pool of synthesized variants, and RODS (see docs/rods.md).

    python benchmarks/rods_vs_static.py [--quick] [--seeds 0 1 2] [--budget 5000] [--out runs/reproduce]

It is ``rods reproduce`` under another name, so that the comparison lives beside the other
benchmarks: the same arguments, the same CSV, plot and summary.
"""

from __future__ import annotations

import sys

from rods_agents.cli import main

if __name__ == "__main__":
    sys.exit(main(["reproduce", *sys.argv[1:]]))
