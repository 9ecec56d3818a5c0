"""Cloud ops: an operator's console for a small public-cloud project.

### Description
The agent runs infrastructure for a user over 2 to 5 turns: networks split into subnets, virtual
machines in those subnets, block disks that attach to VMs, snapshots of disks, firewall rules and
static IPs. Users speak in names ("the web subnet of prod", "db-1"); the tools speak in ids, so
most requests are chains: find a network by name, list its subnets, launch a VM there, snapshot
its boot disk, make a disk from the snapshot, attach it to another VM. The user may hold back one
detail (a VM name, a region, a snapshot name) until the agent asks for it.

### Tools
| tool | kind | rule |
|---|---|---|
| list_regions | read | regions and their zones |
| list_images | read | |
| list_sizes | read | machine sizes (vCPUs, memory) |
| get_quota | read | limit, used and available per resource |
| list_networks | read | optionally in one region |
| find_network_by_name | read | exact name |
| list_subnets | read | the subnets of one network |
| get_subnet | read | |
| find_vm_by_name | read | a summary; disks and addresses come from get_vm |
| get_vm | read | |
| list_vms | read | filter by subnet, zone, status; also returns the count |
| list_disks | read | filter by VM, zone, attached or not |
| list_snapshots | read | optionally of one disk |
| list_firewall_rules | read | the rules of one network |
| create_network | write | unique name, private CIDR /16-/24, no overlap within the region, quota |
| delete_network | write | refused while it has subnets; its firewall rules go with it |
| create_subnet | write | zone in the network's region, CIDR /20-/28 inside the network, no overlap |
| delete_subnet | write | refused while VMs are in it |
| create_vm | write | unique name, a free address in the subnet, VM/vCPU/disk quota; makes a boot disk |
| start_vm / stop_vm | write | only from stopped / running |
| resize_vm | write | only a stopped VM, to another size, within the vCPU quota |
| delete_vm | write | only a stopped VM; deletes the boot disk, detaches data disks |
| create_disk | write | blank (size needed) or from a snapshot of the same region (size >= snapshot) |
| attach_disk | write | detached disk, same zone as the VM, at most 3 data disks per VM |
| detach_disk | write | never the boot disk |
| delete_disk | write | only a detached disk |
| create_snapshot | write | unique name, quota |
| add_firewall_rule | write | valid source CIDR, no duplicate rule |
| delete_firewall_rule | write | |
| assign_static_ip / release_static_ip | write | one static IP per VM, quota |

### State
``regions`` (zones per region), ``images``, ``networks``, ``subnets``, ``vms``, ``disks``,
``snapshots`` and ``firewall_rules``, each a table keyed by id; ``quotas`` (limits); ``next_id``,
the counters behind every id and static address a tool creates.

### Tasks
Shallow (depth 1-2): create a network; quota headroom, an image's minimum boot disk, a size's
vCPUs or memory (answers); stop or start a VM by id; resize a VM (stopping it first); open a port
on a network; delete a detached disk; a VM's private IP or a new static IP (answers); retire a VM.
Middle (3-4): open a port on a VM's network; count running VMs in a subnet (answer); snapshot a
data disk; tear down an idle network; revoke a firewall rule; add a data disk; launch a VM; move
a disk; stop every running VM of a subnet. Deep (5-6): snapshot the boot disk of a subnet's one
stopped (or running) VM, restore a disk from its snapshot, copy a disk to another VM, clone a VM,
build a network-to-disk stack, and make a golden disk from a fresh VM's boot disk for another VM.

### Reward
After each user turn the project's state must equal the gold state and every value the user
asked for must appear in the agent's reply; progress is the fraction of turns passed, the
outcome is 1 when every turn passes.

### Episode end
When the last turn is judged, when the agent gives up, or on the environment's step budget.

### Arguments
``make_world(rng)`` builds a project from a ``numpy.random.Generator``.
"""

from __future__ import annotations

import functools
import ipaddress
from itertools import islice

import numpy as np

from ..builder import Ref, ScenarioError, TaskBuilder
from ..domain import Domain
from ..tool import ToolError, arg, arr, obj, tool

SIZES = {"small": (1, 2), "medium": (2, 8), "large": (4, 16), "xlarge": (8, 32)}  # vCPUs, memory GB
MAX_DATA_DISKS = 3
QUOTAS = {"networks": 6, "vms": 12, "vcpus": 40, "disks": 30, "snapshots": 12, "static_ips": 3}
PREFIX = {"network": "net", "subnet": "subnet", "vm": "vm", "disk": "disk", "snapshot": "snap",
          "rule": "fw"}
