"""Travel: an airline's reservation desk.

### Description
The agent serves travellers of a small airline that flies a few routes between four airports over
three days. It searches flights, books reservations, picks seats, adds bags, changes flights,
upgrades cabins and cancels trips, within the airline's fare rules. A traveller speaks over 2 to
5 turns and may hold back a detail (a user id, an email, a reservation id) until the agent asks.

### Tools
| tool | kind | rule |
|---|---|---|
| list_airports | read | the airports served, with their cities |
| search_flights | read | flights from an origin to a destination on a date, earliest first |
| get_flight | read | |
| find_user_by_email | read | |
| get_user | read | profile, membership tier and payment methods (cards, travel certificates) |
| list_reservations | read | a user's reservations, oldest first |
| get_reservation | read | |
| book_reservation | write | 1-4 distinct passengers; the payment method must be the user's own; a certificate must cover the whole amount; insurance costs 30 per passenger |
| get_seat_map | read | business is rows 1-2, economy (and basic economy) rows 3-8; A and D are windows |
| select_seat | write | not for basic economy; a free seat in the reservation's own cabin |
| get_baggage_allowance | read | free bags per passenger: 0/1/2 by cabin, plus 0/1/2 for regular/silver/gold |
| add_baggage | write | at most 3 bags per passenger; extra bags cost 35 each, paid by credit card only |
| change_flight | write | not for basic economy; same route only; fare difference charged, or refunded to the original method; seats are released |
| quote_upgrade | read | the fare difference to a higher cabin |
| upgrade_cabin | write | only to a higher cabin; pays the fare difference; seats are released |
| cancel_reservation | write | basic economy only with travel insurance; everything but the insurance is refunded to the methods that paid it |

Every write refuses a cancelled reservation: cancelled reservations cannot be changed.

### State
``airports`` by code, ``flights`` by flight number (fares per cabin and the seats taken),
``users`` by id (with their ``payment_methods``), ``reservations`` by id (passengers, cabin, fare
per passenger, seats, checked bags, every payment and refund) and ``counters`` for new ids.

### Tasks
Scenarios, one user turn each: ``book_flight``, ``flights_between``, ``flight_schedule``,
``add_bags``, ``choose_seat``, ``seat_by_number``, ``cancel_trip``, ``upgrade_quote``,
``upgrade``, ``move_to_flight``, ``bag_allowance``, ``certificate_balance``. Their gold plans are
1 to 4 generations deep.

### Reward
After each user turn the airline's state must equal the gold state and any value the traveller
asked for must have been told; progress is the fraction of turns passed, the outcome is 1 when
every turn passes.

### Episode end
When the last turn is judged, when the agent gives up, or on the environment's step budget.

### Arguments
``make_world(rng)`` builds the airline from a ``numpy.random.Generator``.
"""

from __future__ import annotations

import numpy as np

from ..builder import TaskBuilder
from ..domain import Domain
from ..tool import ToolError, arg, arr, obj, require, tool

AIRPORTS = {"JFK": "New York", "LAX": "Los Angeles", "SFO": "San Francisco", "ORD": "Chicago",
            "BOS": "Boston", "SEA": "Seattle", "MIA": "Miami", "DEN": "Denver"}
FIRST = ["Ava", "Noah", "Mia", "Liam", "Zoe", "Omar", "Yara", "Ivan", "Lena", "Kofi", "Sara", "Theo"]
LAST = ["Garcia", "Chen", "Okafor", "Novak", "Silva", "Ito", "Haddad", "Kowalski", "Moreau", "Patel"]
TIERS = ["regular", "silver", "gold"]

CABINS = ["basic_economy", "economy", "business"]
CABIN_WORDS = {"basic_economy": "basic economy", "economy": "economy", "business": "business class"}
CABIN_BAGS = {"basic_economy": 0, "economy": 1, "business": 2}
TIER_BAGS = {"regular": 0, "silver": 1, "gold": 2}
BAG_FEE = 35.0
MAX_BAGS_PER_PASSENGER = 3
INSURANCE_PER_PASSENGER = 30.0

# One cabin layout for every aircraft: four seats a row, windows at A and D.
ROWS = {"business": range(1, 3), "economy": range(3, 9)}
POSITIONS = {"A": "window", "B": "aisle", "C": "aisle", "D": "window"}
SEATS = {section: [f"{row}{letter}" for row in rows for letter in POSITIONS] for section, rows in ROWS.items()}

USER = arg("user_id", "string", "A user id such as 'mia_chen_42'.")
EMAIL = arg("email", "string", "The user's email address.")
CODE = arg("airport_code", "string", "A three-letter airport code such as 'JFK'.")
DATE = arg("date", "string", "A date as YYYY-MM-DD.")
FLIGHT = arg("flight_number", "string", "A flight number such as 'TR123'.")
CABIN = arg("cabin", "string", "The cabin (fare class).", enum=CABINS)
RESERVATION = arg("reservation_id", "string", "A reservation id such as 'R1003'.")
PAYMENT = arg("payment_id", "string", "A payment method id such as 'pm_2'.")
PASSENGER = arg("passenger_name", "string", "A passenger's full name.", minLength=1)
SEAT = arg("seat", "string", "A seat such as '4A'.")
MONEY = arg("amount", "number", "An amount in dollars.")
TIME = arg(None, "string", "A local time as HH:MM.")
FARES = obj(basic_economy=MONEY, economy=MONEY, business=MONEY)
FLIGHT_VIEW = obj(flight_number=FLIGHT, origin=CODE, destination=CODE, date=DATE, depart=TIME,
                  arrive=TIME, fares=FARES)
RESERVATION_VIEW = obj(
    reservation_id=RESERVATION, user_id=USER, flight_number=FLIGHT, origin=CODE, destination=CODE,
    date=DATE, cabin=CABIN, passengers=arr(PASSENGER), fare=MONEY, insurance=arg(None, "boolean"),
    checked_bags=arg("bag_count", "integer"), seats=arr(obj(passenger=PASSENGER, seat=SEAT)),
    payments=arr(obj(payment_id=PAYMENT, amount=MONEY, item=arg(None, "string"))),
    status=arg("reservation_status"))


def _money(x: float) -> float:
    return round(float(x), 2)


