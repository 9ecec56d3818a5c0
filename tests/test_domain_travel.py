"""The travel domain: its fare rules refuse what they must, refusals change nothing, results are
fresh JSON matching their schemas, and every scenario builds tasks whose gold plans replay."""

import copy
import json

import jsonschema
import numpy as np
import pytest

from rods_envs.builder import TaskBuilder
from rods_envs.domains.travel import DOMAIN, make_world
from rods_envs.task import Task
from rods_envs.tool import ToolError
from tool_checks import checked_call, refused_call

TOOLS = DOMAIN.tools


def call(state, name, **args):
    return checked_call(TOOLS, state, name, **args)


def refused(state, name, match, **args):
    return refused_call(TOOLS, state, name, match=match, **args)


@pytest.fixture
def world():
    return make_world(np.random.default_rng(3))


def user_with(state, kind):
    for user in state["users"].values():
        for m in user["payment_methods"].values():
            if m["kind"] == kind:
                return user, m
    pytest.skip(f"no {kind} in this world")


def book(state, cabin, insurance=False, passengers=("Ann Lee",), kind="credit_card", flight=None):
    user, method = user_with(state, kind)
    flight = flight or next(iter(state["flights"]))
    if kind == "certificate":
        method["balance"] = 5000.0  # enough for any fare in this test
    r = call(state, "book_reservation", user_id=user["user_id"], flight_number=flight, cabin=cabin,
             passengers=list(passengers), payment_id=method["payment_id"], insurance=insurance)
    return r["reservation_id"], user, method


def sibling(state, flight_number):
    """Another flight on the same route, if the world has one."""
    f = state["flights"][flight_number]
    for other in state["flights"].values():
        if other is not f and (other["origin"], other["destination"]) == (f["origin"], f["destination"]):
            return other["flight_number"]
    pytest.skip("no second flight on this route")


def test_worlds_are_small_deterministic_json():
    for seed in range(40):
        a, b = make_world(np.random.default_rng(seed)), make_world(np.random.default_rng(seed))
        assert a == b and json.loads(json.dumps(a)) == a
        assert len(json.dumps(a)) <= 6000


def test_booking_charges_fare_and_insurance(world):
    flight = next(iter(world["flights"].values()))
    rid, user, method = book(world, "economy", insurance=True, passengers=("Ann Lee", "Bo Kim"))
    r = call(world, "get_reservation", reservation_id=rid)
    assert r["status"] == "booked" and r["passengers"] == ["Ann Lee", "Bo Kim"]
    assert [p["amount"] for p in r["payments"]] == [2 * flight["fares"]["economy"], 60.0]
    assert world["counters"]["reservation"] == int(rid[1:])


def test_booking_rules(world):
    user, cert = user_with(world, "certificate")
    flight = next(iter(world["flights"]))
    cert["balance"] = 10.0
    refused(world, "book_reservation", "not enough", user_id=user["user_id"], flight_number=flight,
            cabin="economy", passengers=["Ann Lee"], payment_id=cert["payment_id"], insurance=False)
    other = next(u for u in world["users"].values() if u["user_id"] != user["user_id"])
    refused(world, "book_reservation", "does not belong", user_id=other["user_id"], flight_number=flight,
            cabin="economy", passengers=["Ann Lee"], payment_id=cert["payment_id"], insurance=False)
    refused(world, "book_reservation", "distinct", user_id=user["user_id"], flight_number=flight,
            cabin="economy", passengers=["Ann Lee", "ann  lee"], payment_id=cert["payment_id"], insurance=False)


def test_basic_economy_has_no_seats_no_changes_and_no_refund(world):
    rid, _, _ = book(world, "basic_economy")
    flight = world["reservations"][rid]["flight_number"]
    refused(world, "select_seat", "seat selection", reservation_id=rid, passenger="Ann Lee", seat="5A")
    refused(world, "change_flight", "cannot be changed", reservation_id=rid, flight_number=sibling(world, flight))
    refused(world, "cancel_reservation", "non-refundable", reservation_id=rid)


