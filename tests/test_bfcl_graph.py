"""BFCL's functions as tools with JSON Schemas, the API graph, and task signatures."""

import jsonschema
import networkx as nx
import pytest

from rods_envs.bfcl import INSTALL_COMMAND

pytest.importorskip("bfcl_eval", reason=f"bfcl-eval is not installed ({INSTALL_COMMAND})")

from rods_envs.bfcl import load_tasks  # noqa: E402
from rods_envs.bfcl.backends import MULTI_TURN_CLASSES, all_functions  # noqa: E402
from rods_envs.bfcl.plan import gold_run  # noqa: E402
from rods_envs.bfcl.schemas import json_schema  # noqa: E402
from rods_envs.bfcl.tools import api_graph, backend_tools  # noqa: E402
from rods_envs.plan import signature  # noqa: E402
from rods_envs.tool import ToolError  # noqa: E402


def test_every_function_has_a_valid_json_schema_matching_its_python_signature():
    functions = all_functions()
    assert len(functions) == 128 and {f.cls for f in functions.values()} == set(MULTI_TURN_CLASSES)
    for name, function in functions.items():
        jsonschema.Draft202012Validator.check_schema(function.schema)
        assert function.schema["type"] == "object" and function.schema["additionalProperties"] is False
        assert set(function.schema["properties"]) == set(function.parameters), name
        assert set(function.schema["required"]) <= set(function.parameters)


def test_bfcl_type_names_become_json_schema_types():
    converted = json_schema({"type": "dict", "properties": {
        "x": {"type": "float"}, "y": {"type": "tuple", "items": {"type": "integer"}}, "z": {"type": "any"}}})
    assert converted == {"type": "object", "properties": {
        "x": {"type": "number"}, "y": {"type": "array", "items": {"type": "integer"}}, "z": {}}}


def test_api_graph_links_producers_to_consumers_within_a_backend():
    graph = api_graph()
    assert isinstance(graph, nx.DiGraph) and graph.number_of_nodes() == 128
    assert graph.has_edge("register_credit_card", "book_flight")        # card_id
    assert graph.has_edge("create_ticket", "get_ticket")                 # id -> ticket_id
    assert graph.has_edge("get_symbol_by_name", "place_order")           # symbol
    for a, b, data in graph.edges(data=True):
        assert graph.nodes[a]["category"] == graph.nodes[b]["category"]  # types are per backend
        assert all(t.startswith(graph.nodes[a]["category"] + ".") for t in data["types"])
    tools = backend_tools("GorillaFileSystem")
    assert not tools["ls"].writes and tools["mkdir"].writes and tools["cd"].writes


def test_tools_run_on_an_episodes_backends():
    from rods_envs.bfcl.backends import fresh_instances
    task = load_tasks("base")[0]
    instances = fresh_instances(task)
    tools = backend_tools("GorillaFileSystem")
    assert "document" in tools["ls"](instances, {})
    assert "current_working_directory" in tools["cd"](instances, {"folder": "document"})
    with pytest.raises(ToolError, match="not of type 'string'"):     # the rods Tool contract
        tools["cd"](instances, {"folder": 3})


def test_task_signatures_come_from_the_gold_plan():
    for task in load_tasks()[::40]:
        graph = task.graph
        calls = sum(map(len, task.gold))
        assert nx.is_directed_acyclic_graph(graph) and graph.number_of_nodes() == calls
        order = {node: k for k, node in enumerate(graph.nodes)}
        assert all(order[a] < order[b] for a, b in graph.edges)          # dependencies point back
        sig = task.signature
        assert sig == signature(graph, len(task.turns))
        assert sig["calls"] == calls and sig["turns"] == len(task.turns)
        assert 1 <= sig["depth"] <= calls and sum(n for _, n in sig["tools"]) == calls


def test_state_and_value_dependencies():
    task = load_tasks("base")[0]      # cd, mkdir, mv / cd, grep / sort / cd, mv, cd, diff
    graph = task.graph
    assert graph.has_edge("c0", "c1") and graph.edges["c0", "c1"]["kind"] == "state"   # cd before mkdir
    runs = gold_run(task)
    assert [r["tool"] for r in runs][:3] == ["cd", "mkdir", "mv"] and runs[0]["writes"]
    assert not any(r["writes"] for r in runs if r["tool"] in ("grep", "diff"))
    # A value the agent could only have read from an earlier result links the two calls.
    linked = [t for t in load_tasks() if any(k == "value" for *_, k in t.graph.edges(data="kind"))]
    assert linked