def _flight_view(f: dict) -> dict:
    return {k: f[k] for k in ("flight_number", "origin", "destination", "date", "depart", "arrive")} | {
        "fares": dict(f["fares"])}


def _reservation_view(state: dict, r: dict) -> dict:
    flight = state["flights"][r["flight_number"]]
    return {"reservation_id": r["reservation_id"], "user_id": r["user_id"], "flight_number": r["flight_number"],
            "origin": flight["origin"], "destination": flight["destination"], "date": flight["date"],
            "cabin": r["cabin"], "passengers": list(r["passengers"]), "fare": r["fare"],
            "insurance": r["insurance"], "checked_bags": r["checked_bags"],
            "seats": [{"passenger": p, "seat": r["seats"][p]} for p in r["passengers"] if p in r["seats"]],
            "payments": [dict(p) for p in r["payments"]], "status": r["status"]}


def _booked(state: dict, reservation_id: str) -> dict:
    r = require(state["reservations"], reservation_id, "reservation")
    if r["status"] != "booked":
        raise ToolError(f"reservation {reservation_id} is {r['status']}: cancelled reservations cannot be changed")
    return r


def _method(state: dict, user_id: str, payment_id: str, amount: float, fares_only: bool = True) -> dict:
    """The user's payment method for ``amount``, checked but not yet charged."""
    method = state["users"][user_id]["payment_methods"].get(payment_id)
    if method is None:
        raise ToolError(f"payment method {payment_id!r} does not belong to user {user_id}")
    if method["kind"] == "certificate":
        if not fares_only:
            raise ToolError("travel certificates pay for fares only; use a credit card")
        if method["balance"] < amount:
            raise ToolError(f"certificate {payment_id} has {method['balance']:.2f} left, not enough for {amount:.2f}")
    return method


def _charge(r: dict, method: dict, amount: float, item: str) -> None:
    if method["kind"] == "certificate":
        method["balance"] = _money(method["balance"] - amount)
    r["payments"].append({"payment_id": method["payment_id"], "amount": _money(amount), "item": item})


def _refund(state: dict, r: dict, payment_id: str, amount: float) -> None:
    """Money goes back to the method that paid it; a certificate gets its balance back."""
    method = state["users"][r["user_id"]]["payment_methods"][payment_id]
    if method["kind"] == "certificate":
        method["balance"] = _money(method["balance"] + amount)
    r["payments"].append({"payment_id": payment_id, "amount": _money(-amount), "item": "refund"})


def _release_seats(state: dict, r: dict) -> None:
    taken = state["flights"][r["flight_number"]]["taken"]
    for seat in r["seats"].values():
        taken.remove(seat)
    r["seats"] = {}


def _free_bags(state: dict, r: dict) -> int:
    tier = state["users"][r["user_id"]]["membership"]
    return len(r["passengers"]) * (CABIN_BAGS[r["cabin"]] + TIER_BAGS[tier])


def _section(cabin: str) -> str:
    return "business" if cabin == "business" else "economy"


def _upgrade_cost(state: dict, r: dict, cabin: str) -> float:
    if CABINS.index(cabin) <= CABINS.index(r["cabin"]):
        raise ToolError(f"{cabin} is not a higher cabin than {r['cabin']}")
    fare = state["flights"][r["flight_number"]]["fares"][cabin]
    return _money((fare - r["fare"]) * len(r["passengers"]))


# -- tools -------------------------------------------------------------------------------------

@tool("List the airports the airline serves.", params={},
      result=obj(airports=arr(obj(code=CODE, city=arg("city", "string")))))
def list_airports(state):
    return {"airports": [dict(a) for a in state["airports"].values()]}


@tool("Search flights from an origin to a destination on a date, earliest departure first.",
      params={"origin": CODE, "destination": CODE, "date": DATE},
      result=obj(flights=arr(obj(flight_number=FLIGHT, depart=TIME, arrive=TIME, fares=FARES))))
def search_flights(state, origin, destination, date):
    origin, destination = origin.strip().upper(), destination.strip().upper()
    for code in (origin, destination):
        if code not in state["airports"]:
            raise ToolError(f"unknown airport code {code!r}; served: {', '.join(state['airports'])}")
    found = [f for f in state["flights"].values()
             if (f["origin"], f["destination"], f["date"]) == (origin, destination, date.strip())]
    return {"flights": [{"flight_number": f["flight_number"], "depart": f["depart"], "arrive": f["arrive"],
                         "fares": dict(f["fares"])} for f in sorted(found, key=lambda f: f["depart"])]}


@tool("Get a flight's route, date, times and fares per cabin.", params={"flight_number": FLIGHT},
      result=FLIGHT_VIEW)
def get_flight(state, flight_number):
    return _flight_view(require(state["flights"], flight_number.strip().upper(), "flight"))


@tool("Find a user's id from their email address.", params={"email": EMAIL}, result=obj(user_id=USER))
def find_user_by_email(state, email):
    for user in state["users"].values():
        if user["email"] == email.strip().lower():
            return {"user_id": user["user_id"]}
    raise ToolError(f"no user with email {email!r}")


@tool("Get a user's profile: name, membership tier and payment methods (credit cards, and travel "
      "certificates with their balance).", params={"user_id": USER},
      result=obj(user_id=USER, name=PASSENGER, email=EMAIL, membership=arg("membership", "string", enum=TIERS),
                 payment_methods=arr(obj(payment_id=PAYMENT, kind=arg(None, "string"),
                                         last4=arg(None, "string"), balance=MONEY))))
def get_user(state, user_id):
    u = require(state["users"], user_id, "user")
    return {"user_id": user_id, "name": u["name"], "email": u["email"], "membership": u["membership"],
            "payment_methods": [dict(m) for m in u["payment_methods"].values()]}


@tool("List a user's reservations, oldest first.", params={"user_id": USER},
      result=obj(reservations=arr(obj(reservation_id=RESERVATION, flight_number=FLIGHT, origin=CODE,
                                      destination=CODE, date=DATE, cabin=CABIN,
                                      status=arg("reservation_status")))))
def list_reservations(state, user_id):
    require(state["users"], user_id, "user")
    keys = ("reservation_id", "flight_number", "origin", "destination", "date", "cabin", "status")
    return {"reservations": [{k: v for k, v in _reservation_view(state, r).items() if k in keys}
                             for r in state["reservations"].values() if r["user_id"] == user_id]}


