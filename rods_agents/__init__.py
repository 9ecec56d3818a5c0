"""rods agents: policies, evaluation and (with the `train` extra) the RODS training loop."""
