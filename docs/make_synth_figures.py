"""Draw docs/img/synth_<mutation>.png: a seed plan DAG before and after each mutation.

    python docs/make_synth_figures.py        (needs matplotlib: pip install matplotlib)
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402

import rods_envs  # noqa: E402
from rods_envs.synth import Synthesizer  # noqa: E402

OUT = Path(__file__).parent / "img"
OPERATIONS = ["reinstantiate", "swap", "deepen", "widen", "prune", "compose", "withhold"]


def layered(graph: nx.DiGraph) -> dict:
    """Generations top to bottom; within one, nodes ordered under their parents (fewer crossings)."""
    pos: dict = {}
    for depth, layer in enumerate(nx.topological_generations(graph)):
        def under_parents(n):
            xs = [pos[p][0] for p in graph.predecessors(n)]
            return (sum(xs) / len(xs) if xs else 0.0, graph.nodes[n]["turn"], n)
        ordered = sorted(layer, key=under_parents)
        for i, node in enumerate(ordered):
            pos[node] = (i - (len(ordered) - 1) / 2, -depth)
    return pos


def draw(ax, task, title):
    graph = task.graph.copy()
    pos = layered(graph)
    turns = nx.get_node_attributes(graph, "turn")
    colours = [plt.cm.Pastel1(turns[n] % 9) for n in graph]
    nx.draw_networkx(graph, pos, ax=ax, node_color=colours, node_size=2200, arrows=True,
                     labels=nx.get_node_attributes(graph, "tool"), font_size=7, edge_color="#555")
    sig = task.signature
    ax.set_title(f"{title}\ncalls {sig['calls']}, depth {sig['depth']}, width {sig['width']}, "
                 f"turns {sig['turns']}", fontsize=9)
    ax.margins(0.15)
    ax.axis("off")


def main():
    OUT.mkdir(exist_ok=True)
    seeds = rods_envs.load_suite().split("train", domain="cloudops")
    synth = Synthesizer("cloudops", seeds, seed=0)
    for op in OPERATIONS:
        rng = np.random.default_rng(1)
        for seed in seeds:
            if seed.signature["depth"] < 2 or len(seed.calls) > (4 if op == "compose" else 7):
                continue
            variant = synth.mutate(seed, op, rng)
            if variant is not None:
                break
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
        draw(axes[0], seed, f"seed {seed.id}")
        draw(axes[1], variant, f"after {op}")
        fig.suptitle("colour = user turn", fontsize=8, y=0.02)
        fig.tight_layout()
        fig.savefig(OUT / f"synth_{op}.png", dpi=80)
        plt.close(fig)
        print(OUT / f"synth_{op}.png")


if __name__ == "__main__":
    main()