@tool("Get a reservation: flight, cabin, passengers, seats, bags, payments and status.",
      params={"reservation_id": RESERVATION}, result=RESERVATION_VIEW)
def get_reservation(state, reservation_id):
    return _reservation_view(state, require(state["reservations"], reservation_id, "reservation"))


@tool("Book a flight for 1-4 passengers in one cabin, paid with one of the user's payment methods. "
      "Travel insurance (30.00 per passenger) makes even basic economy refundable.",
      params={"user_id": USER, "flight_number": FLIGHT, "cabin": CABIN,
              "passengers": arr(PASSENGER, minItems=1, maxItems=4), "payment_id": PAYMENT,
              "insurance": arg(None, "boolean", "Buy travel insurance.")},
      result=obj(reservation_id=RESERVATION, status=arg("reservation_status"), charged=MONEY), writes=True)
def book_reservation(state, user_id, flight_number, cabin, passengers, payment_id, insurance):
    require(state["users"], user_id, "user")
    flight = require(state["flights"], flight_number.strip().upper(), "flight")
    names = [" ".join(p.split()) for p in passengers]
    if not all(names) or len({n.lower() for n in names}) != len(names):
        raise ToolError("passenger names must be distinct and not blank")
    fares = _money(flight["fares"][cabin] * len(names))
    cover = _money(len(names) * INSURANCE_PER_PASSENGER) if insurance else 0.0
    method = _method(state, user_id, payment_id, _money(fares + cover))
    state["counters"]["reservation"] += 1
    rid = f"R{state['counters']['reservation']}"
    r = {"reservation_id": rid, "user_id": user_id, "flight_number": flight["flight_number"], "cabin": cabin,
         "passengers": names, "fare": flight["fares"][cabin], "insurance": insurance, "checked_bags": 0,
         "seats": {}, "payments": [], "status": "booked"}
    _charge(r, method, fares, "fare")
    if insurance:
        _charge(r, method, cover, "insurance")
    state["reservations"][rid] = r
    return {"reservation_id": rid, "status": "booked", "charged": _money(fares + cover)}


@tool("Get the seat map of a flight's cabin (basic economy sits in the economy rows): every seat, "
      "front to back, with its position and whether it is free.",
      params={"flight_number": FLIGHT, "cabin": CABIN},
      result=obj(flight_number=FLIGHT, cabin=CABIN, seats=arr(obj(
          seat=SEAT, position=arg(None, "string", enum=["window", "aisle"]), available=arg(None, "boolean")))))
def get_seat_map(state, flight_number, cabin):
    flight = require(state["flights"], flight_number.strip().upper(), "flight")
    return {"flight_number": flight["flight_number"], "cabin": cabin,
            "seats": [{"seat": s, "position": POSITIONS[s[-1]], "available": s not in flight["taken"]}
                      for s in SEATS[_section(cabin)]]}


@tool("Give a passenger of a reservation a free seat in the reservation's cabin (moving them if they "
      "already have one). Basic economy fares do not include seat selection.",
      params={"reservation_id": RESERVATION, "passenger": PASSENGER, "seat": SEAT},
      result=obj(reservation_id=RESERVATION, passenger=PASSENGER, seat=SEAT), writes=True)
def select_seat(state, reservation_id, passenger, seat):
    r = _booked(state, reservation_id)
    if r["cabin"] == "basic_economy":
        raise ToolError("basic economy fares do not include seat selection")
    name = next((p for p in r["passengers"] if p.lower() == " ".join(passenger.split()).lower()), None)
    if name is None:
        raise ToolError(f"{passenger!r} is not a passenger on {reservation_id}")
    seat = seat.strip().upper()
    if seat not in SEATS[_section(r["cabin"])]:
        raise ToolError(f"seat {seat} is not in the {r['cabin']} cabin")
    taken = state["flights"][r["flight_number"]]["taken"]
    if seat in taken:
        raise ToolError(f"seat {seat} is taken")
    if name in r["seats"]:
        taken.remove(r["seats"][name])
    r["seats"][name] = seat
    taken.append(seat)
    taken.sort()
    return {"reservation_id": reservation_id, "passenger": name, "seat": seat}


@tool("How many checked bags a reservation carries for free (by cabin and the user's membership) and "
      "how many it has.", params={"reservation_id": RESERVATION},
      result=obj(reservation_id=RESERVATION, free_bags=arg("bag_count", "integer"),
                 checked_bags=arg("bag_count", "integer"), extra_bag_fee=MONEY))
def get_baggage_allowance(state, reservation_id):
    r = require(state["reservations"], reservation_id, "reservation")
    return {"reservation_id": reservation_id, "free_bags": _free_bags(state, r),
            "checked_bags": r["checked_bags"], "extra_bag_fee": BAG_FEE}


@tool("Add checked bags to a reservation (at most 3 per passenger). Bags beyond the free allowance "
      "cost 35.00 each, paid with one of the user's credit cards (payment_id is needed only then).",
      params={"reservation_id": RESERVATION, "bags": arg("bag_count", "integer", "Bags to add.", minimum=1),
              "payment_id": PAYMENT},
      optional=("payment_id",),
      result=obj(reservation_id=RESERVATION, checked_bags=arg("bag_count", "integer"),
                 free_bags=arg("bag_count", "integer"), fee=MONEY), writes=True)
def add_baggage(state, reservation_id, bags, payment_id=None):
    r = _booked(state, reservation_id)
    total = r["checked_bags"] + bags
    if total > MAX_BAGS_PER_PASSENGER * len(r["passengers"]):
        raise ToolError(f"at most {MAX_BAGS_PER_PASSENGER} checked bags per passenger")
    free = _free_bags(state, r)
    fee = _money(BAG_FEE * (max(0, total - free) - max(0, r["checked_bags"] - free)))
    method = None
    if fee > 0:
        if payment_id is None:
            raise ToolError(f"the extra bags cost {fee:.2f}: give a credit card payment_id")
        method = _method(state, r["user_id"], payment_id, fee, fares_only=False)
    r["checked_bags"] = total
    if method is not None:
        _charge(r, method, fee, "bags")
    return {"reservation_id": reservation_id, "checked_bags": total, "free_bags": free, "fee": fee}


