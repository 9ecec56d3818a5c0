"""Every native domain: enough tools, derived API graph, deterministic JSON worlds, honest schemas."""

import json

import jsonschema
import networkx as nx
import numpy as np
import pytest

import rods_envs
from rods_envs.domain import api_graph

DOMAINS = sorted(rods_envs.DOMAINS)


@pytest.mark.parametrize("name", DOMAINS)
def test_domain_shape(name):
    domain = rods_envs.get_domain(name)
    assert len(domain.tools) >= 12
    assert any(t.writes for t in domain.tools.values()) and any(not t.writes for t in domain.tools.values())
    assert len(domain.scenarios) >= 8
    doc = __import__(f"rods_envs.domains.{name}", fromlist=["x"]).__doc__
    for section in ("Tools", "State", "Reward", "Episode end", "Arguments"):
        assert section in doc, f"{name} docstring lacks {section}"


@pytest.mark.parametrize("name", DOMAINS)
def test_api_graph_is_derived_from_semantic_types(name):
    domain = rods_envs.get_domain(name)
    graph = domain.api_graph
    assert set(graph.nodes) == set(domain.tools)
    assert nx.utils.graphs_equal(graph, api_graph(domain.tools.values()))
    for a, b, types in graph.edges(data="types"):
        assert set(types) == domain.tools[a].produces & domain.tools[b].consumes
    assert graph.number_of_edges() >= len(domain.tools) // 2


@pytest.mark.parametrize("name", DOMAINS)
def test_worlds_are_deterministic_json(name):
    domain = rods_envs.get_domain(name)
    a = domain.make_world(np.random.default_rng(5))
    b = domain.make_world(np.random.default_rng(5))
    assert a == b and json.loads(json.dumps(a)) == a
    assert a != domain.make_world(np.random.default_rng(6))


@pytest.mark.parametrize("name", DOMAINS)
def test_gold_results_match_result_schemas(suite, name):
    domain = rods_envs.get_domain(name)
    for task in suite.split("all", domain=name)[:60]:
        for call in task.calls:
            jsonschema.validate(task.gold.results[call["id"]], domain.tools[call["tool"]].result)


def test_cloudops_has_long_chains(suite):
    depths = [t.signature["depth"] for t in suite.split("all", domain="cloudops")]
    assert max(depths) >= 6 and sum(d >= 5 for d in depths) >= 10


def test_files_navigation_is_state():
    env = rods_envs.ToolUseEnv("files", split="test")
    env.reset(seed=0)
    start = env.state["cwd"]
    env.step('{"name": "cd", "arguments": {"path": ".."}}')
    assert env.state["cwd"] != start or start == "/"
