"""A domain: a world generator, its tools, the API graph they form, and task scenarios."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Callable, Sequence

import networkx as nx
import numpy as np

from .tool import Tool

if TYPE_CHECKING:
    from .builder import TaskBuilder

Scenario = Callable[["TaskBuilder"], bool]


@dataclass(eq=False)
class Domain:
    """``make_world(rng)`` builds a fresh JSON-serialisable state; ``scenarios`` each write one
    user turn into a TaskBuilder (returning False when the world offers nothing to do)."""

    name: str
    description: str
    tools: Sequence[Tool]
    make_world: Callable[[np.random.Generator], dict]
    scenarios: Sequence[Scenario] = field(default_factory=tuple)
    phrases: dict[str, list[str]] = field(default_factory=dict)   # tool -> user phrasings (synthesizer)

    def __post_init__(self):
        self.tools = {t.name: t for t in self.tools}

    @cached_property
    def api_graph(self) -> nx.DiGraph:
        """Tool A -> tool B when A produces a semantic type that B consumes."""
        return api_graph(self.tools.values())

    @cached_property
    def tool_schemas(self) -> list[dict]:
        return [t.openai_schema() for t in self.tools.values()]


def api_graph(tools) -> nx.DiGraph:
    """The data-dependency graph of ``tools``; edges carry the linking semantic ``types``.

    >>> from rods_envs.domains import get_domain
    >>> g = get_domain("retail").api_graph
    >>> g.has_edge("find_customer_by_email", "list_orders")
    True
    """
    graph = nx.DiGraph()
    tools = list(tools)
    for t in tools:
        graph.add_node(t.name, writes=t.writes, category=t.category,
                       consumes=sorted(t.consumes), produces=sorted(t.produces))
    for a in tools:
        for b in tools:
            shared = a.produces & b.consumes
            if shared and a is not b:
                graph.add_edge(a.name, b.name, types=sorted(shared))
    return graph