@tool("Move a reservation to another flight on the same route, same cabin (not allowed for basic "
      "economy). A higher fare is charged to payment_id; a lower one is refunded to the original "
      "payment method. Seats are released.",
      params={"reservation_id": RESERVATION, "flight_number": FLIGHT, "payment_id": PAYMENT},
      optional=("payment_id",),
      result=obj(reservation_id=RESERVATION, flight_number=FLIGHT, fare_difference=MONEY), writes=True)
def change_flight(state, reservation_id, flight_number, payment_id=None):
    r = _booked(state, reservation_id)
    if r["cabin"] == "basic_economy":
        raise ToolError("basic economy reservations cannot be changed")
    new = require(state["flights"], flight_number.strip().upper(), "flight")
    old = state["flights"][r["flight_number"]]
    if new is old:
        raise ToolError(f"the reservation is already on {old['flight_number']}")
    if (new["origin"], new["destination"]) != (old["origin"], old["destination"]):
        raise ToolError(f"flight changes must keep the route {old['origin']}-{old['destination']}")
    difference = _money((new["fares"][r["cabin"]] - r["fare"]) * len(r["passengers"]))
    method = None
    if difference > 0:
        if payment_id is None:
            raise ToolError(f"the new flight costs {difference:.2f} more: give a payment_id")
        method = _method(state, r["user_id"], payment_id, difference)
    _release_seats(state, r)
    r["flight_number"], r["fare"] = new["flight_number"], new["fares"][r["cabin"]]
    if method is not None:
        _charge(r, method, difference, "change")
    elif difference < 0:
        _refund(state, r, r["payments"][0]["payment_id"], -difference)
    return {"reservation_id": reservation_id, "flight_number": new["flight_number"], "fare_difference": difference}


@tool("Quote what upgrading a reservation to a higher cabin would cost (the fare difference for all "
      "passengers). Changes nothing.", params={"reservation_id": RESERVATION, "cabin": CABIN},
      result=obj(reservation_id=RESERVATION, cabin=CABIN, cost=MONEY))
def quote_upgrade(state, reservation_id, cabin):
    r = _booked(state, reservation_id)
    return {"reservation_id": reservation_id, "cabin": cabin, "cost": _upgrade_cost(state, r, cabin)}


@tool("Upgrade a reservation to a higher cabin on the same flight, paying the fare difference for all "
      "passengers. Seats are released.",
      params={"reservation_id": RESERVATION, "cabin": CABIN, "payment_id": PAYMENT},
      result=obj(reservation_id=RESERVATION, cabin=CABIN, charged=MONEY), writes=True)
def upgrade_cabin(state, reservation_id, cabin, payment_id):
    r = _booked(state, reservation_id)
    cost = _upgrade_cost(state, r, cabin)
    method = _method(state, r["user_id"], payment_id, cost)
    _release_seats(state, r)
    r["cabin"], r["fare"] = cabin, state["flights"][r["flight_number"]]["fares"][cabin]
    _charge(r, method, cost, "upgrade")
    return {"reservation_id": reservation_id, "cabin": cabin, "charged": cost}


@tool("Cancel a reservation. Basic economy is refundable only with travel insurance. Everything paid "
      "except the insurance goes back to the methods that paid it.",
      params={"reservation_id": RESERVATION},
      result=obj(reservation_id=RESERVATION, status=arg("reservation_status"),
                 refunds=arr(obj(payment_id=PAYMENT, amount=MONEY)), refund_total=MONEY), writes=True)
def cancel_reservation(state, reservation_id):
    r = _booked(state, reservation_id)
    if r["cabin"] == "basic_economy" and not r["insurance"]:
        raise ToolError("basic economy fares are non-refundable without travel insurance: cannot cancel")
    paid: dict[str, float] = {}
    for p in r["payments"]:
        if p["item"] != "insurance":
            paid[p["payment_id"]] = paid.get(p["payment_id"], 0.0) + p["amount"]
    refunds = [{"payment_id": pid, "amount": _money(amount)} for pid, amount in paid.items() if amount > 0.005]
    _release_seats(state, r)
    for refund in refunds:
        _refund(state, r, refund["payment_id"], refund["amount"])
    r["status"] = "cancelled"
    return {"reservation_id": reservation_id, "status": "cancelled", "refunds": refunds,
            "refund_total": _money(sum(x["amount"] for x in refunds))}


TOOLS = [list_airports, search_flights, get_flight, find_user_by_email, get_user, list_reservations,
         get_reservation, book_reservation, get_seat_map, select_seat, get_baggage_allowance, add_baggage,
         change_flight, quote_upgrade, upgrade_cabin, cancel_reservation]


# -- the world ---------------------------------------------------------------------------------

def _flights(rng: np.random.Generator, codes: list[str], dates: list[str]) -> dict:
    pairs = [(a, b) for a in codes for b in codes if a != b]
    routes = [pairs[int(i)] for i in rng.choice(len(pairs), size=3, replace=False)]
    numbers = iter(int(n) for n in rng.choice(np.arange(100, 1000), size=3 * len(routes), replace=False))
    flights = {}
    for origin, destination in routes:
        minutes = 5 * int(rng.integers(18, 66))  # 1:30 to 5:25 in the air
        # Three flights a route: distinct hours, so "the 14:05 departure" names one flight.
        hours = [int(h) for h in rng.choice(np.arange(6, 18), size=3, replace=False)]
        for date, hour in sorted(zip((str(d) for d in rng.choice(dates, size=3)), hours)):
            start = 60 * hour + 5 * int(rng.integers(0, 12))
            economy = 5.0 * int(rng.integers(22, 60))
            number = f"TR{next(numbers)}"
            taken = [s for section in SEATS.values() for s in section if rng.random() < 0.3]
            flights[number] = {
                "flight_number": number, "origin": origin, "destination": destination, "date": date,
                "depart": f"{start // 60:02d}:{start % 60:02d}",
                "arrive": f"{(start + minutes) // 60:02d}:{(start + minutes) % 60:02d}",
                "fares": {"basic_economy": economy - 5.0 * int(rng.integers(6, 12)), "economy": economy,
                          "business": economy + 5.0 * int(rng.integers(40, 80))},
                "taken": sorted(taken)}
    return flights