def test_insured_basic_economy_refunds_all_but_the_insurance(world):
    rid, _, method = book(world, "basic_economy", insurance=True, kind="certificate")
    fare = world["reservations"][rid]["fare"]
    balance = method["balance"]
    done = call(world, "cancel_reservation", reservation_id=rid)
    assert done["refunds"] == [{"payment_id": method["payment_id"], "amount": fare}]
    assert method["balance"] == balance + fare  # back to the certificate that paid


def test_cancelled_reservations_cannot_be_changed(world):
    rid, user, method = book(world, "economy")
    call(world, "cancel_reservation", reservation_id=rid)
    pid = method["payment_id"]
    for name, args in [("cancel_reservation", {}), ("add_baggage", {"bags": 1, "payment_id": pid}),
                       ("select_seat", {"passenger": "Ann Lee", "seat": "5A"}),
                       ("upgrade_cabin", {"cabin": "business", "payment_id": pid}),
                       ("quote_upgrade", {"cabin": "business"})]:
        refused(world, name, "cancelled", reservation_id=rid, **args)


def test_seat_selection(world):
    rid, _, _ = book(world, "economy")
    flight = world["flights"][world["reservations"][rid]["flight_number"]]
    seats = call(world, "get_seat_map", flight_number=flight["flight_number"], cabin="economy")["seats"]
    free = [s["seat"] for s in seats if s["available"]]
    refused(world, "select_seat", "not in the economy cabin", reservation_id=rid, passenger="Ann Lee", seat="1A")
    if flight["taken"] and flight["taken"][-1][0] != "1" and flight["taken"][-1][0] != "2":
        refused(world, "select_seat", "taken", reservation_id=rid, passenger="Ann Lee", seat=flight["taken"][-1])
    refused(world, "select_seat", "not a passenger", reservation_id=rid, passenger="Nobody", seat=free[0])
    call(world, "select_seat", reservation_id=rid, passenger="ann lee", seat=free[0])
    call(world, "select_seat", reservation_id=rid, passenger="Ann Lee", seat=free[1])
    assert free[1] in flight["taken"] and free[0] not in flight["taken"]  # the old seat is freed
    assert world["reservations"][rid]["seats"] == {"Ann Lee": free[1]}


def test_baggage_allowance_and_fees(world):
    rid, user, card = book(world, "business", passengers=("Ann Lee", "Bo Kim"))
    tier_bonus = {"regular": 0, "silver": 1, "gold": 2}[user["membership"]]
    free = call(world, "get_baggage_allowance", reservation_id=rid)["free_bags"]
    assert free == 2 * (2 + tier_bonus)
    if free < 6:
        refused(world, "add_baggage", "credit card", reservation_id=rid, bags=6 - free + 0)
        done = call(world, "add_baggage", reservation_id=rid, bags=6, payment_id=card["payment_id"])
        assert done["fee"] == 35.0 * (6 - free)
    else:
        assert call(world, "add_baggage", reservation_id=rid, bags=6)["fee"] == 0.0
    refused(world, "add_baggage", "at most 3", reservation_id=rid, bags=1, payment_id=card["payment_id"])


def test_certificates_do_not_pay_for_bags(world):
    rid, user, cert = book(world, "basic_economy", kind="certificate")
    user["membership"] = "regular"  # so that even the first bag costs
    refused(world, "add_baggage", "fares only", reservation_id=rid, bags=1, payment_id=cert["payment_id"])


def test_upgrades_pay_the_fare_difference(world):
    rid, _, card = book(world, "economy", passengers=("Ann Lee", "Bo Kim"))
    fares = world["flights"][world["reservations"][rid]["flight_number"]]["fares"]
    expected = round(2 * (fares["business"] - fares["economy"]), 2)
    assert call(world, "quote_upgrade", reservation_id=rid, cabin="business")["cost"] == expected
    refused(world, "upgrade_cabin", "not a higher cabin", reservation_id=rid, cabin="basic_economy",
            payment_id=card["payment_id"])
    assert call(world, "upgrade_cabin", reservation_id=rid, cabin="business",
                payment_id=card["payment_id"])["charged"] == expected
    assert world["reservations"][rid]["cabin"] == "business"


