"""The cloudops domain: its policy rules refuse what they must (and leave the state untouched),
tools raise nothing but ToolError, ids do not depend on the order of independent calls, and the
scenarios reach the long dependency chains this domain exists for."""

import collections
import copy
import ipaddress
import json

import jsonschema
import numpy as np
import pytest

from rods_envs.builder import TaskBuilder
from rods_envs.domains.cloudops import DOMAIN, MAX_DATA_DISKS
from rods_envs.plan import plan_graph, signature
from rods_envs.task import Task
from rods_envs.tool import ToolError
from tool_checks import checked_call, refused_call

TOOLS = DOMAIN.tools
RESULT_SCHEMAS = {name: jsonschema.Draft202012Validator(t.result) for name, t in TOOLS.items()}


def run(state, tool_name, /, **args):
    return checked_call(TOOLS, state, tool_name, **args)


def refused(state, tool_name, /, **args):
    return refused_call(TOOLS, state, tool_name, **args)


@pytest.fixture
def lab():
    """A generated world plus a known corner: network 'lab' with subnets in both zones of a region,
    a VM in each, and a spare disk next to the first."""
    state = DOMAIN.make_world(np.random.default_rng(3))
    region = next(iter(state["regions"]))
    zone_a, zone_b = state["regions"][region]
    image = next(iter(state["images"]))
    net = run(state, "create_network", name="lab", region=region, cidr="10.200.0.0/16")
    sub_a = run(state, "create_subnet", network_id=net["network_id"], name="a", zone=zone_a, cidr="10.200.1.0/24")
    sub_b = run(state, "create_subnet", network_id=net["network_id"], name="b", zone=zone_b, cidr="10.200.2.0/24")
    vm_a = run(state, "create_vm", name="lab-a", subnet_id=sub_a["subnet_id"], size="small", image_id=image)
    vm_b = run(state, "create_vm", name="lab-b", subnet_id=sub_b["subnet_id"], size="small", image_id=image)
    spare = run(state, "create_disk", name="lab-spare", zone=zone_a, size_gb=20)
    return {"state": state, "region": region, "zones": (zone_a, zone_b), "image": image, "net": net,
            "subnets": (sub_a, sub_b), "vms": (vm_a, vm_b), "spare": spare}


def test_worlds_are_small_deterministic_and_consistent():
    for seed in range(40):
        world = DOMAIN.make_world(np.random.default_rng(seed))
        assert world == DOMAIN.make_world(np.random.default_rng(seed))
        assert len(json.dumps(world)) <= 6000
        for sub in world["subnets"].values():
            network = world["networks"][sub["network_id"]]
            assert ipaddress.ip_network(sub["cidr"]).subnet_of(ipaddress.ip_network(network["cidr"]))
            assert sub["zone"] in world["regions"][network["region"]]
        for vm_id, vm in world["vms"].items():
            disks = [d for d in world["disks"].values() if d["attached_to"] == vm_id]
            assert sum(d["boot"] for d in disks) == 1 and len(disks) - 1 <= MAX_DATA_DISKS
            assert all(d["zone"] == world["subnets"][vm["subnet_id"]]["zone"] for d in disks)


def test_new_vm_gets_boot_disk_and_first_free_address(lab):
    vm = lab["vms"][0]
    assert vm["status"] == "running" and vm["private_ip"] == "10.200.1.2"  # .1 is the gateway
    boot = lab["state"]["disks"][vm["boot_disk_id"]]
    assert boot["boot"] and boot["name"] == "lab-a-boot" and boot["zone"] == lab["zones"][0]
    other = run(lab["state"], "create_vm", name="lab-c", subnet_id=lab["subnets"][0]["subnet_id"],
                size="small", image_id=lab["image"])
    assert other["private_ip"] == "10.200.1.3"