def _users(rng: np.random.Generator) -> dict:
    users, pm = {}, 0
    for first in rng.choice(FIRST, size=3, replace=False):
        last = str(rng.choice(LAST))
        uid = f"{first.lower()}_{last.lower()}_{int(rng.integers(10, 100))}"
        methods = {}
        for last4 in rng.choice(np.arange(1000, 10000), size=int(rng.integers(1, 3)), replace=False):
            pm += 1
            methods[f"pm_{pm}"] = {"payment_id": f"pm_{pm}", "kind": "credit_card", "last4": str(last4),
                                   "balance": 0.0}
        if rng.random() < 0.6:
            pm += 1
            methods[f"pm_{pm}"] = {"payment_id": f"pm_{pm}", "kind": "certificate", "last4": "",
                                   "balance": 25.0 * int(rng.integers(2, 17))}
        users[uid] = {"user_id": uid, "name": f"{first} {last}", "email": f"{first.lower()}.{last.lower()}@example.com",
                      "membership": str(rng.choice(TIERS)), "payment_methods": methods}
    return users


def _companion(rng: np.random.Generator, taken: list[str]) -> str:
    while True:
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        if name not in taken:
            return name


def _reservations(rng: np.random.Generator, flights: dict, users: dict) -> dict:
    reservations = {}
    for number in range(1001, 1005):
        user = users[str(rng.choice(list(users)))]
        flight = flights[str(rng.choice(list(flights)))]
        cabin = str(rng.choice(CABINS, p=[0.3, 0.45, 0.25]))
        passengers = [user["name"]] + ([_companion(rng, [user["name"]])] if rng.random() < 0.4 else [])
        cards = [m for m in user["payment_methods"].values() if m["kind"] == "credit_card"]
        card = cards[int(rng.integers(len(cards)))]
        r = {"reservation_id": f"R{number}", "user_id": user["user_id"], "flight_number": flight["flight_number"],
             "cabin": cabin, "passengers": passengers, "fare": flight["fares"][cabin],
             "insurance": bool(rng.random() < 0.3), "checked_bags": int(rng.integers(0, len(passengers) + 1)),
             "seats": {}, "payments": [], "status": "booked"}
        if cabin != "basic_economy" and rng.random() < 0.5:
            free = [s for s in SEATS[_section(cabin)] if s not in flight["taken"]]
            for name, seat in zip(passengers, rng.choice(free, size=min(len(free), len(passengers)), replace=False)):
                r["seats"][name] = str(seat)
            flight["taken"] = sorted(flight["taken"] + list(r["seats"].values()))
        n = len(passengers)
        r["payments"].append({"payment_id": card["payment_id"], "amount": _money(r["fare"] * n), "item": "fare"})
        if r["insurance"]:
            r["payments"].append({"payment_id": card["payment_id"], "amount": INSURANCE_PER_PASSENGER * n,
                                  "item": "insurance"})
        extra = max(0, r["checked_bags"] - n * (CABIN_BAGS[cabin] + TIER_BAGS[user["membership"]]))
        if extra:
            r["payments"].append({"payment_id": card["payment_id"], "amount": BAG_FEE * extra, "item": "bags"})
        reservations[r["reservation_id"]] = r
    return reservations


def make_world(rng: np.random.Generator) -> dict:
    codes = sorted(str(c) for c in rng.choice(list(AIRPORTS), size=4, replace=False))
    start = int(rng.integers(1, 26))
    dates = [f"2025-06-{start + i:02d}" for i in range(3)]
    flights = _flights(rng, codes, dates)
    users = _users(rng)
    return {"airports": {c: {"code": c, "city": AIRPORTS[c]} for c in codes}, "flights": flights,
            "users": users, "reservations": _reservations(rng, flights, users),
            "counters": {"reservation": 1004}}


# -- scenarios: one user turn each -------------------------------------------------------------

def _last_user(b: TaskBuilder) -> str | None:
    """The traveller of the latest earlier turn, so that a task tends to stay with one person."""
    emails = {u["email"]: uid for uid, u in b.state["users"].items()}
    owners = {rid: r["user_id"] for rid, r in b.state["reservations"].items()}
    for call in reversed(b.calls):
        # Only literal arguments name someone: references are dicts.
        args = {k: v for k, v in call["args"].items() if isinstance(v, str)}
        if "user_id" in args:
            return args["user_id"]
        if "email" in args:
            return emails.get(args["email"])
        if args.get("reservation_id") in owners:
            return owners[args["reservation_id"]]
    return None


def _pick_for_user(b: TaskBuilder, items: list, user_of) -> object:
    """One of ``items``, preferring those of the traveller already speaking."""
    items, speaking = list(items), _last_user(b)
    ours = [x for x in items if user_of(x) == speaking]
    return b.pick(ours or items)


def _identify(b: TaskBuilder, user: dict):
    """The user's id as the agent gets it: stated (maybe held back), or looked up by email."""
    b.say(b.pick(["Hi! ", "Hello! ", "Good morning. "]))
    if b.rng.random() < 0.5:
        b.say(b.fact("user id", user["user_id"], "My user id is {}. "))
        return user["user_id"]
    b.say(b.fact("email", user["email"], "My email is {}. "))
    return b.call("find_user_by_email", email=user["email"])["user_id"]


def _trip_words(flight: dict) -> str:
    return f"the {flight['date']} flight from {flight['origin']} to {flight['destination']}"


def _locate(b: TaskBuilder, r: dict):
    """Name reservation ``r`` the way a traveller would: by id, or as their trip on some day.
    Returns (reservation id value, user id value or None, the words for it)."""
    flight = b.state["flights"][r["flight_number"]]
    user = b.state["users"][r["user_id"]]
    same_trip = [x for x in b.state["reservations"].values() if x["user_id"] == user["user_id"]
                 and b.state["flights"][x["flight_number"]]["date"] == flight["date"]
                 and b.state["flights"][x["flight_number"]]["origin"] == flight["origin"]]
    if len(same_trip) == 1 and b.rng.random() < 0.5:
        who = _identify(b, user)
        listed = b.call("list_reservations", user_id=who)
        index = [x["reservation_id"] for x in listed.value["reservations"]].index(r["reservation_id"])
        return listed["reservations"][index]["reservation_id"], who, f"my reservation for {_trip_words(flight)}"
    b.say(b.pick(["Hi. ", "Hello! ", ""]))
    b.say(b.fact("reservation id", r["reservation_id"], "My reservation id is {}. "))
    return r["reservation_id"], None, "my reservation"