def test_flight_changes_keep_the_route_and_settle_the_difference(world):
    rid, _, card = book(world, "economy")
    r = world["reservations"][rid]
    other = sibling(world, r["flight_number"])
    elsewhere = next(f for f in world["flights"].values()
                     if (f["origin"], f["destination"]) != (world["flights"][r["flight_number"]]["origin"],
                                                            world["flights"][r["flight_number"]]["destination"]))
    refused(world, "change_flight", "keep the route", reservation_id=rid, flight_number=elsewhere["flight_number"])
    difference = world["flights"][other]["fares"]["economy"] - r["fare"]
    if difference > 0:
        refused(world, "change_flight", "payment_id", reservation_id=rid, flight_number=other)
    done = call(world, "change_flight", reservation_id=rid, flight_number=other, payment_id=card["payment_id"])
    assert done["fare_difference"] == difference and r["flight_number"] == other
    if difference < 0:  # refunded to the card that paid the fare
        assert r["payments"][-1] == {"payment_id": card["payment_id"], "amount": difference, "item": "refund"}


def _pool(state, schema, rng):
    """A schema-valid value for one parameter: mostly real world values, sometimes junk."""
    semantic, kind = schema.get("x-semantic"), schema["type"]
    if "enum" in schema:
        return str(rng.choice(schema["enum"]))
    if kind == "boolean":
        return bool(rng.random() < 0.5)
    if kind == "integer":
        return int(rng.integers(schema.get("minimum", -3), 12))
    if kind == "array":
        return [_pool(state, schema["items"], rng) for _ in range(int(rng.integers(1, 4)))]
    real = {"user_id": list(state["users"]), "email": [u["email"] for u in state["users"].values()],
            "airport_code": list(state["airports"]), "flight_number": list(state["flights"]),
            "date": sorted({f["date"] for f in state["flights"].values()}),
            "reservation_id": list(state["reservations"]), "seat": ["1A", "3B", "5D", "8C", "9A"],
            "payment_id": [m for u in state["users"].values() for m in u["payment_methods"]],
            "passenger_name": [p for r in state["reservations"].values() for p in r["passengers"]]}
    options = real.get(semantic, []) + ["", " ", "x", "\u00e9\u00e9", "R9999"]
    return str(rng.choice(options)) if rng.random() < 0.8 or not real.get(semantic) else options[0]


def test_tools_refuse_cleanly_and_return_fresh_json():
    rng = np.random.default_rng(0)
    for seed in range(6):
        state = make_world(np.random.default_rng(seed))
        for _ in range(400):
            t = TOOLS[str(rng.choice(list(TOOLS)))]
            props = t.parameters["properties"]
            args = {k: _pool(state, s, rng) for k, s in props.items()
                    if k in t.parameters["required"] or rng.random() < 0.5}
            if t.validator.error(args) is not None:
                continue
            before = copy.deepcopy(state)
            try:
                result = t(state, args)
            except ToolError:
                assert state == before, f"refused {t.name}({args}) changed the state"
                continue
            jsonschema.validate(json.loads(json.dumps(result)), t.result)
            after = copy.deepcopy(state)
            _scramble(result)
            assert state == after, f"{t.name} returned part of the state"


def _scramble(value):
    if isinstance(value, dict):
        for v in value.values():
            _scramble(v)
        value["__scrambled__"] = True
    elif isinstance(value, list):
        for v in value:
            _scramble(v)
        value.append("__scrambled__")


def test_scenarios_build_replayable_tasks():
    rng = np.random.default_rng(7)
    built = {s.__name__: 0 for s in DOMAIN.scenarios}
    depths = set()
    for i in range(25):
        world = make_world(rng)
        for s in DOMAIN.scenarios:
            built[s.__name__] += TaskBuilder(DOMAIN, world, rng).add_turn(s, withhold=bool(rng.random() < 0.3))
        b = TaskBuilder(DOMAIN, world, rng)
        for s in DOMAIN.scenarios:
            b.add_turn(s, withhold=bool(rng.random() < 0.3))
        task = Task.from_dict(b.record(f"travel-{i}"))
        assert len(task.gold.states) == len(task.turns)
        depths.add(task.signature["depth"])
    assert all(n >= 20 for n in built.values()), built
    assert depths & {3, 4, 5}