def test_resize_only_a_stopped_vm(lab):
    state, vm_id = lab["state"], lab["vms"][0]["vm_id"]
    assert "stop it" in refused(state, "resize_vm", vm_id=vm_id, size="large")
    run(state, "stop_vm", vm_id=vm_id)
    assert "already" in refused(state, "resize_vm", vm_id=vm_id, size="small")
    assert run(state, "resize_vm", vm_id=vm_id, size="large")["size"] == "large"
    refused(state, "stop_vm", vm_id=vm_id)
    assert run(state, "start_vm", vm_id=vm_id)["status"] == "running"


def test_network_with_subnets_cannot_be_deleted(lab):
    state, net_id = lab["state"], lab["net"]["network_id"]
    run(state, "add_firewall_rule", network_id=net_id, protocol="tcp", port=443, source_cidr="0.0.0.0/0")
    assert "subnets" in refused(state, "delete_network", network_id=net_id)
    for sub, vm in zip(lab["subnets"], lab["vms"]):
        assert "VMs" in refused(state, "delete_subnet", subnet_id=sub["subnet_id"])
        run(state, "stop_vm", vm_id=vm["vm_id"])
        run(state, "delete_vm", vm_id=vm["vm_id"])
        run(state, "delete_subnet", subnet_id=sub["subnet_id"])
    run(state, "delete_network", network_id=net_id)
    assert all(rule["network_id"] != net_id for rule in state["firewall_rules"].values())


def test_subnet_cidr_and_zone_rules(lab):
    state, net_id = lab["state"], lab["net"]["network_id"]
    zone = lab["zones"][0]
    assert "inside" in refused(state, "create_subnet", network_id=net_id, name="x", zone=zone, cidr="10.201.1.0/24")
    assert "overlaps" in refused(state, "create_subnet", network_id=net_id, name="x", zone=zone, cidr="10.200.1.128/25")
    assert "already has" in refused(state, "create_subnet", network_id=net_id, name="a", zone=zone, cidr="10.200.9.0/24")
    assert "not a valid" in refused(state, "create_subnet", network_id=net_id, name="x", zone=zone, cidr="10.200.9.1/24")
    foreign = next(z for zs in state["regions"].values() for z in zs if z not in lab["zones"])
    assert "region" in refused(state, "create_subnet", network_id=net_id, name="x", zone=foreign, cidr="10.200.9.0/24")


def test_network_cidr_rules(lab):
    state, region = lab["state"], lab["region"]
    assert "overlaps" in refused(state, "create_network", name="x", region=region, cidr="10.200.128.0/17")
    assert "private" in refused(state, "create_network", name="x", region=region, cidr="8.8.0.0/16")
    assert "already exists" in refused(state, "create_network", name="lab", region=region, cidr="10.222.0.0/16")
    assert "unknown region" in refused(state, "create_network", name="x", region="mars", cidr="10.222.0.0/16")


def test_disk_attachment_rules(lab):
    state = lab["state"]
    vm_a, vm_b = lab["vms"]
    spare = lab["spare"]["disk_id"]
    assert "zone" in refused(state, "attach_disk", disk_id=spare, vm_id=vm_b["vm_id"])
    run(state, "attach_disk", disk_id=spare, vm_id=vm_a["vm_id"])
    assert "already attached" in refused(state, "attach_disk", disk_id=spare, vm_id=vm_a["vm_id"])
    assert "detach it first" in refused(state, "delete_disk", disk_id=spare)
    assert "boot disk" in refused(state, "detach_disk", disk_id=vm_a["boot_disk_id"])
    for n in range(MAX_DATA_DISKS - 1):
        extra = run(state, "create_disk", name=f"extra-{n}", zone=lab["zones"][0], size_gb=10)
        run(state, "attach_disk", disk_id=extra["disk_id"], vm_id=vm_a["vm_id"])
    last = run(state, "create_disk", name="one-too-many", zone=lab["zones"][0], size_gb=10)
    assert f"{MAX_DATA_DISKS} data disks" in refused(state, "attach_disk", disk_id=last["disk_id"], vm_id=vm_a["vm_id"])
    run(state, "detach_disk", disk_id=spare)
    run(state, "delete_disk", disk_id=spare)