def _methods(user: dict, amount: float, fares_only: bool = True) -> list[dict]:
    return [m for m in user["payment_methods"].values() if m["kind"] == "credit_card"
            or (fares_only and m["balance"] >= amount)]


def _method_words(m: dict) -> str:
    return f"my card ending in {m['last4']}" if m["kind"] == "credit_card" else "my travel certificate"


def _payment_ref(b: TaskBuilder, who, rid, method: dict):
    """The gold lookup of a payment method id: from the profile of the user (found if need be)."""
    if who is None:
        who = b.call("get_reservation", reservation_id=rid)["user_id"]
    profile = b.call("get_user", user_id=who)
    index = [m["payment_id"] for m in profile.value["payment_methods"]].index(method["payment_id"])
    return profile["payment_methods"][index]["payment_id"]


def _places(b: TaskBuilder, trip: tuple[str, str, str]):
    """The trip's two airports as the user names them (codes, or cities the agent must look up),
    and the gold codes the agent passes on."""
    codes = list(trip[:2])
    if b.rng.random() < 0.6:
        return codes, codes
    airports = b.call("list_airports")
    known = [a["code"] for a in airports.value["airports"]]
    return ([b.state["airports"][c]["city"] for c in codes],
            [airports["airports"][known.index(c)]["code"] for c in codes])


def _trips(state: dict) -> list[tuple[str, str, str]]:
    """Every (origin, destination, date) that has at least one flight."""
    return sorted({(f["origin"], f["destination"], f["date"]) for f in state["flights"].values()})


def _on(state: dict, trip: tuple[str, str, str]) -> list[dict]:
    return sorted((f for f in state["flights"].values() if (f["origin"], f["destination"], f["date"]) == trip),
                  key=lambda f: f["depart"])


def book_flight(b: TaskBuilder) -> bool:
    user = _pick_for_user(b, b.state["users"].values(), lambda u: u["user_id"])
    trip = b.pick(_trips(b.state))
    flights, cabin = _on(b.state, trip), b.pick(CABINS)
    fares = [f["fares"][cabin] for f in flights]
    by_price = fares.count(min(fares)) == 1 and b.rng.random() < 0.6
    flight = flights[fares.index(min(fares))] if by_price else flights[0]
    companions = [_companion(b.rng, [user["name"]])] if b.rng.random() < 0.4 else []
    insurance = bool(b.rng.random() < 0.3)
    n = 1 + len(companions)
    total = flight["fares"][cabin] * n + (INSURANCE_PER_PASSENGER * n if insurance else 0.0)
    method = b.pick(_methods(user, total))

    who = _identify(b, user)
    (origin_words, destination_words), (origin, destination) = _places(b, trip)
    found = b.call("search_flights", origin=origin, destination=destination, date=trip[2])
    index = [f["flight_number"] for f in found.value["flights"]].index(flight["flight_number"])
    profile = b.call("get_user", user_id=who)
    pm = [m["payment_id"] for m in profile.value["payment_methods"]].index(method["payment_id"])
    booked = b.call("book_reservation", user_id=who, flight_number=found["flights"][index]["flight_number"],
                    cabin=cabin, passengers=[profile["name"], *companions],
                    payment_id=profile["payment_methods"][pm]["payment_id"], insurance=insurance)
    which = f"the cheapest {CABIN_WORDS[cabin]} fare" if by_price else f"the earliest flight, in {CABIN_WORDS[cabin]}"
    b.say(b.pick(["I need to fly from {} to {} on {}. ", "I'm travelling {} to {} on {}. "]).format(
        origin_words, destination_words, trip[2]))
    who_flies = f"me and {companions[0]}" if companions else "just me"
    b.say(f"Please book {which} for {who_flies}, {'with' if insurance else 'without'} travel insurance, "
          f"paid with {_method_words(method)}.")
    if b.rng.random() < 0.5:
        b.say(" What's the total?")
        b.answer(booked["charged"])
    return True


def flights_between(b: TaskBuilder) -> bool:
    trip = b.pick(_trips(b.state))
    (origin_words, destination_words), (origin, destination) = _places(b, trip)
    found = b.call("search_flights", origin=origin, destination=destination, date=trip[2])
    if b.rng.random() < 0.5:
        b.say(b.pick(["Which flights go from {} to {} on {}?", "What flights do you have {} to {} on {}?"]).format(
            origin_words, destination_words, trip[2]))
        for i in range(len(found["flights"])):
            b.answer(found["flights"][i]["flight_number"])
        return True
    cabin = b.pick(CABINS)
    fares = [f["fares"][cabin] for f in found.value["flights"]]
    b.say(f"What's the lowest {CABIN_WORDS[cabin]} fare from {origin_words} to {destination_words} on {trip[2]}?")
    b.answer(found["flights"][fares.index(min(fares))]["fares"][cabin])
    return True


def flight_schedule(b: TaskBuilder) -> bool:
    flight = b.pick(b.state["flights"].values())
    field = b.pick(["depart", "arrive"])
    b.say(b.pick(["Quick question: ", "", "Hi, "]))
    b.say(f"what time does flight {flight['flight_number']} {field}?"
          if b.rng.random() < 0.5 else f"when does {flight['flight_number']} {field}?")
    b.answer(b.call("get_flight", flight_number=flight["flight_number"])[field])
    return True


def _booked_reservations(state: dict, keep=lambda r: True) -> list[dict]:
    return [r for r in state["reservations"].values() if r["status"] == "booked" and keep(r)]


def add_bags(b: TaskBuilder) -> bool:
    room = lambda r: MAX_BAGS_PER_PASSENGER * len(r["passengers"]) - r["checked_bags"]
    r = _pick_for_user(b, _booked_reservations(b.state, lambda r: room(r) > 0), lambda r: r["user_id"])
    bags = int(b.rng.integers(1, min(2, room(r)) + 1))
    user = b.state["users"][r["user_id"]]
    free = _free_bags(b.state, r)
    fee = BAG_FEE * (max(0, r["checked_bags"] + bags - free) - max(0, r["checked_bags"] - free))
    method = b.pick(_methods(user, fee, fares_only=False))
    rid, who, words = _locate(b, r)
    b.say(f"Please add {bags} checked {'bag' if bags == 1 else 'bags'} to {words}; "
          f"charge any bag fee to {_method_words(method)}.")
    pay = {"payment_id": _payment_ref(b, who, rid, method)} if fee > 0 else {}
    added = b.call("add_baggage", reservation_id=rid, bags=bags, **pay)
    if b.rng.random() < 0.5:
        b.say(" How much do the bags cost me?")
        b.answer(added["fee"])
    return True