PRIVATE = [ipaddress.IPv4Network(b) for b in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
PUBLIC_POOL = "203.0.113.{}"  # documentation range: static addresses are handed out in order

REGION_POOL = {"us-east": ["us-east-a", "us-east-b"], "eu-west": ["eu-west-a", "eu-west-b"],
               "ap-south": ["ap-south-a", "ap-south-b"]}
IMAGE_POOL = {"debian-12": ("linux", 10), "ubuntu-24.04": ("linux", 10), "rocky-9": ("linux", 20),
              "windows-2022": ("windows", 40)}
NETWORK_NAMES = ["prod", "staging", "dev", "analytics", "sandbox", "edge", "research", "legacy"]
SUBNET_NAMES = ["web", "app", "db", "batch"]
VM_NAMES = ["web-1", "web-2", "api-1", "api-2", "db-1", "db-2", "cache-1", "worker-1", "worker-2",
            "ci-runner", "etl-1", "monitor"]
NEW_VM_NAMES = ["web-3", "api-3", "build-1", "batch-1", "jump-1", "search-1", "queue-1", "canary-1",
                "golden-1", "test-vm", "report-1", "proxy-1"]
SPARE_DISKS = ["scratch", "old-logs", "archive", "tmp-import"]
DISK_SIZES = [20, 50, 100, 200]
PORTS = [(443, "tcp", "HTTPS"), (80, "tcp", "HTTP"), (5432, "tcp", "Postgres"), (53, "udp", "DNS"),
         (8080, "tcp", "the app's HTTP"), (6379, "tcp", "Redis")]
SOURCES = {"0.0.0.0/0": "from anywhere (0.0.0.0/0)", "10.0.0.0/8": "from our internal range 10.0.0.0/8",
           "192.168.0.0/16": "from the office range 192.168.0.0/16"}

# -- argument and result schemas ------------------------------------------------------------

NETWORK_ID = arg("network_id", "string", "A network id such as 'net-1'.")
SUBNET_ID = arg("subnet_id", "string", "A subnet id such as 'subnet-2'.")
VM_ID = arg("vm_id", "string", "A VM id such as 'vm-3'.")
DISK_ID = arg("disk_id", "string", "A disk id such as 'disk-4' (a boot disk: 'vm-3-boot').")
SNAPSHOT_ID = arg("snapshot_id", "string", "A snapshot id such as 'snap-1'.")
IMAGE_ID = arg("image_id", "string", "An image id such as 'img-2'.")
RULE_ID = arg("firewall_rule_id", "string", "A firewall rule id such as 'fw-3'.")
REGION = arg("region", "string", "A region such as 'us-east'.")
ZONE = arg("zone", "string", "A zone such as 'us-east-a'.")
CIDR = arg("cidr", "string", "An IPv4 block in CIDR notation, such as '10.20.0.0/16'.")
SIZE = arg("vm_size", "string", "A machine size (see list_sizes).", enum=list(SIZES))
STATUS = arg("vm_status", "string", "running or stopped.", enum=["running", "stopped"])
PROTOCOL = arg("protocol", "string", "tcp or udp.", enum=["tcp", "udp"])
PORT = arg("port", "integer", "A port number.", minimum=1, maximum=65535)
GB = arg("disk_size_gb", "integer", "A size in GB.", minimum=1, maximum=2000)
IP = arg("ip_address", "string", "An IPv4 address.")


def _name(semantic: str, what: str) -> dict:
    return arg(semantic, "string", f"The {what}'s name.", minLength=1, maxLength=40)


def _nullable(semantic: str, description: str) -> dict:
    return arg(semantic, ["string", "null"], description)


NETWORK = obj(network_id=NETWORK_ID, name=_name("network_name", "network"), region=REGION, cidr=CIDR)
SUBNET = obj(subnet_id=SUBNET_ID, name=_name("subnet_name", "subnet"), network_id=NETWORK_ID,
             zone=ZONE, cidr=CIDR)
VM_SUMMARY = obj(vm_id=VM_ID, name=_name("vm_name", "VM"), status=STATUS, size=SIZE, zone=ZONE,
                 subnet_id=SUBNET_ID)
VM = obj(vm_id=VM_ID, name=_name("vm_name", "VM"), status=STATUS, size=SIZE, zone=ZONE,
         subnet_id=SUBNET_ID, image_id=IMAGE_ID, private_ip=IP,
         static_ip=_nullable("ip_address", "The static public IP, or null."),
         boot_disk_id=DISK_ID, data_disk_ids=arr(DISK_ID))
DISK = obj(disk_id=DISK_ID, name=_name("disk_name", "disk"), zone=ZONE, size_gb=GB,
           attached_to=_nullable("vm_id", "The VM it is attached to, or null."),
           boot=arg(None, "boolean", "Whether it is a VM's boot disk."),
           source_snapshot_id=_nullable("snapshot_id", "The snapshot it was made from, or null."))
SNAPSHOT = obj(snapshot_id=SNAPSHOT_ID, name=_name("snapshot_name", "snapshot"), disk_id=DISK_ID,
               region=REGION, size_gb=GB)
RULE = obj(firewall_rule_id=RULE_ID, network_id=NETWORK_ID, protocol=PROTOCOL, port=PORT,
           source_cidr=CIDR)
IMAGE = obj(image_id=IMAGE_ID, name=_name("image_name", "image"), os=arg(None, "string"),
            min_disk_gb=GB)
QUOTA = obj(resource=arg("quota_resource", "string", enum=list(QUOTAS)), limit=arg(None, "integer"),
            used=arg(None, "integer"), available=arg(None, "integer"))


def _deleted(semantic: str) -> dict:
    return obj(deleted=arg(semantic, "string", "The id of what was deleted."))


# -- state helpers ----------------------------------------------------------------------------

def _get(state: dict, table: str, key: str) -> dict:
    try:
        return state[table][key]
    except KeyError:
        raise ToolError(f"no {table[:-1].replace('_', ' ')} with id {key!r}") from None


def _new_id(state: dict, kind: str) -> str:
    number = state["next_id"][kind]
    state["next_id"][kind] = number + 1
    return f"{PREFIX[kind]}-{number}"


@functools.lru_cache(maxsize=4096)
def _block(text: str) -> ipaddress.IPv4Network:
    """A parsed CIDR block; cached, because parsing is the slowest step of network tools."""
    return ipaddress.IPv4Network(text)


def _cidr(text: str, shortest: int, longest: int) -> ipaddress.IPv4Network:
    try:
        block = _block(text)
    except ValueError:
        raise ToolError(f"{text!r} is not a valid CIDR block (write it like 10.20.0.0/16)") from None
    if not shortest <= block.prefixlen <= longest:
        raise ToolError(f"{text}: the prefix length must be between /{shortest} and /{longest}")
    return block


def _region_of(state: dict, zone: str) -> str | None:
    return next((r for r, zones in state["regions"].items() if zone in zones), None)


def _vm_zone(state: dict, vm: dict) -> str:
    return state["subnets"][vm["subnet_id"]]["zone"]


def _disks_of(state: dict, vm_id: str) -> list[str]:
    return [d for d, disk in state["disks"].items() if disk["attached_to"] == vm_id]


def _data_disks(state: dict, vm_id: str) -> list[str]:
    return [d for d in _disks_of(state, vm_id) if not state["disks"][d]["boot"]]


def _usage(state: dict) -> dict:
    return {"networks": len(state["networks"]), "vms": len(state["vms"]),
            "vcpus": sum(SIZES[vm["size"]][0] for vm in state["vms"].values()),
            "disks": len(state["disks"]), "snapshots": len(state["snapshots"]),
            "static_ips": sum(vm["static_ip"] is not None for vm in state["vms"].values())}


def _within_quota(state: dict, **extra: int) -> None:
    used = _usage(state)
    for resource, amount in extra.items():
        limit = state["quotas"][resource]
        if used[resource] + amount > limit:
            raise ToolError(f"quota exceeded: {resource} limit is {limit} and {used[resource]} are in use")


def _unique(table: dict, name: str, what: str) -> None:
    if any(row["name"] == name for row in table.values()):
        raise ToolError(f"a {what} named {name!r} already exists")


def _network_view(state, network_id):
    return {"network_id": network_id, **state["networks"][network_id]}


def _subnet_view(state, subnet_id):
    return {"subnet_id": subnet_id, **state["subnets"][subnet_id]}


def _vm_summary(state, vm_id):
    vm = state["vms"][vm_id]
    return {"vm_id": vm_id, "name": vm["name"], "status": vm["status"], "size": vm["size"],
            "zone": _vm_zone(state, vm), "subnet_id": vm["subnet_id"]}


def _vm_view(state, vm_id):
    vm = state["vms"][vm_id]
    disks = _disks_of(state, vm_id)
    return {**_vm_summary(state, vm_id), "image_id": vm["image_id"], "private_ip": vm["private_ip"],
            "static_ip": vm["static_ip"],
            "boot_disk_id": next(d for d in disks if state["disks"][d]["boot"]),
            "data_disk_ids": [d for d in disks if not state["disks"][d]["boot"]]}


def _disk_view(state, disk_id):
    return {"disk_id": disk_id, **state["disks"][disk_id]}


def _snapshot_view(state, snapshot_id):
    return {"snapshot_id": snapshot_id, **state["snapshots"][snapshot_id]}


def _rule_view(state, rule_id):
    return {"firewall_rule_id": rule_id, **state["firewall_rules"][rule_id]}


# -- read tools -------------------------------------------------------------------------------

@tool("List the regions and the zones in each.", params={},
      result=obj(regions=arr(obj(region=REGION, zones=arr(ZONE)))))
def list_regions(state):
    return {"regions": [{"region": r, "zones": list(zones)} for r, zones in state["regions"].items()]}


@tool("List the machine images VMs can boot from.", params={}, result=obj(images=arr(IMAGE)))
def list_images(state):
    return {"images": [{"image_id": i, **image} for i, image in state["images"].items()]}


@tool("List the machine sizes with their vCPUs and memory.", params={},
      result=obj(sizes=arr(obj(size=SIZE, vcpus=arg(None, "integer"), memory_gb=arg(None, "integer")))))
def list_sizes(state):
    return {"sizes": [{"size": s, "vcpus": c, "memory_gb": m} for s, (c, m) in SIZES.items()]}


@tool("Show the project's quotas: limit, used and still available for each resource. Every VM "
      "counts towards the vCPU quota, running or stopped.", params={}, result=obj(quotas=arr(QUOTA)))
def get_quota(state):
    used = _usage(state)
    return {"quotas": [{"resource": r, "limit": limit, "used": used[r], "available": max(limit - used[r], 0)}
                       for r, limit in state["quotas"].items()]}


@tool("List networks, optionally only those in one region.", params={"region": REGION},
      optional=("region",), result=obj(networks=arr(NETWORK)))
def list_networks(state, region=None):
    return {"networks": [_network_view(state, n) for n, net in state["networks"].items()
                         if region is None or net["region"] == region]}


@tool("Find a network by its exact name.", params={"name": _name("network_name", "network")},
      result=NETWORK)
def find_network_by_name(state, name):
    for network_id, network in state["networks"].items():
        if network["name"] == name.strip():
            return _network_view(state, network_id)
    raise ToolError(f"no network named {name!r}")


@tool("List the subnets of a network. Subnet names are unique within a network only.",
      params={"network_id": NETWORK_ID}, result=obj(subnets=arr(SUBNET)))
def list_subnets(state, network_id):
    _get(state, "networks", network_id)
    return {"subnets": [_subnet_view(state, s) for s, sub in state["subnets"].items()
                        if sub["network_id"] == network_id]}


@tool("Get a subnet: its network, zone and CIDR.", params={"subnet_id": SUBNET_ID}, result=SUBNET)
def get_subnet(state, subnet_id):
    _get(state, "subnets", subnet_id)
    return _subnet_view(state, subnet_id)


@tool("Find a VM by its exact name. Returns a summary; use get_vm for its disks and addresses.",
      params={"name": _name("vm_name", "VM")}, result=VM_SUMMARY)
def find_vm_by_name(state, name):
    for vm_id, vm in state["vms"].items():
        if vm["name"] == name.strip():
            return _vm_summary(state, vm_id)
    raise ToolError(f"no VM named {name!r}")


@tool("Get a VM's details: image, addresses, boot disk and attached data disks.",
      params={"vm_id": VM_ID}, result=VM)
def get_vm(state, vm_id):
    _get(state, "vms", vm_id)
    return _vm_view(state, vm_id)


@tool("List VMs, optionally filtered by subnet, zone and status, with how many matched.",
      params={"subnet_id": SUBNET_ID, "zone": ZONE, "status": STATUS},
      optional=("subnet_id", "zone", "status"),
      result=obj(count=arg(None, "integer"), vms=arr(VM_SUMMARY)))
def list_vms(state, subnet_id=None, zone=None, status=None):
    if subnet_id is not None:
        _get(state, "subnets", subnet_id)
    found = [_vm_summary(state, v) for v in state["vms"]]
    found = [vm for vm in found if (subnet_id is None or vm["subnet_id"] == subnet_id)
             and (zone is None or vm["zone"] == zone) and (status is None or vm["status"] == status)]
    return {"count": len(found), "vms": found}


@tool("List disks, optionally only those attached to one VM, in one zone, or attached/unattached.",
      params={"vm_id": VM_ID, "zone": ZONE,
              "attached": arg(None, "boolean", "true: only attached disks; false: only unattached ones.")},
      optional=("vm_id", "zone", "attached"), result=obj(disks=arr(DISK)))
def list_disks(state, vm_id=None, zone=None, attached=None):
    if vm_id is not None:
        _get(state, "vms", vm_id)
    return {"disks": [_disk_view(state, d) for d, disk in state["disks"].items()
                      if (vm_id is None or disk["attached_to"] == vm_id)
                      and (zone is None or disk["zone"] == zone)
                      and (attached is None or (disk["attached_to"] is not None) == attached)]}


@tool("List snapshots, optionally only those taken of one disk, oldest first.",
      params={"disk_id": DISK_ID}, optional=("disk_id",), result=obj(snapshots=arr(SNAPSHOT)))
def list_snapshots(state, disk_id=None):
    return {"snapshots": [_snapshot_view(state, s) for s, snap in state["snapshots"].items()
                          if disk_id is None or snap["disk_id"] == disk_id]}


@tool("List the firewall rules (allowed inbound traffic) of a network.",
      params={"network_id": NETWORK_ID}, result=obj(rules=arr(RULE)))
def list_firewall_rules(state, network_id):
    _get(state, "networks", network_id)
    return {"rules": [_rule_view(state, r) for r, rule in state["firewall_rules"].items()
                      if rule["network_id"] == network_id]}


# -- networks and subnets ---------------------------------------------------------------------

@tool("Create a network in a region. Its CIDR must be a private block between /16 and /24 that "
      "overlaps no other network of the region.",
      params={"name": _name("network_name", "network"), "region": REGION, "cidr": CIDR},
      result=NETWORK, writes=True)
def create_network(state, name, region, cidr):
    _unique(state["networks"], name, "network")
    if region not in state["regions"]:
        raise ToolError(f"unknown region {region!r}; see list_regions")
    block = _cidr(cidr, 16, 24)
    if not any(block.subnet_of(p) for p in PRIVATE):
        raise ToolError(f"{cidr} is not a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)")
    for other in state["networks"].values():
        if other["region"] == region and block.overlaps(_block(other["cidr"])):
            raise ToolError(f"{cidr} overlaps network {other['name']} ({other['cidr']}) in {region}")
    _within_quota(state, networks=1)
    network_id = _new_id(state, "network")
    state["networks"][network_id] = {"name": name, "region": region, "cidr": str(block)}
    return _network_view(state, network_id)


@tool("Delete a network. Refused while it still has subnets; its firewall rules are deleted with it.",
      params={"network_id": NETWORK_ID}, result=_deleted("network_id"), writes=True)
def delete_network(state, network_id):
    network = _get(state, "networks", network_id)
    subnets = [s["name"] for s in state["subnets"].values() if s["network_id"] == network_id]
    if subnets:
        raise ToolError(f"network {network['name']} still has subnets ({', '.join(subnets)}): delete them first")
    for rule_id in [r for r, rule in state["firewall_rules"].items() if rule["network_id"] == network_id]:
        del state["firewall_rules"][rule_id]
    del state["networks"][network_id]
    return {"deleted": network_id}


@tool("Create a subnet in a zone of the network's region. Its CIDR (/20 to /28) must lie inside the "
      "network's CIDR and overlap none of the network's other subnets. Names are unique per network.",
      params={"network_id": NETWORK_ID, "name": _name("subnet_name", "subnet"), "zone": ZONE, "cidr": CIDR},
      result=SUBNET, writes=True)
def create_subnet(state, network_id, name, zone, cidr):
    network = _get(state, "networks", network_id)
    siblings = [s for s in state["subnets"].values() if s["network_id"] == network_id]
    if any(s["name"] == name for s in siblings):
        raise ToolError(f"network {network['name']} already has a subnet named {name!r}")
    if zone not in state["regions"][network["region"]]:
        raise ToolError(f"zone {zone!r} is not in the network's region {network['region']}")
    block = _cidr(cidr, 20, 28)
    if not block.subnet_of(_block(network["cidr"])):
        raise ToolError(f"{cidr} is not inside the network's range {network['cidr']}")
    for s in siblings:
        if block.overlaps(_block(s["cidr"])):
            raise ToolError(f"{cidr} overlaps subnet {s['name']} ({s['cidr']})")
    subnet_id = _new_id(state, "subnet")
    state["subnets"][subnet_id] = {"name": name, "network_id": network_id, "zone": zone, "cidr": str(block)}
    return _subnet_view(state, subnet_id)


@tool("Delete a subnet. Refused while any VM is in it.", params={"subnet_id": SUBNET_ID},
      result=_deleted("subnet_id"), writes=True)
def delete_subnet(state, subnet_id):
    subnet = _get(state, "subnets", subnet_id)
    inside = [vm["name"] for vm in state["vms"].values() if vm["subnet_id"] == subnet_id]
    if inside:
        raise ToolError(f"subnet {subnet['name']} still has VMs ({', '.join(inside)})")
    del state["subnets"][subnet_id]
    return {"deleted": subnet_id}


# -- VMs --------------------------------------------------------------------------------------

def _free_address(state: dict, subnet_id: str) -> str:
    taken = {vm["private_ip"] for vm in state["vms"].values() if vm["subnet_id"] == subnet_id}
    hosts = _block(state["subnets"][subnet_id]["cidr"]).hosts()
    next(hosts, None)  # the first host address is the subnet's gateway
    for host in hosts:
        if str(host) not in taken:
            return str(host)
    raise ToolError(f"subnet {state['subnets'][subnet_id]['name']} has no free addresses")


@tool("Launch a VM (running) in a subnet. It gets the subnet's first free address and a boot disk "
      "named '<vm name>-boot' of the image's minimum size unless boot_disk_gb says more. Counts "
      "towards the VM, vCPU and disk quotas.",
      params={"name": _name("vm_name", "VM"), "subnet_id": SUBNET_ID, "size": SIZE, "image_id": IMAGE_ID,
              "boot_disk_gb": GB},
      optional=("boot_disk_gb",), result=VM, writes=True)
def create_vm(state, name, subnet_id, size, image_id, boot_disk_gb=None):
    _unique(state["vms"], name, "VM")
    subnet = _get(state, "subnets", subnet_id)
    image = _get(state, "images", image_id)
    boot_name = f"{name}-boot"
    _unique(state["disks"], boot_name, "disk")
    boot_gb = image["min_disk_gb"] if boot_disk_gb is None else boot_disk_gb
    if boot_gb < image["min_disk_gb"]:
        raise ToolError(f"image {image['name']} needs a boot disk of at least {image['min_disk_gb']} GB")
    _within_quota(state, vms=1, vcpus=SIZES[size][0], disks=1)
    address = _free_address(state, subnet_id)
    vm_id = _new_id(state, "vm")
    state["vms"][vm_id] = {"name": name, "subnet_id": subnet_id, "size": size, "image_id": image_id,
                           "status": "running", "private_ip": address, "static_ip": None}
    # The boot disk's id derives from the VM's, so creating a VM and a disk in either order
    # yields the same ids.
    state["disks"][f"{vm_id}-boot"] = {"name": boot_name, "zone": subnet["zone"], "size_gb": boot_gb,
                                              "attached_to": vm_id, "boot": True, "source_snapshot_id": None}
    return _vm_view(state, vm_id)


def _vm_in(state: dict, vm_id: str, status: str) -> dict:
    vm = _get(state, "vms", vm_id)
    if vm["status"] != status:
        raise ToolError(f"VM {vm['name']} is {vm['status']}, not {status}")
    return vm


@tool("Start a stopped VM.", params={"vm_id": VM_ID}, result=VM, writes=True)
def start_vm(state, vm_id):
    _vm_in(state, vm_id, "stopped")["status"] = "running"
    return _vm_view(state, vm_id)


@tool("Stop a running VM.", params={"vm_id": VM_ID}, result=VM, writes=True)
def stop_vm(state, vm_id):
    _vm_in(state, vm_id, "running")["status"] = "stopped"
    return _vm_view(state, vm_id)


@tool("Change a VM's machine size. Only a stopped VM can be resized; the new size must fit the "
      "vCPU quota.", params={"vm_id": VM_ID, "size": SIZE}, result=VM, writes=True)
def resize_vm(state, vm_id, size):
    vm = _get(state, "vms", vm_id)
    if vm["status"] != "stopped":
        raise ToolError(f"VM {vm['name']} is running: stop it before resizing")
    if vm["size"] == size:
        raise ToolError(f"VM {vm['name']} is already {size}")
    _within_quota(state, vcpus=SIZES[size][0] - SIZES[vm["size"]][0])
    vm["size"] = size
    return _vm_view(state, vm_id)


@tool("Delete a stopped VM. Its boot disk is deleted with it, its data disks are detached and kept, "
      "its static IP is released.", params={"vm_id": VM_ID}, result=_deleted("vm_id"), writes=True)
def delete_vm(state, vm_id):
    vm = _get(state, "vms", vm_id)
    if vm["status"] != "stopped":
        raise ToolError(f"VM {vm['name']} is running: stop it before deleting it")
    for disk_id in _disks_of(state, vm_id):
        if state["disks"][disk_id]["boot"]:
            del state["disks"][disk_id]
        else:
            state["disks"][disk_id]["attached_to"] = None
    del state["vms"][vm_id]
    return {"deleted": vm_id}


@tool("Give a VM a static public IP address (one per VM, within the static IP quota).",
      params={"vm_id": VM_ID}, result=VM, writes=True)
def assign_static_ip(state, vm_id):
    vm = _get(state, "vms", vm_id)
    if vm["static_ip"] is not None:
        raise ToolError(f"VM {vm['name']} already has the static IP {vm['static_ip']}")
    _within_quota(state, static_ips=1)
    number = state["next_id"]["ip"]
    state["next_id"]["ip"] = number + 1
    vm["static_ip"] = PUBLIC_POOL.format(number)
    return _vm_view(state, vm_id)


@tool("Release a VM's static public IP address.", params={"vm_id": VM_ID}, result=VM, writes=True)
def release_static_ip(state, vm_id):
    vm = _get(state, "vms", vm_id)
    if vm["static_ip"] is None:
        raise ToolError(f"VM {vm['name']} has no static IP")
    vm["static_ip"] = None
    return _vm_view(state, vm_id)


# -- disks and snapshots ----------------------------------------------------------------------

@tool("Create an unattached disk in a zone: blank (size_gb required) or from a snapshot taken in the "
      "zone's region (size_gb defaults to the snapshot's size and may not be smaller).",
      params={"name": _name("disk_name", "disk"), "zone": ZONE, "size_gb": GB, "snapshot_id": SNAPSHOT_ID},
      optional=("size_gb", "snapshot_id"), result=DISK, writes=True)
def create_disk(state, name, zone, size_gb=None, snapshot_id=None):
    _unique(state["disks"], name, "disk")
    region = _region_of(state, zone)
    if region is None:
        raise ToolError(f"unknown zone {zone!r}; see list_regions")
    if snapshot_id is not None:
        snapshot = _get(state, "snapshots", snapshot_id)
        if snapshot["region"] != region:
            raise ToolError(f"snapshot {snapshot['name']} is in {snapshot['region']}, zone {zone} is in {region}")
        size_gb = snapshot["size_gb"] if size_gb is None else size_gb
        if size_gb < snapshot["size_gb"]:
            raise ToolError(f"a disk from snapshot {snapshot['name']} needs at least {snapshot['size_gb']} GB")
    elif size_gb is None:
        raise ToolError("a blank disk needs size_gb")
    _within_quota(state, disks=1)
    disk_id = _new_id(state, "disk")
    state["disks"][disk_id] = {"name": name, "zone": zone, "size_gb": size_gb, "attached_to": None,
                               "boot": False, "source_snapshot_id": snapshot_id}
    return _disk_view(state, disk_id)


@tool(f"Attach an unattached disk to a VM in the same zone, as a data disk (at most {MAX_DATA_DISKS} "
      "per VM). Running VMs accept disks.", params={"disk_id": DISK_ID, "vm_id": VM_ID}, result=DISK,
      writes=True)
def attach_disk(state, disk_id, vm_id):
    disk = _get(state, "disks", disk_id)
    vm = _get(state, "vms", vm_id)
    if disk["attached_to"] is not None:
        holder = state["vms"][disk["attached_to"]]["name"]
        raise ToolError(f"disk {disk['name']} is already attached to {holder}")
    if disk["zone"] != _vm_zone(state, vm):
        raise ToolError(f"disk {disk['name']} is in {disk['zone']} but VM {vm['name']} is in "
                        f"{_vm_zone(state, vm)}: a disk attaches only within its zone")
    if len(_data_disks(state, vm_id)) >= MAX_DATA_DISKS:
        raise ToolError(f"VM {vm['name']} already has {MAX_DATA_DISKS} data disks")
    disk["attached_to"] = vm_id
    return _disk_view(state, disk_id)


@tool("Detach a data disk from its VM. A boot disk cannot be detached.", params={"disk_id": DISK_ID},
      result=DISK, writes=True)
def detach_disk(state, disk_id):
    disk = _get(state, "disks", disk_id)
    if disk["boot"]:
        raise ToolError(f"disk {disk['name']} is a boot disk and cannot be detached")
    if disk["attached_to"] is None:
        raise ToolError(f"disk {disk['name']} is not attached")
    disk["attached_to"] = None
    return _disk_view(state, disk_id)


@tool("Delete an unattached disk. Its snapshots are kept.", params={"disk_id": DISK_ID},
      result=_deleted("disk_id"), writes=True)
def delete_disk(state, disk_id):
    disk = _get(state, "disks", disk_id)
    if disk["attached_to"] is not None:
        raise ToolError(f"disk {disk['name']} is attached to {state['vms'][disk['attached_to']]['name']}: "
                        "detach it first")
    del state["disks"][disk_id]
    return {"deleted": disk_id}


@tool("Snapshot a disk (attached or not). The snapshot lives in the disk's region.",
      params={"disk_id": DISK_ID, "name": _name("snapshot_name", "snapshot")}, result=SNAPSHOT, writes=True)
def create_snapshot(state, disk_id, name):
    disk = _get(state, "disks", disk_id)
    _unique(state["snapshots"], name, "snapshot")
    _within_quota(state, snapshots=1)
    snapshot_id = _new_id(state, "snapshot")
    state["snapshots"][snapshot_id] = {"name": name, "disk_id": disk_id,
                                       "region": _region_of(state, disk["zone"]), "size_gb": disk["size_gb"]}
    return _snapshot_view(state, snapshot_id)


# -- firewall ---------------------------------------------------------------------------------

@tool("Allow inbound traffic on a network: a protocol and port from a source CIDR. Duplicate rules "
      "are refused.",
      params={"network_id": NETWORK_ID, "protocol": PROTOCOL, "port": PORT, "source_cidr": CIDR},
      result=RULE, writes=True)
def add_firewall_rule(state, network_id, protocol, port, source_cidr):
    _get(state, "networks", network_id)
    source = str(_cidr(source_cidr, 0, 32))
    rule = {"network_id": network_id, "protocol": protocol, "port": port, "source_cidr": source}
    if rule in state["firewall_rules"].values():
        raise ToolError(f"the network already allows {protocol}/{port} from {source}")
    rule_id = _new_id(state, "rule")
    state["firewall_rules"][rule_id] = rule
    return _rule_view(state, rule_id)


@tool("Delete a firewall rule.", params={"firewall_rule_id": RULE_ID}, result=_deleted("firewall_rule_id"),
      writes=True)
def delete_firewall_rule(state, firewall_rule_id):
    _get(state, "firewall_rules", firewall_rule_id)
    del state["firewall_rules"][firewall_rule_id]
    return {"deleted": firewall_rule_id}


TOOLS = [list_regions, list_images, list_sizes, get_quota, list_networks, find_network_by_name,
         list_subnets, get_subnet, find_vm_by_name, get_vm, list_vms, list_disks, list_snapshots,
         list_firewall_rules, create_network, delete_network, create_subnet, delete_subnet, create_vm,
         start_vm, stop_vm, resize_vm, delete_vm, assign_static_ip, release_static_ip, create_disk,
         attach_disk, detach_disk, delete_disk, create_snapshot, add_firewall_rule, delete_firewall_rule]


# -- the world --------------------------------------------------------------------------------

def _choose(rng: np.random.Generator, items, k: int) -> list:
    return [items[i] for i in rng.choice(len(items), size=k, replace=False)]


def _one(rng: np.random.Generator, items):
    return items[int(rng.integers(len(items)))]


def make_world(rng: np.random.Generator) -> dict:
    """A project built through the tools themselves, so every invariant they keep holds."""
    state = {"regions": {}, "images": {}, "networks": {}, "subnets": {}, "vms": {}, "disks": {},
             "snapshots": {}, "firewall_rules": {}, "quotas": dict(QUOTAS),
             "next_id": {**{kind: 1 for kind in PREFIX}, "ip": 10}}
    for region in _choose(rng, list(REGION_POOL), 2):
        state["regions"][region] = list(REGION_POOL[region])
    for i, image in enumerate(_choose(rng, list(IMAGE_POOL), 3), 1):
        os_name, min_gb = IMAGE_POOL[image]
        state["images"][f"img-{i}"] = {"name": image, "os": os_name, "min_disk_gb": min_gb}

    def do(t, **args):
        return t(state, args)

    regions = list(state["regions"])
    for k, name in enumerate(_choose(rng, NETWORK_NAMES, 3)):
        net = do(create_network, name=name, region=regions[k % 2] if k < 2 else _one(rng, regions),
                 cidr=f"10.{10 * (k + 1)}.0.0/16")
        for j, sub in enumerate(_choose(rng, SUBNET_NAMES, int(rng.integers(1, 3))), 1):
            do(create_subnet, network_id=net["network_id"], name=sub,
               zone=_one(rng, state["regions"][net["region"]]), cidr=f"10.{10 * (k + 1)}.{j}.0/24")
        do(add_firewall_rule, network_id=net["network_id"], protocol="tcp", port=22, source_cidr="10.0.0.0/8")
        if rng.random() < 0.5:
            do(add_firewall_rule, network_id=net["network_id"], protocol="tcp", port=443, source_cidr="0.0.0.0/0")

    # Half the projects keep their last network idle: something to tear down.
    idle = list(state["networks"])[-1] if rng.random() < 0.5 else None
    subnets = [s for s, sub in state["subnets"].items() if sub["network_id"] != idle]
    images = list(state["images"])
    for name in _choose(rng, VM_NAMES, int(rng.integers(5, 8))):
        vm = do(create_vm, name=name, subnet_id=_one(rng, subnets),
                size=_one(rng, ["small", "medium", "large"]), image_id=_one(rng, images))
        if rng.random() < 0.5:
            disk = do(create_disk, name=f"{name}-data", zone=vm["zone"], size_gb=_one(rng, DISK_SIZES))
            do(attach_disk, disk_id=disk["disk_id"], vm_id=vm["vm_id"])
            if rng.random() < 0.5:
                do(create_snapshot, disk_id=disk["disk_id"], name=f"{name}-data-snap")
        if rng.random() < 0.35:
            do(stop_vm, vm_id=vm["vm_id"])
        if rng.random() < 0.2 and _usage(state)["static_ips"] < 1:  # leave room under the quota
            do(assign_static_ip, vm_id=vm["vm_id"])
    zones = [z for zs in state["regions"].values() for z in zs]
    for name in _choose(rng, SPARE_DISKS, int(rng.integers(1, 3))):
        do(create_disk, name=name, zone=_one(rng, zones), size_gb=_one(rng, DISK_SIZES))
    return state


# -- scenario helpers: read the world, never change it -----------------------------------------

def _find(listing: Ref, key: str, **match) -> Ref:
    """The first item of ``listing[key]`` whose fields equal ``match``."""
    for item in listing[key]:
        if all(item.value[k] == v for k, v in match.items()):
            return item
    raise ScenarioError(f"no {key} item matching {match}")


def _fresh(b: TaskBuilder, candidates, table: str) -> str:
    """A name from ``candidates`` that no row of ``table`` uses yet."""
    taken = {row["name"] for row in b.state[table].values()}
    return b.pick([c for c in candidates if c not in taken])


def _network_of_subnet(b: TaskBuilder, subnet: dict) -> dict:
    return b.state["networks"][subnet["network_id"]]


def _room_for_disk(b: TaskBuilder, vm_id: str) -> bool:
    return len(_data_disks(b.state, vm_id)) < MAX_DATA_DISKS


def _attached_data_disks(b: TaskBuilder) -> list[tuple[str, dict, dict]]:
    """(disk id, disk, VM) for every attached data disk."""
    return [(d, disk, b.state["vms"][disk["attached_to"]]) for d, disk in b.state["disks"].items()
            if disk["attached_to"] is not None and not disk["boot"]]


def _free_blocks(b: TaskBuilder, network_id: str) -> list[str]:
    """/24 blocks inside the network that none of its subnets overlap."""
    taken = [ipaddress.IPv4Network(s["cidr"]) for s in b.state["subnets"].values()
             if s["network_id"] == network_id]
    network = ipaddress.IPv4Network(b.state["networks"][network_id]["cidr"])
    blocks = islice(network.subnets(new_prefix=24), 1, 40)
    return [str(x) for x in blocks if not any(x.overlaps(t) for t in taken)]


def _subnet_in(b: TaskBuilder, subnet: dict) -> Ref:
    """Gold lookup of a subnet the user names by its network: find the network, list its subnets."""
    network = b.call("find_network_by_name", name=_network_of_subnet(b, subnet)["name"])
    return _find(b.call("list_subnets", network_id=network["network_id"]), "subnets", name=subnet["name"])


def _image(b: TaskBuilder, name: str) -> Ref:
    return _find(b.call("list_images"), "images", name=name)["image_id"]


def _where(b: TaskBuilder, subnet: dict) -> str:
    return f"the {subnet['name']} subnet of the {_network_of_subnet(b, subnet)['name']} network"


# -- scenarios: one user turn each ------------------------------------------------------------

def new_network(b: TaskBuilder) -> bool:
    region = b.pick(b.state["regions"])
    name = _fresh(b, NETWORK_NAMES, "networks")
    used = [ipaddress.IPv4Network(n["cidr"]) for n in b.state["networks"].values()]
    cidr = b.pick([c for c in (f"10.{k}.0.0/16" for k in range(40, 200, 10))
                   if not any(ipaddress.IPv4Network(c).overlaps(u) for u in used)])
    b.say(b.pick(["Please create a new network called {} with the address range {}. ",
                  "We need a fresh network named {} using {}. "]).format(name, cidr))
    b.say(b.fact("region", region, "It should live in the {} region."))
    b.call("create_network", name=name, region=region, cidr=cidr)
    return True


QUOTA_WORDS = {"vms": "VMs", "vcpus": "vCPUs", "disks": "disks", "snapshots": "snapshots",
               "static_ips": "static IPs"}


def quota_headroom(b: TaskBuilder) -> bool:
    resource = b.pick(QUOTA_WORDS)
    b.say(b.pick(["How much headroom is left on our {} quota, i.e. how many more does it allow?",
                  "Quick check: how many {} do we still have available under the quota?"])
          .format(QUOTA_WORDS[resource]))
    quota = b.call("get_quota")
    b.answer(_find(quota, "quotas", resource=resource)["available"])
    return True


def power_by_id(b: TaskBuilder) -> bool:
    """The user pastes a VM id from an alert: one call, no lookup."""
    vm_id, vm = b.pick(b.state["vms"].items())
    if vm["status"] == "running":
        b.say("Monitoring says one of our VMs is stuck in a crash loop; please stop it. ")
        b.say(b.fact("VM id", vm_id, "The alert names {}."))
        b.call("stop_vm", vm_id=vm_id)
    else:
        b.say("The maintenance on a VM is finished, so please start it again. ")
        b.say(b.fact("VM id", vm_id, "Its id is {}."))
        b.call("start_vm", vm_id=vm_id)
    return True


def image_min_disk(b: TaskBuilder) -> bool:
    image = b.pick(b.state["images"].values())
    b.say(b.pick(["What's the smallest boot disk, in GB, that the {} image accepts?",
                  "How big does a boot disk for {} have to be at least?"]).format(image["name"]))
    b.answer(_find(b.call("list_images"), "images", name=image["name"])["min_disk_gb"])
    return True


def size_specs(b: TaskBuilder) -> bool:
    size = b.pick(SIZES)
    field, words = b.pick([("vcpus", "How many vCPUs does a {} VM get?"),
                           ("memory_gb", "How much memory, in GB, comes with the {} machine size?")])
    b.say(words.format(size))
    b.answer(_find(b.call("list_sizes"), "sizes", size=size)[field])
    return True


def resize(b: TaskBuilder) -> bool:
    vm = b.pick(b.state["vms"].values())
    size = b.pick([s for s in SIZES if s != vm["size"]])
    running, restart = vm["status"] == "running", bool(b.rng.random() < 0.6)
    b.say(b.pick(["Please resize one of our VMs to {}. ", "One VM needs to become {}. "]).format(size))
    b.say(b.fact("VM name", vm["name"], "It's the VM called {}. "))
    if running:
        b.say("It's running, so stop it first" +
              (" and start it again once it's resized." if restart else "; leave it stopped afterwards."))
    found = b.call("find_vm_by_name", name=vm["name"])
    if running:
        b.call("stop_vm", vm_id=found["vm_id"])
    b.call("resize_vm", vm_id=found["vm_id"], size=size)
    if running and restart:
        b.call("start_vm", vm_id=found["vm_id"])
    return True


def open_port(b: TaskBuilder) -> bool:
    port, protocol, label = b.pick(PORTS)
    source = b.pick(SOURCES)
    traffic = f"{label} traffic ({protocol} port {port}) {SOURCES[source]}"
    if b.rng.random() < 0.5:
        network = b.pick(b.state["networks"].values())
        b.say(b.pick(["Please allow {} on one of our networks. ",
                      "Open up {} on a network for me. "]).format(traffic))
        b.say(b.fact("network", network["name"], "It's the {} network."))
        network_id = b.call("find_network_by_name", name=network["name"])["network_id"]
    else:
        vm = b.pick(b.state["vms"].values())
        b.say(f"{vm['name']} has to be reachable: allow {traffic} on the network that VM is in.")
        found = b.call("find_vm_by_name", name=vm["name"])
        network_id = b.call("get_subnet", subnet_id=found["subnet_id"])["network_id"]
    b.call("add_firewall_rule", network_id=network_id, protocol=protocol, port=port, source_cidr=source)
    return True


def count_running(b: TaskBuilder) -> bool:
    # A subnet with running VMs: "0" is too easily said as "none" for the answer check.
    running = [vm for vm in b.state["vms"].values() if vm["status"] == "running"]
    subnet = b.state["subnets"][b.pick(running)["subnet_id"]]
    b.say(b.pick(["How many VMs are running right now in the {} subnet? ",
                  "Can you count the running VMs in our {} subnet? "]).format(subnet["name"]))
    b.say(b.fact("network", _network_of_subnet(b, subnet)["name"], "I mean the one in the {} network."))
    found = _subnet_in(b, subnet)
    running = b.call("list_vms", subnet_id=found["subnet_id"], status="running")
    b.answer(running["count"])
    return True


def delete_spare_disk(b: TaskBuilder) -> bool:
    disk = b.pick(d for d in b.state["disks"].values() if d["attached_to"] is None)
    b.say(b.pick(["We don't need one of our unattached disks any more; please delete it. ",
                  "Clean-up time: remove a spare disk that isn't attached to anything. "]))
    b.say(b.fact("disk name", disk["name"], "It's called {}."))
    spare = _find(b.call("list_disks", attached=False), "disks", name=disk["name"])
    b.call("delete_disk", disk_id=spare["disk_id"])
    return True


def private_ip(b: TaskBuilder) -> bool:
    vm = b.pick(b.state["vms"].values())
    b.say(b.pick(["What's the private IP address of one of our VMs? ", "I need a VM's internal IP address. "]))
    b.say(b.fact("VM name", vm["name"], "The VM is {}."))
    found = b.call("find_vm_by_name", name=vm["name"])
    b.answer(b.call("get_vm", vm_id=found["vm_id"])["private_ip"])
    return True


def static_ip(b: TaskBuilder) -> bool:
    vm = b.pick(v for v in b.state["vms"].values() if v["static_ip"] is None)
    b.say("I need a VM to keep a fixed public address. ")
    b.say(b.fact("VM name", vm["name"], "It's {}. "))
    b.say("Please assign it a static IP and tell me the address.")
    found = b.call("find_vm_by_name", name=vm["name"])
    b.answer(b.call("assign_static_ip", vm_id=found["vm_id"])["static_ip"])
    return True


def retire_vm(b: TaskBuilder) -> bool:
    vm_id, vm = b.pick(b.state["vms"].items())
    data = _data_disks(b.state, vm_id)
    purge = bool(data) and b.rng.random() < 0.5
    b.say(b.pick(["We're decommissioning {}: shut it down if needed and delete it",
                  "Please delete the VM {} (stop it first if it's running)"]).format(vm["name"]))
    if data:
        b.say(", and delete its data disks as well." if purge else ", but keep its data disks.")
    found = b.call("find_vm_by_name", name=vm["name"])
    disks = b.call("list_disks", vm_id=found["vm_id"])["disks"] if purge else []
    if vm["status"] == "running":
        b.call("stop_vm", vm_id=found["vm_id"])
    b.call("delete_vm", vm_id=found["vm_id"])
    for disk in disks:
        if not disk.value["boot"]:
            b.call("delete_disk", disk_id=disk["disk_id"])
    return True


def snapshot_data_disk(b: TaskBuilder) -> bool:
    _, disk, vm = b.pick(_attached_data_disks(b))
    tags = ("backup", "snap2", "nightly", "pre-migration")
    name = _fresh(b, [f"{disk['name']}-{tag}" for tag in tags], "snapshots")
    b.say(f"Take a snapshot of the disk {disk['name']} attached to {vm['name']}. ")
    b.say(b.fact("snapshot name", name, "Name the snapshot {}."))
    found = b.call("find_vm_by_name", name=vm["name"])
    target = _find(b.call("list_disks", vm_id=found["vm_id"]), "disks", name=disk["name"])
    b.call("create_snapshot", disk_id=target["disk_id"], name=name)
    return True


def teardown_network(b: TaskBuilder) -> bool:
    busy = {b.state["subnets"][vm["subnet_id"]]["network_id"] for vm in b.state["vms"].values()}
    network = b.pick(n for nid, n in b.state["networks"].items() if nid not in busy)
    b.say(b.pick(["We're retiring the {} network. Remove its subnets and then the network itself.",
                  "Tear down the {} network completely, subnets included."]).format(network["name"]))
    found = b.call("find_network_by_name", name=network["name"])
    for subnet in b.call("list_subnets", network_id=found["network_id"])["subnets"]:
        b.call("delete_subnet", subnet_id=subnet["subnet_id"])
    b.call("delete_network", network_id=found["network_id"])
    return True


def revoke_rule(b: TaskBuilder) -> bool:
    rule = b.pick(b.state["firewall_rules"].values())
    network = b.state["networks"][rule["network_id"]]
    b.say(f"Remove the firewall rule on the {network['name']} network that allows {rule['protocol']} "
          f"port {rule['port']} from {rule['source_cidr']}.")
    found = b.call("find_network_by_name", name=network["name"])
    listed = b.call("list_firewall_rules", network_id=found["network_id"])
    target = _find(listed, "rules", protocol=rule["protocol"], port=rule["port"], source_cidr=rule["source_cidr"])
    b.call("delete_firewall_rule", firewall_rule_id=target["firewall_rule_id"])
    return True


def add_data_disk(b: TaskBuilder) -> bool:
    vm_id, vm = b.pick((v, vm) for v, vm in b.state["vms"].items() if _room_for_disk(b, v))
    name = _fresh(b, [f"{vm['name']}-{tag}" for tag in ("data", "data2", "logs", "cache")], "disks")
    size = b.pick(DISK_SIZES)
    b.say(f"{vm['name']} is short on space. Create a blank disk called {name} in its zone and attach it. ")
    b.say(b.fact("disk size", size, "Make it {} GB."))
    found = b.call("find_vm_by_name", name=vm["name"])
    disk = b.call("create_disk", name=name, zone=found["zone"], size_gb=size)
    b.call("attach_disk", disk_id=disk["disk_id"], vm_id=found["vm_id"])
    return True


def launch_vm(b: TaskBuilder) -> bool:
    subnet = b.pick(b.state["subnets"].values())
    image = b.pick(i["name"] for i in b.state["images"].values())
    size, name = b.pick(["small", "medium", "large"]), _fresh(b, NEW_VM_NAMES, "vms")
    b.say(f"Launch a {size} VM called {name} in {_where(b, subnet)}. ")
    b.say(b.fact("image", image, "Boot it from the {} image."))
    found = _subnet_in(b, subnet)
    b.call("create_vm", name=name, subnet_id=found["subnet_id"], size=size, image_id=_image(b, image))
    return True


def move_disk(b: TaskBuilder) -> bool:
    moves = [(disk, vm, other) for d, disk, vm in _attached_data_disks(b) for o, other in b.state["vms"].items()
             if other is not vm and _vm_zone(b.state, other) == disk["zone"] and _room_for_disk(b, o)]
    disk, vm, other = b.pick(moves)
    b.say(f"Move the disk {disk['name']} from {vm['name']} over to {other['name']}.")
    source = b.call("find_vm_by_name", name=vm["name"])
    target = _find(b.call("list_disks", vm_id=source["vm_id"]), "disks", name=disk["name"])
    b.call("detach_disk", disk_id=target["disk_id"])
    receiver = b.call("find_vm_by_name", name=other["name"])
    b.call("attach_disk", disk_id=target["disk_id"], vm_id=receiver["vm_id"])
    return True


def stop_subnet(b: TaskBuilder) -> bool:
    busy = [b.state["subnets"][vm["subnet_id"]] for vm in b.state["vms"].values() if vm["status"] == "running"]
    subnet = b.pick(busy)
    b.say(b.pick(["Maintenance window: stop every running VM in {}.",
                  "Please shut down all the running VMs in {}."]).format(_where(b, subnet)))
    running = b.call("list_vms", subnet_id=_subnet_in(b, subnet)["subnet_id"], status="running")
    for vm in running["vms"]:
        b.call("stop_vm", vm_id=vm["vm_id"])
    return True


def backup_boot_disk(b: TaskBuilder) -> bool:
    """The user names a VM only by where it is: the one stopped (or running) VM of a subnet."""
    by_place = {}
    for vm in b.state["vms"].values():
        by_place.setdefault((vm["subnet_id"], vm["status"]), []).append(vm)
    (subnet_id, status), (vm,) = b.pick((k, v) for k, v in by_place.items() if len(v) == 1)
    subnet = b.state["subnets"][subnet_id]
    name = _fresh(b, [f"{vm['name']}-{tag}" for tag in ("pre-upgrade", "bak", "weekly")], "snapshots")
    b.say(f"There is exactly one {status} VM in {_where(b, subnet)}; I don't remember its name. "
          f"Snapshot its boot disk before the upgrade. ")
    b.say(b.fact("snapshot name", name, "Call the snapshot {}."))
    listed = b.call("list_vms", subnet_id=_subnet_in(b, subnet)["subnet_id"], status=status)
    details = b.call("get_vm", vm_id=listed["vms"][0]["vm_id"])
    b.call("create_snapshot", disk_id=details["boot_disk_id"], name=name)
    return True


def restore_disk(b: TaskBuilder) -> bool:
    options = [(d, disk, vm) for d, disk, vm in _attached_data_disks(b)
               if any(s["disk_id"] == d for s in b.state["snapshots"].values())]
    disk_id, disk, vm = b.pick(options)
    snapshots = [s for s in b.state["snapshots"].values() if s["disk_id"] == disk_id]
    snapshot = b.pick(snapshots)
    name = _fresh(b, [f"{disk['name']}-restored", f"{disk['name']}-v2"], "disks")
    purge = bool(b.rng.random() < 0.5)
    which = "its snapshot" if len(snapshots) == 1 else f"the snapshot {snapshot['name']}"
    b.say(f"The disk {disk['name']} on {vm['name']} is corrupted. Restore it from {which}: create a new disk "
          f"called {name} from it, detach the broken disk and attach the new one in its place")
    b.say(", then delete the broken disk." if purge else "; keep the broken disk around, detached.")
    found = b.call("find_vm_by_name", name=vm["name"])
    broken = _find(b.call("list_disks", vm_id=found["vm_id"]), "disks", name=disk["name"])
    source = _find(b.call("list_snapshots", disk_id=broken["disk_id"]), "snapshots", name=snapshot["name"])
    b.call("detach_disk", disk_id=broken["disk_id"])
    fresh = b.call("create_disk", name=name, zone=broken["zone"], snapshot_id=source["snapshot_id"])
    b.call("attach_disk", disk_id=fresh["disk_id"], vm_id=found["vm_id"])
    if purge:
        b.call("delete_disk", disk_id=broken["disk_id"])
    return True


def copy_disk(b: TaskBuilder) -> bool:
    copies = [(disk, vm, other) for _, disk, vm in _attached_data_disks(b) for o, other in b.state["vms"].items()
              if other is not vm and _room_for_disk(b, o)
              and _region_of(b.state, _vm_zone(b.state, other)) == _region_of(b.state, disk["zone"])]
    disk, vm, other = b.pick(copies)
    snap = _fresh(b, [f"{disk['name']}-copy", f"{disk['name']}-xfer"], "snapshots")
    name = _fresh(b, [f"{other['name']}-{disk['name']}", f"{disk['name']}-clone"], "disks")
    b.say(f"{other['name']} needs a copy of the data on {disk['name']} (attached to {vm['name']}). "
          f"Create a disk called {name} from a snapshot of it, in {other['name']}'s zone, and attach it to "
          f"{other['name']}. ")
    b.say(b.fact("snapshot name", snap, "Call the snapshot {}."))
    source = b.call("find_vm_by_name", name=vm["name"])
    original = _find(b.call("list_disks", vm_id=source["vm_id"]), "disks", name=disk["name"])
    snapshot = b.call("create_snapshot", disk_id=original["disk_id"], name=snap)
    target = b.call("find_vm_by_name", name=other["name"])
    copy = b.call("create_disk", name=name, zone=target["zone"], snapshot_id=snapshot["snapshot_id"])
    b.call("attach_disk", disk_id=copy["disk_id"], vm_id=target["vm_id"])
    return True


def clone_vm(b: TaskBuilder) -> bool:
    vm_id, vm = b.pick((v, vm) for v, vm in b.state["vms"].items() if len(_data_disks(b.state, v)) == 1)
    name = _fresh(b, [f"{vm['name']}-clone", f"{vm['name']}-b"], "vms")
    b.say(f"Clone {vm['name']} as a new VM called {name}: same subnet, size and image. Then give the clone a "
          f"copy of {vm['name']}'s data disk: snapshot it as {name}-seed, create a disk {name}-data from that "
          f"snapshot and attach it to {name}.")
    found = b.call("find_vm_by_name", name=vm["name"])
    details = b.call("get_vm", vm_id=found["vm_id"])
    clone = b.call("create_vm", name=name, subnet_id=found["subnet_id"], size=found["size"],
                   image_id=details["image_id"])
    seed = b.call("create_snapshot", disk_id=details["data_disk_ids"][0], name=f"{name}-seed")
    disk = b.call("create_disk", name=f"{name}-data", zone=found["zone"], snapshot_id=seed["snapshot_id"])
    b.call("attach_disk", disk_id=disk["disk_id"], vm_id=clone["vm_id"])
    return True


def new_stack(b: TaskBuilder) -> bool:
    _, disk, source_vm = b.pick(_attached_data_disks(b))
    region = _region_of(b.state, disk["zone"])
    network, vm = _fresh(b, NETWORK_NAMES, "networks"), _fresh(b, NEW_VM_NAMES, "vms")
    used = [ipaddress.IPv4Network(n["cidr"]) for n in b.state["networks"].values() if n["region"] == region]
    octet = b.pick([k for k in range(40, 200, 10)
                    if not any(ipaddress.IPv4Network(f"10.{k}.0.0/16").overlaps(u) for u in used)])
    subnet, zone = b.pick(SUBNET_NAMES), disk["zone"]
    image, size = b.pick([i["name"] for i in b.state["images"].values()]), b.pick(["small", "medium"])
    snap, copy = f"{vm}-seed", f"{vm}-data"
    b.say(f"Set up a new environment in {region}: a network {network} with range 10.{octet}.0.0/16, a subnet "
          f"{subnet} in zone {zone} with range 10.{octet}.1.0/24, and in it a {size} VM called {vm} from the "
          f"{image} image. Then give {vm} a copy of the disk {disk['name']} from {source_vm['name']}: snapshot "
          f"that disk as {snap}, create a disk {copy} from the snapshot and attach it to {vm}.")
    net = b.call("create_network", name=network, region=region, cidr=f"10.{octet}.0.0/16")
    sub = b.call("create_subnet", network_id=net["network_id"], name=subnet, zone=zone,
                 cidr=f"10.{octet}.1.0/24")
    new_vm = b.call("create_vm", name=vm, subnet_id=sub["subnet_id"], size=size, image_id=_image(b, image))
    source = b.call("find_vm_by_name", name=source_vm["name"])
    original = _find(b.call("list_disks", vm_id=source["vm_id"]), "disks", name=disk["name"])
    snapshot = b.call("create_snapshot", disk_id=original["disk_id"], name=snap)
    data = b.call("create_disk", name=copy, zone=zone, snapshot_id=snapshot["snapshot_id"])
    b.call("attach_disk", disk_id=data["disk_id"], vm_id=new_vm["vm_id"])
    return True


def golden_disk(b: TaskBuilder) -> bool:
    """Depth 6: network -> subnet -> new VM -> snapshot of its boot disk -> disk -> attach."""
    target = b.pick(vm for v, vm in b.state["vms"].items() if _room_for_disk(b, v))
    region = _region_of(b.state, _vm_zone(b.state, target))
    network_id = b.pick(n for n, net in b.state["networks"].items() if net["region"] == region)
    network = b.state["networks"][network_id]
    subnets = [s for s in b.state["subnets"].values() if s["network_id"] == network_id]
    name, image = _fresh(b, NEW_VM_NAMES, "vms"), b.pick([i["name"] for i in b.state["images"].values()])
    size = b.pick(["small", "medium"])
    snap = _fresh(b, [f"{image}-golden", f"{name}-base"], "snapshots")
    disk = _fresh(b, [f"{target['name']}-golden", f"golden-{target['name']}"], "disks")
    fresh_subnet = not subnets or b.rng.random() < 0.4
    if fresh_subnet:
        subnet_name = _fresh(b, SUBNET_NAMES + ["build", "tools"], "subnets")
        zone, block = b.pick(b.state["regions"][region]), b.pick(_free_blocks(b, network_id))
        b.say(f"In the {network['name']} network, create a subnet {subnet_name} in zone {zone} with range "
              f"{block}. Launch a {size} VM {name} there from the {image} image. ")
    else:
        subnet = b.pick(subnets)
        b.say(f"Launch a {size} VM {name} from the {image} image in {_where(b, subnet)}. ")
    b.say(f"Snapshot its boot disk, then make a disk {disk} from that snapshot in the zone of "
          f"{target['name']} and attach it to {target['name']}. ")
    b.say(b.fact("snapshot name", snap, "Name the snapshot {}."))
    if fresh_subnet:
        found = b.call("find_network_by_name", name=network["name"])
        where = b.call("create_subnet", network_id=found["network_id"], name=subnet_name, zone=zone,
                       cidr=block)
    else:
        where = _subnet_in(b, subnet)
    vm = b.call("create_vm", name=name, subnet_id=where["subnet_id"], size=size, image_id=_image(b, image))
    snapshot = b.call("create_snapshot", disk_id=vm["boot_disk_id"], name=snap)
    holder = b.call("find_vm_by_name", name=target["name"])
    copy = b.call("create_disk", name=disk, zone=holder["zone"], snapshot_id=snapshot["snapshot_id"])
    b.call("attach_disk", disk_id=copy["disk_id"], vm_id=holder["vm_id"])
    return True


SCENARIOS = [
    # depth 1-2
    new_network, quota_headroom, power_by_id, image_min_disk, size_specs, resize, open_port,
    delete_spare_disk, private_ip, static_ip, retire_vm,
    # depth 3-4
    count_running, snapshot_data_disk, teardown_network, revoke_rule, add_data_disk, launch_vm, move_disk,
    stop_subnet,
    # depth 5-6
    backup_boot_disk, restore_disk, copy_disk, clone_vm, new_stack, golden_disk,
]

# User phrasings per tool for the synthesizer; the template rules are in rods_envs/synth/phrasing.py.
PHRASES = {
    "list_regions": [
        "What is the {field} of {subject}?",
        "Among our regions, what is the {field} of {subject}?",
    ],
    "list_images": [
        "What is the {field} of {subject}?",
        "Among the machine images, what is the {field} of {subject}?",
        "Could you check the {field} of {subject} in the image list?",
    ],
    "list_sizes": [
        "What is the {field} of {subject}?",
        "Among the machine sizes, what is the {field} of {subject}?",
        "Could you look up the {field} of {subject}?",
    ],
    "get_quota": [
        "What is the {field} of {subject}?",
        "Looking at our quotas, what is the {field} of {subject}?",
        "Could you check the {field} on {subject}?",
    ],
    "list_networks": [
        "What is the {field} of {subject}?",
        "Among the networks in {region}, what is the {field} of {subject}?",
        "Which {field} does {subject} use?",
    ],
    "find_network_by_name": [
        "What is the {field} of {name}?",
        "Could you look up {name} and tell me its {field}?",
        "I need the {field} of {name}.",
    ],
    "list_subnets": [
        "What is the {field} of {subject}?",
        "In {network_id}, what is the {field} of {subject}?",
        "Among the subnets of {network_id}, what is the {field} of {subject}?",
    ],
    "get_subnet": [
        "What is the {field} of {subnet_id}?",
        "Could you tell me the {field} of {subnet_id}?",
        "Which {field} does {subnet_id} have?",
    ],
    "find_vm_by_name": [
        "What is the {field} of {name}?",
        "Could you check the {field} of {name}?",
        "I'd like to know the {field} of {name}.",
    ],
    "get_vm": [
        "What is the {field} of {vm_id}?",
        "Could you tell me the {field} of {vm_id}?",
        "What {field} does {vm_id} have?",
    ],
    "list_vms": [
        "Looking at the VMs with status {status}, what is the {field}?",
        "For the VMs in {subnet_id}, what is the {field}?",
        "Among the VMs with status {status}, what is the {field} of {subject}?",
        "What is the {field} of {subject}?",
    ],
    "list_disks": [
        "What is the {field} of {subject}?",
        "Among the disks of {vm_id}, what is the {field} of {subject}?",
        "Among the disks in {zone}, what is the {field} of {subject}?",
        "Looking at our disks, which {field} does {subject} have?",
    ],
    "list_snapshots": [
        "What is the {field} of {subject}?",
        "Among the snapshots of {disk_id}, what is the {field} of {subject}?",
        "Which {field} does {subject} have?",
    ],
    "list_firewall_rules": [
        "What is the {field} of {subject}?",
        "On {network_id}, what is the {field} of {subject}?",
        "Among the firewall rules of {network_id}, what is the {field} of {subject}?",
    ],
    "create_network": [
        "Please create a network called {name} in {region} with the range {cidr}.",
        "Set up a new network {name} in {region}, CIDR {cidr}.",
        "Could you create the network {name} ({cidr}) in {region}?",
    ],
    "delete_network": [
        "Please delete {network_id}.",
        "We no longer need {network_id}; please delete it.",
        "Could you remove {network_id}?",
    ],
    "create_subnet": [
        "In {network_id}, create a subnet {name} in {zone} with the range {cidr}.",
        "Please add a subnet called {name} to {network_id}, in {zone}, with CIDR {cidr}.",
        "Could you set up the subnet {name} ({cidr}) in {zone}, inside {network_id}?",
    ],
    "delete_subnet": [
        "Please delete {subnet_id}.",
        "Nothing uses {subnet_id} any more; please remove it.",
        "Could you delete {subnet_id} for me?",
    ],
    "create_vm": [
        "Please launch a VM called {name} in {subnet_id} from {image_id}, with size {size}.",
        "Could you create {name} in {subnet_id}? Boot it from {image_id}, with size {size}.",
        "I need a new VM, {name}, of size {size}, booted from {image_id} and placed in {subnet_id}.",
        "Spin up {name} (size {size}) from {image_id} in {subnet_id}, with a boot disk of {boot_disk_gb} GB.",
    ],
    "start_vm": [
        "Please start {vm_id}.",
        "Could you power on {vm_id}?",
        "Bring {vm_id} back up, please.",
    ],
    "stop_vm": [
        "Please stop {vm_id}.",
        "Could you shut down {vm_id}?",
        "Please shut {vm_id} down for now.",
    ],
    "resize_vm": [
        "Please resize {vm_id} to {size}.",
        "Could you change the machine size of {vm_id} to {size}?",
        "I'd like {vm_id} resized to {size}.",
    ],
    "delete_vm": [
        "Please delete {vm_id}.",
        "We're done with {vm_id}; please delete it.",
        "Could you remove {vm_id}?",
    ],
    "assign_static_ip": [
        "Please give {vm_id} a static IP.",
        "Could you assign a static public IP to {vm_id}?",
        "I need {vm_id} to keep a fixed public address; please assign it a static IP.",
    ],
    "release_static_ip": [
        "Please release the static IP of {vm_id}.",
        "Could you release the static IP on {vm_id}?",
        "Free up the static public address of {vm_id}, please.",
    ],
    "create_disk": [
        "Please create a disk called {name} in {zone}, {size_gb} GB.",
        "Create a disk {name} in {zone} from {snapshot_id}.",
        "Could you make a new disk {name} in {zone}?",
        "Make a disk {name} in {zone} from {snapshot_id}, with a size of {size_gb} GB.",
    ],
    "attach_disk": [
        "Please attach {disk_id} to {vm_id}.",
        "Could you hook {disk_id} up to {vm_id}?",
        "I'd like {disk_id} attached to {vm_id}.",
    ],
    "detach_disk": [
        "Please detach {disk_id}.",
        "Could you detach {disk_id} from its VM?",
        "Unplug {disk_id} from the VM it's attached to, please.",
    ],
    "delete_disk": [
        "Please delete {disk_id}.",
        "Could you remove {disk_id}? It isn't needed any more.",
        "Get rid of {disk_id}, please.",
    ],
    "create_snapshot": [
        "Please snapshot {disk_id} as {name}.",
        "Take a snapshot of {disk_id} and call it {name}.",
        "Could you create a snapshot named {name} of {disk_id}?",
    ],
    "add_firewall_rule": [
        "On {network_id}, allow {protocol} port {port} from {source_cidr}.",
        "Please open {protocol} port {port} on {network_id} for traffic from {source_cidr}.",
        "Could you add a firewall rule to {network_id} allowing {protocol} on port {port} from {source_cidr}?",
    ],
    "delete_firewall_rule": [
        "Please delete {firewall_rule_id}.",
        "Could you remove {firewall_rule_id}?",
        "That rule isn't needed any more: delete {firewall_rule_id}, please.",
    ],
}

DOMAIN = Domain(
    name="cloudops",
    description="Operating a small cloud project: networks, subnets, VMs, disks, snapshots, firewall rules.",
    tools=TOOLS,
    make_world=make_world,
    scenarios=SCENARIOS,
    phrases=PHRASES,
)