def test_delete_vm_takes_the_boot_disk_and_keeps_data_disks(lab):
    state, vm = lab["state"], lab["vms"][0]
    run(state, "attach_disk", disk_id=lab["spare"]["disk_id"], vm_id=vm["vm_id"])
    assert "stop it" in refused(state, "delete_vm", vm_id=vm["vm_id"])
    run(state, "stop_vm", vm_id=vm["vm_id"])
    run(state, "delete_vm", vm_id=vm["vm_id"])
    assert vm["boot_disk_id"] not in state["disks"]
    assert state["disks"][lab["spare"]["disk_id"]]["attached_to"] is None


def test_disks_from_snapshots(lab):
    state = lab["state"]
    boot = lab["vms"][0]["boot_disk_id"]
    snap = run(state, "create_snapshot", disk_id=boot, name="lab-base")
    assert snap["region"] == lab["region"] and snap["size_gb"] == state["disks"][boot]["size_gb"]
    assert "already exists" in refused(state, "create_snapshot", disk_id=boot, name="lab-base")
    foreign = next(z for zs in state["regions"].values() for z in zs if z not in lab["zones"])
    assert "is in" in refused(state, "create_disk", name="x", zone=foreign, snapshot_id=snap["snapshot_id"])
    assert "at least" in refused(state, "create_disk", name="x", zone=lab["zones"][1], size_gb=1,
                                 snapshot_id=snap["snapshot_id"])
    assert "size_gb" in refused(state, "create_disk", name="x", zone=lab["zones"][1])
    copy_ = run(state, "create_disk", name="x", zone=lab["zones"][1], snapshot_id=snap["snapshot_id"])
    assert copy_["size_gb"] == snap["size_gb"] and copy_["source_snapshot_id"] == snap["snapshot_id"]


def test_firewall_and_static_ip_rules(lab):
    state, net_id, vm_id = lab["state"], lab["net"]["network_id"], lab["vms"][0]["vm_id"]
    run(state, "add_firewall_rule", network_id=net_id, protocol="tcp", port=443, source_cidr="0.0.0.0/0")
    assert "already allows" in refused(state, "add_firewall_rule", network_id=net_id, protocol="tcp", port=443,
                                       source_cidr="0.0.0.0/0")
    assert "not a valid" in refused(state, "add_firewall_rule", network_id=net_id, protocol="tcp", port=443,
                                    source_cidr="anywhere")
    refused(state, "add_firewall_rule", network_id=net_id, protocol="tcp", port=0, source_cidr="0.0.0.0/0")
    ip = run(state, "assign_static_ip", vm_id=vm_id)["static_ip"]
    assert "already has" in refused(state, "assign_static_ip", vm_id=vm_id)
    assert run(state, "release_static_ip", vm_id=vm_id)["static_ip"] is None
    assert run(state, "assign_static_ip", vm_id=vm_id)["static_ip"] != ip  # addresses are never reused


def test_quotas_are_enforced(lab):
    state = lab["state"]
    state["quotas"]["vms"] = len(state["vms"])
    assert "quota exceeded: vms" in refused(state, "create_vm", name="over", subnet_id=lab["subnets"][0]["subnet_id"],
                                            size="small", image_id=lab["image"])
    vm_id = lab["vms"][0]["vm_id"]
    run(state, "stop_vm", vm_id=vm_id)
    state["quotas"]["vcpus"] = run(state, "get_quota")["quotas"][2]["used"]
    assert "quota exceeded: vcpus" in refused(state, "resize_vm", vm_id=vm_id, size="xlarge")
    quotas = {q["resource"]: q for q in run(state, "get_quota")["quotas"]}
    assert quotas["vms"]["available"] == 0 and quotas["vcpus"]["available"] == 0