def _seat_wishes(state: dict) -> list[tuple[dict, str, str]]:
    """(reservation, passenger, position) where a free seat of that position would be a change."""
    wishes = []
    for r in _booked_reservations(state, lambda r: r["cabin"] != "basic_economy"):
        free = {POSITIONS[s[-1]] for s in SEATS[_section(r["cabin"])]
                if s not in state["flights"][r["flight_number"]]["taken"]}
        for p in r["passengers"]:
            current = POSITIONS[r["seats"][p][-1]] if p in r["seats"] else None
            wishes += [(r, p, position) for position in sorted(free) if position != current]
    return wishes


def _first_seat(b: TaskBuilder, r: dict, passenger: str) -> str | None:
    """The seat ``passenger`` held when the task began: moving them back there would undo the
    task, leaving nothing for the turn to check."""
    return b.initial["reservations"].get(r["reservation_id"], {}).get("seats", {}).get(passenger)


def choose_seat(b: TaskBuilder) -> bool:
    r, passenger, position = _pick_for_user(b, _seat_wishes(b.state), lambda w: w[0]["user_id"])
    rid, _, words = _locate(b, r)
    first, second = ("A", "D") if position == "window" else ("B", "C")
    own = passenger == b.state["users"][r["user_id"]]["name"]
    alone = own and len(r["passengers"]) == 1
    speaker = "I" if alone else f"I ({passenger})" if own else passenger
    b.say(f"For {words}, {speaker} would like the frontmost free {position} seat "
          f"(if both {position} seats of that row are free, the {first} seat, not {second}).")
    got = b.call("get_reservation", reservation_id=rid)
    seats = b.call("get_seat_map", flight_number=got["flight_number"], cabin=got["cabin"])
    index = next(i for i, s in enumerate(seats.value["seats"]) if s["available"] and s["position"] == position)
    if seats.value["seats"][index]["seat"] == _first_seat(b, r, passenger):
        return False
    name = got["passengers"][0] if alone else passenger
    b.call("select_seat", reservation_id=got["reservation_id"], passenger=name, seat=seats["seats"][index]["seat"])
    return True


def seat_by_number(b: TaskBuilder) -> bool:
    r, passenger, _ = _pick_for_user(b, _seat_wishes(b.state), lambda w: w[0]["user_id"])
    taken = b.state["flights"][r["flight_number"]]["taken"] + [_first_seat(b, r, passenger)]
    free = [s for s in SEATS[_section(r["cabin"])] if s not in taken]
    seat = b.pick(free)
    b.say(b.pick(["Please put {} in seat {}. ", "Can {} have seat {}? "]).format(passenger, seat))
    b.say(b.fact("reservation id", r["reservation_id"], "The reservation id is {}."))
    b.call("select_seat", reservation_id=r["reservation_id"], passenger=passenger, seat=seat)
    return True


def _refundable(r: dict) -> bool:
    return r["cabin"] != "basic_economy" or r["insurance"]


def cancel_trip(b: TaskBuilder) -> bool:
    r = _pick_for_user(b, _booked_reservations(b.state, _refundable), lambda r: r["user_id"])
    rid, _, words = _locate(b, r)
    b.say(b.pick(["Please cancel {}. ", "Something came up, I need to cancel {}. "]).format(words))
    got = b.call("get_reservation", reservation_id=rid)
    done = b.call("cancel_reservation", reservation_id=got["reservation_id"])
    if b.rng.random() < 0.6:
        b.say(b.pick(["How much will I get back?", "What's the refund?"]))
        b.answer(done["refund_total"])
    return True


def _upgrades(state: dict) -> list[tuple[dict, str]]:
    return [(r, cabin) for r in _booked_reservations(state)
            for cabin in CABINS[CABINS.index(r["cabin"]) + 1:]]


def upgrade_quote(b: TaskBuilder) -> bool:
    r, cabin = _pick_for_user(b, _upgrades(b.state), lambda x: x[0]["user_id"])
    rid, _, words = _locate(b, r)
    b.say(f"How much would it cost to upgrade {words} to {CABIN_WORDS[cabin]}? Just asking, don't change anything.")
    b.answer(b.call("quote_upgrade", reservation_id=rid, cabin=cabin)["cost"])
    return True


def upgrade(b: TaskBuilder) -> bool:
    r, cabin = _pick_for_user(b, _upgrades(b.state), lambda x: x[0]["user_id"])
    cost = _upgrade_cost(b.state, r, cabin)
    method = b.pick(_methods(b.state["users"][r["user_id"]], cost))
    rid, who, words = _locate(b, r)
    b.say(f"I'd like to upgrade {words} to {CABIN_WORDS[cabin]}. Pay the difference with {_method_words(method)}.")
    done = b.call("upgrade_cabin", reservation_id=rid, cabin=cabin, payment_id=_payment_ref(b, who, rid, method))
    if b.rng.random() < 0.4:
        b.say(" What did that cost?")
        b.answer(done["charged"])
    return True


def move_to_flight(b: TaskBuilder) -> bool:
    options = []
    for r in _booked_reservations(b.state, lambda r: r["cabin"] != "basic_economy"):
        old = b.state["flights"][r["flight_number"]]
        options += [(r, f) for f in b.state["flights"].values() if f is not old
                    and (f["origin"], f["destination"]) == (old["origin"], old["destination"])]
    r, new = _pick_for_user(b, options, lambda x: x[0]["user_id"])
    difference = (new["fares"][r["cabin"]] - r["fare"]) * len(r["passengers"])
    method = b.pick(_methods(b.state["users"][r["user_id"]], difference))
    rid, who, words = _locate(b, r)
    b.say(f"I need to move {words} to the {new['depart']} departure on {new['date']}, same cabin. "
          f"If it costs more, charge {_method_words(method)}.")
    got = b.call("get_reservation", reservation_id=rid)
    found = b.call("search_flights", origin=got["origin"], destination=got["destination"], date=new["date"])
    index = [f["flight_number"] for f in found.value["flights"]].index(new["flight_number"])
    payer = got["user_id"] if who is None else who
    pay = {"payment_id": _payment_ref(b, payer, rid, method)} if difference > 0 else {}
    done = b.call("change_flight", reservation_id=got["reservation_id"],
                  flight_number=found["flights"][index]["flight_number"], **pay)
    if difference > 0 and b.rng.random() < 0.5:
        b.say(" How much extra is it?")
        b.answer(done["fare_difference"])
    return True



def bag_allowance(b: TaskBuilder) -> bool:
    r = _pick_for_user(b, _booked_reservations(b.state), lambda r: r["user_id"])
    rid, _, words = _locate(b, r)
    b.say(b.pick(["How many checked bags can I bring for free on {}?", "What's the free bag allowance on {}?"])
          .format(words))
    b.answer(b.call("get_baggage_allowance", reservation_id=rid)["free_bags"])
    return True


def certificate_balance(b: TaskBuilder) -> bool:
    holders = [(u, m) for u in b.state["users"].values() for m in u["payment_methods"].values()
               if m["kind"] == "certificate"]
    user, cert = _pick_for_user(b, holders, lambda x: x[0]["user_id"])
    who = _identify(b, user)
    b.say(b.pick(["How much is left on my travel certificate?", "What's my travel certificate balance?"]))
    profile = b.call("get_user", user_id=who)
    index = [m["payment_id"] for m in profile.value["payment_methods"]].index(cert["payment_id"])
    b.answer(profile["payment_methods"][index]["balance"])
    return True


# User phrasings per tool for the synthesizer; the template rules are in rods_envs/synth/phrasing.py.
PHRASES = {
    "list_airports": [
        "What is the {field} of {subject}?",
        "Among the airports you serve, what is the {field} of {subject}?",
        "Which {field} does {subject} have?",
    ],
    "search_flights": [
        "For flights from {origin} to {destination} on {date}, what is the {field} of {subject}?",
        "I'm looking at {origin} to {destination} on {date}: what is the {field} of {subject}?",
        "Could you search {origin} to {destination} for {date} and tell me the {field} of {subject}?",
    ],
    "get_flight": [
        "What is the {field} of {flight_number}?",
        "Could you tell me the {field} for {flight_number}?",
        "Quick question about {flight_number}: what is its {field}?",
    ],
    "find_user_by_email": [
        "Could you look up the {field} for the account under {email}?",
        "What is the {field} of the traveller registered with {email}?",
    ],
    "get_user": [
        "For {user_id}, what is the {field} of {subject}?",
        "Looking at the profile of {user_id}, could you tell me the {field} of {subject}?",
        "What is the {field} on the profile of {user_id}?",
    ],
    "list_reservations": [
        "What is the {field} of {subject}?",
        "Among the reservations of {user_id}, what is the {field} of {subject}?",
        "Could you check the {field} of {subject} for {user_id}?",
    ],
    "get_reservation": [
        "What is the {field} of {reservation_id}?",
        "Could you tell me the {field} on {reservation_id}?",
        "On {reservation_id}, what is the {field} of {subject}?",
    ],
    "book_reservation": [
        "Please book {flight_number} in {cabin} for {passengers} under {user_id}, paying with {payment_id} "
        "(travel insurance: {insurance}).",
        "I'd like seats on {flight_number}, cabin {cabin}, for {passengers}. Charge {payment_id}; the account "
        "is {user_id}.",
        "Can you make a booking for {passengers} on {flight_number} in {cabin}? Use {payment_id} from "
        "{user_id}; insurance: {insurance}.",
    ],
    "get_seat_map": [
        "On {flight_number} in {cabin}, what is the {field} of {subject}?",
        "Looking at the seat map of {flight_number}, cabin {cabin}, what is the {field} of {subject}?",
    ],
    "select_seat": [
        "Please put {passenger} in {seat} on {reservation_id}.",
        "Can {passenger} have {seat} on {reservation_id}?",
        "On {reservation_id}, I'd like {passenger} moved to {seat}.",
    ],
    "get_baggage_allowance": [
        "What is the {field} on {reservation_id}?",
        "Could you check the {field} for {reservation_id}?",
        "For {reservation_id}, what is the {field}?",
    ],
    "add_baggage": [
        "Please add {bags} checked bag(s) to {reservation_id}.",
        "I'd like to add checked bags to {reservation_id} (number of bags: {bags}); charge any fee to "
        "{payment_id}.",
        "Can you put extra checked bags on {reservation_id}? The number of bags is {bags}, and any fee goes "
        "on {payment_id}.",
    ],
    "change_flight": [
        "Please move {reservation_id} to {flight_number}.",
        "Could you switch {reservation_id} over to {flight_number}? Any extra fare goes on {payment_id}.",
        "I'd like to change {reservation_id} to {flight_number}, paying any difference with {payment_id}.",
    ],
    "quote_upgrade": [
        "What is the {field} of upgrading {reservation_id} to {cabin}?",
        "If I upgraded {reservation_id} to {cabin}, what would the {field} be?",
        "Could you quote an upgrade of {reservation_id} to {cabin} and tell me the {field}?",
    ],
    "upgrade_cabin": [
        "Please upgrade {reservation_id} to {cabin} and charge {payment_id}.",
        "I'd like {reservation_id} moved up to {cabin}; pay the difference with {payment_id}.",
        "Can you upgrade {reservation_id} to {cabin}? Use {payment_id} for the fare difference.",
    ],
    "cancel_reservation": [
        "Please cancel {reservation_id}.",
        "I need to cancel {reservation_id}.",
        "Could you cancel {reservation_id} for me?",
    ],
}

DOMAIN = Domain(
    name="travel",
    description="An airline's reservation desk: flight search, bookings, seats, bags, changes, upgrades, "
                "cancellations.",
    tools=TOOLS,
    make_world=make_world,
    scenarios=[book_flight, flights_between, flight_schedule, add_bags, choose_seat, seat_by_number,
               cancel_trip, upgrade_quote, upgrade, move_to_flight, bag_allowance, certificate_balance],
    phrases=PHRASES,
)