def test_ids_do_not_depend_on_the_order_of_independent_creations(lab):
    """A VM (with its boot disk) and a blank disk made in either order get the same ids."""
    def make(state, vm_first):
        steps = [lambda: run(state, "create_vm", name="order", subnet_id=lab["subnets"][1]["subnet_id"],
                             size="small", image_id=lab["image"]),
                 lambda: run(state, "create_disk", name="order-data", zone=lab["zones"][1], size_gb=20)]
        for step in steps if vm_first else steps[::-1]:
            step()
        return state
    assert make(copy.deepcopy(lab["state"]), True) == make(copy.deepcopy(lab["state"]), False)


def test_random_calls_raise_only_tool_errors_and_refusals_change_nothing():
    rng = np.random.default_rng(0)
    for _ in range(10):
        state = DOMAIN.make_world(rng)
        ids = {"network_id": "networks", "subnet_id": "subnets", "vm_id": "vms", "disk_id": "disks",
               "snapshot_id": "snapshots", "image_id": "images", "firewall_rule_id": "firewall_rules"}
        for _ in range(60):
            t = list(TOOLS.values())[int(rng.integers(len(TOOLS)))]
            args = {}
            for name, schema in t.parameters["properties"].items():
                semantic = schema.get("x-semantic")
                if "enum" in schema:
                    args[name] = str(rng.choice(schema["enum"]))
                elif schema["type"] == "integer":
                    args[name] = int(rng.choice([1, 22, 50, 443]))
                elif schema["type"] == "boolean":
                    args[name] = bool(rng.random() < 0.5)
                elif semantic in ids:
                    args[name] = str(rng.choice(list(state[ids[semantic]]) + ["nope-1"]))
                elif semantic == "zone":
                    args[name] = str(rng.choice([z for zs in state["regions"].values() for z in zs] + ["x-a"]))
                elif semantic == "region":
                    args[name] = str(rng.choice(list(state["regions"]) + ["mars"]))
                elif semantic == "cidr":
                    args[name] = str(rng.choice(["10.10.0.0/16", "10.10.7.0/24", "10.77.0.0/16", "1.2.3.4/8"]))
                else:
                    args[name] = str(rng.choice(["fresh", "web-1", "db-1-data"]))
            before = copy.deepcopy(state)
            try:
                result = t(state, args)
            except ToolError:
                assert state == before, f"{t.name}({args}) refused but changed the state"
                continue
            RESULT_SCHEMAS[t.name].validate(result)


def _builder(seed):
    rng = np.random.default_rng(seed)
    return TaskBuilder(DOMAIN, DOMAIN.make_world(rng), rng)


def test_every_scenario_mostly_succeeds_and_deep_ones_are_deep():
    wins, depths = collections.Counter(), collections.defaultdict(set)
    for seed in range(30):
        for scenario in DOMAIN.scenarios:
            b = _builder(seed)
            if b.add_turn(scenario, withhold=seed % 3 == 0):
                wins[scenario.__name__] += 1
                depths[scenario.__name__].add(signature(plan_graph(b.calls), 1)["depth"])
    for scenario in DOMAIN.scenarios:
        assert wins[scenario.__name__] >= 15, f"{scenario.__name__} succeeded {wins[scenario.__name__]}/30"
    for deep in ("backup_boot_disk", "restore_disk", "copy_disk", "clone_vm", "new_stack"):
        assert min(depths[deep]) >= 5
    assert depths["golden_disk"] == {6}
    assert {1, 2} <= set().union(*depths.values())


def test_multi_turn_gold_replays_and_results_match_schemas():
    for seed in range(25):
        b = _builder(seed)
        for k in b.rng.permutation(len(DOMAIN.scenarios))[:4]:
            b.add_turn(DOMAIN.scenarios[k], withhold=bool(b.rng.random() < 0.3))
        task = Task.from_dict(b.record(f"m{seed}"))
        gold = task.gold
        for call in task.calls:
            RESULT_SCHEMAS[call["tool"]].validate(gold.results[call["id"]])
        assert gold.states[-1] == b.state
