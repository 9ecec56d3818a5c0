"""Retail: an online shop's customer-service desk.

### Description
The agent serves a customer of a small online shop: it identifies them, looks up orders and
products, and changes orders within the shop's policy. The customer speaks over 2 to 5 turns and
may hold back a detail (an email, a zip code) until the agent asks for it.

### Tools
| tool | kind | rule |
|---|---|---|
| find_customer_by_email | read | |
| find_customer_by_name_zip | read | first name, last name and zip must all match |
| get_customer | read | |
| list_orders | read | a customer's orders, oldest first |
| get_order | read | |
| search_products | read | case-insensitive substring of the product name |
| get_product | read | |
| list_payment_methods | read | |
| cancel_order | write | only pending orders |
| modify_shipping_address | write | only pending orders |
| return_items | write | only delivered orders; refund to the original method or a gift card |
| exchange_items | write | only delivered orders; same product, available variant |
| update_customer_address | write | |
| get_return | read | |

### State
``customers``, ``payment_methods``, ``products`` (with item variants), ``orders``, ``returns`` and
``counters`` for the ids the tools create.

### Reward
After each user turn the shop's state must equal the gold state and any value the customer
asked for must have been told; progress is the fraction of turns passed, the outcome is 1 when
every turn passes.

### Episode end
When the last turn is judged, when the agent gives up, or on the environment's step budget.

### Arguments
``make_world(rng)`` builds a shop from a ``numpy.random.Generator``.
"""

from __future__ import annotations

import numpy as np

from ..builder import TaskBuilder
from ..domain import Domain
from ..tool import ToolError, arg, arr, obj, require, tool

FIRST = ["Ava", "Noah", "Mia", "Liam", "Zoe", "Omar", "Yara", "Ivan", "Lena", "Kofi", "Sara", "Theo"]
LAST = ["Garcia", "Chen", "Okafor", "Novak", "Silva", "Ito", "Haddad", "Kowalski", "Moreau", "Patel"]
STREETS = ["Elm St", "Oak Ave", "Harbor Rd", "Mill Ln", "Cedar Ct", "Lake Dr"]
CITIES = ["Springfield", "Riverton", "Fairview", "Lakeside"]
CATALOG = {  # name: (category, options, base price); few variants keep worlds small
    "T-Shirt": ("apparel", {"color": ["red", "blue", "black"], "size": ["M", "L"]}, 18.0),
    "Hoodie": ("apparel", {"color": ["grey", "navy"], "size": ["M", "L"]}, 45.0),
    "Running Shoes": ("footwear", {"color": ["white", "black"], "size": ["9", "10"]}, 89.0),
    "Water Bottle": ("outdoors", {"color": ["green", "steel"], "size": ["500ml", "1l"]}, 22.5),
    "Desk Lamp": ("home", {"color": ["white", "brass", "black"], "size": ["small"]}, 39.0),
    "Backpack": ("outdoors", {"color": ["olive", "black"], "size": ["20l", "30l"]}, 64.0),
    "Headphones": ("electronics", {"color": ["black", "silver", "blue"], "size": ["standard"]}, 120.0),
    "Yoga Mat": ("fitness", {"color": ["purple", "teal"], "size": ["standard", "long"]}, 29.0),
}
STATUSES = ["pending", "pending", "processed", "shipped", "delivered", "delivered"]
REASONS = ["no longer needed", "ordered by mistake"]

EMAIL = arg("email", "string", "The customer's email address.")
CUSTOMER = arg("customer_id", "string", "A customer id such as 'cus_3'.")
ORDER = arg("order_id", "string", "An order id such as '#W1004'.")
PRODUCT = arg("product_id", "string", "A product id such as 'prd_2'.")
ITEM = arg("item_id", "string", "An item (product variant) id such as 'itm_2_5'.")
PAYMENT = arg("payment_method_id", "string", "A payment method id such as 'pm_3_1'.")
ADDRESS = obj(street=arg(None, "string", "Street and number."), city=arg(None, "string"),
              zip=arg("zip", "string"))
MONEY = arg("amount", "number", "An amount in dollars.")
ORDER_LINE = obj(item_id=ITEM, product_id=PRODUCT, name=arg("product_name"), price=MONEY)


def _order_view(order: dict) -> dict:
    return {"order_id": order["order_id"], "customer_id": order["customer_id"],
            "status": order["status"], "items": [dict(line) for line in order["items"]],
            "total": order["total"], "payment_method_id": order["payment_method_id"],
            "shipping_address": dict(order["shipping_address"])}


@tool("Find a customer's id from their email address.",
      params={"email": EMAIL}, result=obj(customer_id=CUSTOMER))
def find_customer_by_email(state, email):
    for customer in state["customers"].values():
        if customer["email"] == email.strip().lower():
            return {"customer_id": customer["customer_id"]}
    raise ToolError(f"no customer with email {email!r}")


@tool("Find a customer's id from their first name, last name and zip code.",
      params={"first_name": arg(None, "string"), "last_name": arg(None, "string"), "zip": arg("zip")},
      result=obj(customer_id=CUSTOMER))
def find_customer_by_name_zip(state, first_name, last_name, zip):
    for customer in state["customers"].values():
        if (customer["first_name"].lower(), customer["last_name"].lower(), customer["address"]["zip"]) == (
                first_name.strip().lower(), last_name.strip().lower(), zip.strip()):
            return {"customer_id": customer["customer_id"]}
    raise ToolError("no customer matches that name and zip code")


@tool("Get a customer's profile.", params={"customer_id": CUSTOMER},
      result=obj(customer_id=CUSTOMER, name=arg(None, "string"), email=EMAIL, address=ADDRESS))
def get_customer(state, customer_id):
    c = require(state["customers"], customer_id, "customer")
    return {"customer_id": customer_id, "name": f"{c['first_name']} {c['last_name']}",
            "email": c["email"], "address": dict(c["address"])}


@tool("List a customer's orders, oldest first.", params={"customer_id": CUSTOMER},
      result=obj(orders=arr(obj(order_id=ORDER, status=arg("order_status"), items=arr(arg("product_name"))))))
def list_orders(state, customer_id):
    require(state["customers"], customer_id, "customer")
    return {"orders": [{"order_id": o["order_id"], "status": o["status"],
                        "items": [line["name"] for line in o["items"]]}
                       for o in state["orders"].values() if o["customer_id"] == customer_id]}


@tool("Get an order's details.", params={"order_id": ORDER},
      result=obj(order_id=ORDER, customer_id=CUSTOMER, status=arg("order_status"), items=arr(ORDER_LINE),
                 total=MONEY, payment_method_id=PAYMENT, shipping_address=ADDRESS))
def get_order(state, order_id):
    return _order_view(require(state["orders"], order_id, "order"))


@tool("Search products by (part of) their name.", params={"query": arg("product_name", "string", minLength=1)},
      result=obj(products=arr(obj(product_id=PRODUCT, name=arg("product_name")))))
def search_products(state, query):
    needle = query.strip().lower()
    return {"products": [{"product_id": p["product_id"], "name": p["name"]}
                         for p in state["products"].values() if needle in p["name"].lower()]}


@tool("Get a product with all its variants (items), their options, prices and availability.",
      params={"product_id": PRODUCT},
      result=obj(product_id=PRODUCT, name=arg("product_name"), category=arg(None, "string"),
                 items=arr(obj(item_id=ITEM, color=arg(None, "string"), size=arg(None, "string"),
                               price=MONEY, available=arg(None, "boolean")))))
def get_product(state, product_id):
    p = require(state["products"], product_id, "product")
    return {"product_id": product_id, "name": p["name"], "category": p["category"],
            "items": [dict(item) for item in p["items"].values()]}


@tool("List a customer's payment methods (cards and gift cards with their balance).",
      params={"customer_id": CUSTOMER},
      result=obj(payment_methods=arr(obj(payment_method_id=PAYMENT, kind=arg(None, "string"),
                                         last4=arg(None, "string"), balance=MONEY))))
def list_payment_methods(state, customer_id):
    require(state["customers"], customer_id, "customer")
    return {"payment_methods": [{k: v for k, v in pm.items() if k != "customer_id"}
                                for pm in state["payment_methods"].values() if pm["customer_id"] == customer_id]}


def _pending(state, order_id) -> dict:
    order = require(state["orders"], order_id, "order")
    if order["status"] != "pending":
        raise ToolError(f"order {order_id} is {order['status']}: only pending orders can be changed")
    return order


@tool("Cancel a pending order; the payment is refunded to the original method.",
      params={"order_id": ORDER, "reason": arg(None, "string", "Why the customer cancels.", enum=REASONS)},
      result=obj(order_id=ORDER, status=arg("order_status"), refund=MONEY), writes=True)
def cancel_order(state, order_id, reason):
    order = _pending(state, order_id)
    order["status"] = "cancelled"
    order["cancel_reason"] = reason
    _refund(state, order["payment_method_id"], order["total"])
    return {"order_id": order_id, "status": "cancelled", "refund": order["total"]}


@tool("Change the shipping address of a pending order.",
      params={"order_id": ORDER, "street": arg(None, "string", minLength=1), "city": arg(None, "string", minLength=1),
              "zip": arg("zip", "string", minLength=1)},
      result=obj(order_id=ORDER, shipping_address=ADDRESS), writes=True)
def modify_shipping_address(state, order_id, street, city, zip):
    order = _pending(state, order_id)
    order["shipping_address"] = {"street": street, "city": city, "zip": zip}
    return {"order_id": order_id, "shipping_address": dict(order["shipping_address"])}


@tool("Change the default address on a customer's profile.",
      params={"customer_id": CUSTOMER, "street": arg(None, "string", minLength=1),
              "city": arg(None, "string", minLength=1), "zip": arg("zip", "string", minLength=1)},
      result=obj(customer_id=CUSTOMER, address=ADDRESS), writes=True)
def update_customer_address(state, customer_id, street, city, zip):
    customer = require(state["customers"], customer_id, "customer")
    customer["address"] = {"street": street, "city": city, "zip": zip}
    return {"customer_id": customer_id, "address": dict(customer["address"])}


def _delivered_lines(state, order_id, item_ids) -> tuple[dict, list[dict]]:
    order = require(state["orders"], order_id, "order")
    if order["status"] != "delivered":
        raise ToolError(f"order {order_id} is {order['status']}: only delivered orders can be returned or exchanged")
    lines = {line["item_id"]: line for line in order["items"]}
    if len(set(item_ids)) != len(item_ids):
        raise ToolError("an item is listed twice")
    missing = [i for i in item_ids if i not in lines]
    if missing:
        raise ToolError(f"items {missing} are not in order {order_id}")
    return order, [lines[i] for i in item_ids]


def _refund(state, payment_method_id, amount) -> None:
    method = state["payment_methods"][payment_method_id]
    if method["kind"] == "gift_card":
        method["balance"] = round(method["balance"] + amount, 2)


@tool("Return items of a delivered order. The refund goes to the order's original payment method "
      "or to one of the customer's gift cards.",
      params={"order_id": ORDER, "item_ids": arr(ITEM, minItems=1), "payment_method_id": PAYMENT},
      result=obj(return_id=arg("return_id"), refund=MONEY, status=arg("return_status")), writes=True)
def return_items(state, order_id, item_ids, payment_method_id):
    order, lines = _delivered_lines(state, order_id, item_ids)
    method = require(state["payment_methods"], payment_method_id, "payment method")
    if payment_method_id != order["payment_method_id"] and (
            method["kind"] != "gift_card" or method["customer_id"] != order["customer_id"]):
        raise ToolError("refunds go to the original payment method or to the customer's own gift card")
    refund = round(sum(line["price"] for line in lines), 2)
    state["counters"]["return"] += 1
    return_id = f"ret_{state['counters']['return']}"
    state["returns"][return_id] = {"return_id": return_id, "order_id": order_id, "item_ids": list(item_ids),
                                   "refund": refund, "payment_method_id": payment_method_id,
                                   "status": "requested"}
    order["items"] = [line for line in order["items"] if line["item_id"] not in item_ids]
    order["status"] = "return requested" if not order["items"] else order["status"]
    _refund(state, payment_method_id, refund)
    return {"return_id": return_id, "refund": refund, "status": "requested"}


@tool("Exchange items of a delivered order for other available variants of the same product; "
      "the price difference is settled with the given payment method.",
      params={"order_id": ORDER, "item_ids": arr(ITEM, minItems=1), "new_item_ids": arr(ITEM, minItems=1),
              "payment_method_id": PAYMENT},
      result=obj(order_id=ORDER, price_difference=MONEY), writes=True)
def exchange_items(state, order_id, item_ids, new_item_ids, payment_method_id):
    order, lines = _delivered_lines(state, order_id, item_ids)
    if len(new_item_ids) != len(item_ids):
        raise ToolError("give exactly one new item for each item exchanged")
    method = require(state["payment_methods"], payment_method_id, "payment method")
    if method["customer_id"] != order["customer_id"]:
        raise ToolError("that payment method belongs to another customer")
    replacements = []
    for line, new_id in zip(lines, new_item_ids):
        product = state["products"][line["product_id"]]
        new = product["items"].get(new_id)
        if new is None:
            raise ToolError(f"{new_id} is not a variant of {product['name']}")
        if not new["available"] or new_id == line["item_id"]:
            raise ToolError(f"{new_id} is not available for exchange")
        replacements.append((line, new))
    difference = round(sum(new["price"] - line["price"] for line, new in replacements), 2)
    if method["kind"] == "gift_card" and method["balance"] < difference:
        raise ToolError("the gift card balance does not cover the price difference")
    for line, new in replacements:
        line["item_id"], line["price"] = new["item_id"], new["price"]
    if method["kind"] == "gift_card":
        method["balance"] = round(method["balance"] - difference, 2)
    order["status"] = "exchange requested"
    return {"order_id": order_id, "price_difference": difference}


@tool("Get the status of a return.", params={"return_id": arg("return_id")},
      result=obj(return_id=arg("return_id"), order_id=ORDER, refund=MONEY, status=arg("return_status")))
def get_return(state, return_id):
    r = require(state["returns"], return_id, "return")
    return {"return_id": return_id, "order_id": r["order_id"], "refund": r["refund"], "status": r["status"]}


TOOLS = [find_customer_by_email, find_customer_by_name_zip, get_customer, list_orders, get_order,
         search_products, get_product, list_payment_methods, cancel_order, modify_shipping_address,
         update_customer_address, return_items, exchange_items, get_return]


# -- the world ---------------------------------------------------------------------------------

def make_world(rng: np.random.Generator) -> dict:
    products, items_by_product = {}, {}
    names = rng.choice(list(CATALOG), size=4, replace=False)
    for p, name in enumerate(names, 1):
        category, options, base = CATALOG[str(name)]
        items = {}
        for color in options["color"]:
            for size in options["size"]:
                item_id = f"itm_{p}_{len(items) + 1}"
                items[item_id] = {"item_id": item_id, "color": color, "size": size,
                                  "price": round(base + float(rng.integers(0, 4)) * 2.5, 2),
                                  "available": bool(rng.random() < 0.8)}
        products[f"prd_{p}"] = {"product_id": f"prd_{p}", "name": str(name), "category": category, "items": items}
        items_by_product[f"prd_{p}"] = list(items)
    customers, methods, orders = {}, {}, {}
    firsts = rng.choice(FIRST, size=4, replace=False)
    for c, first in enumerate(firsts, 1):
        last = str(rng.choice(LAST))
        cid = f"cus_{c}"
        customers[cid] = {"customer_id": cid, "first_name": str(first), "last_name": last,
                          "email": f"{first.lower()}.{last.lower()}{c}@example.com",
                          "address": {"street": f"{int(rng.integers(1, 999))} {rng.choice(STREETS)}",
                                      "city": str(rng.choice(CITIES)), "zip": f"{int(rng.integers(10000, 99999))}"}}
        methods[f"pm_{c}_1"] = {"payment_method_id": f"pm_{c}_1", "customer_id": cid, "kind": "credit_card",
                                "last4": f"{int(rng.integers(1000, 9999))}", "balance": 0.0}
        if rng.random() < 0.6:
            methods[f"pm_{c}_2"] = {"payment_method_id": f"pm_{c}_2", "customer_id": cid, "kind": "gift_card",
                                    "last4": "", "balance": float(rng.integers(0, 40)) * 5.0}
        for _ in range(int(rng.integers(1, 3))):
            number = 1001 + len(orders)
            chosen = rng.choice(list(products), size=int(rng.integers(1, 3)), replace=False)
            lines = []
            for pid in chosen:
                item = products[str(pid)]["items"][str(rng.choice(items_by_product[str(pid)]))]
                lines.append({"item_id": item["item_id"], "product_id": str(pid),
                              "name": products[str(pid)]["name"], "price": item["price"]})
            orders[f"#W{number}"] = {"order_id": f"#W{number}", "customer_id": cid,
                                     "status": str(rng.choice(STATUSES)), "items": lines,
                                     "total": round(sum(line["price"] for line in lines), 2),
                                     "payment_method_id": f"pm_{c}_1",
                                     "shipping_address": dict(customers[cid]["address"])}
    return {"customers": customers, "payment_methods": methods, "products": products, "orders": orders,
            "returns": {}, "counters": {"return": 0}}


# -- scenarios: one user turn each -------------------------------------------------------------

def _identify(b: TaskBuilder, customer: dict):
    """The gold lookup of a customer, by email or by name and zip; the user may withhold either."""
    if b.rng.random() < 0.6:
        b.say(b.pick(["Hi! ", "Hello, ", "Hey there. "]))
        b.say(b.fact("email", customer["email"], "My email is {}. "))
        return b.call("find_customer_by_email", email=customer["email"])
    zip_code = customer["address"]["zip"]
    b.say(f"Hi, this is {customer['first_name']} {customer['last_name']}. ")
    b.say(b.fact("zip code", zip_code, "My zip code is {}. "))
    return b.call("find_customer_by_name_zip", first_name=customer["first_name"],
                  last_name=customer["last_name"], zip=zip_code)


def _customers_with(b: TaskBuilder, status: str) -> list[tuple[dict, list[dict]]]:
    found = []
    for c in b.state["customers"].values():
        orders = [o for o in b.state["orders"].values() if o["customer_id"] == c["customer_id"]]
        chosen = [o for o in orders if o["status"] == status]
        if len(chosen) == 1:  # "my pending order" must name one order
            found.append((c, chosen))
    return found


def order_status(b: TaskBuilder) -> bool:
    customer = b.pick(b.state["customers"].values())
    orders = [o for o in b.state["orders"].values() if o["customer_id"] == customer["customer_id"]]
    if not orders:
        return False
    who = _identify(b, customer)
    listed = b.call("list_orders", customer_id=who["customer_id"])
    last = listed["orders"][len(orders) - 1]
    b.say(b.pick(["What's the status of my most recent order?", "Can you tell me where my latest order stands?"]))
    b.answer(last["status"])
    return True


def cancel_pending(b: TaskBuilder) -> bool:
    customer, (order,) = b.pick(_customers_with(b, "pending"))
    reason = b.pick(REASONS)
    who = _identify(b, customer)
    listed = b.call("list_orders", customer_id=who["customer_id"])
    index = [o["order_id"] for o in listed.value["orders"]].index(order["order_id"])
    b.call("cancel_order", order_id=listed["orders"][index]["order_id"], reason=reason)
    b.say(b.pick(["Please cancel my pending order, ", "I want to cancel the order that hasn't shipped yet, "]))
    b.say(f"the reason is: {reason}.")
    return True


def cancel_by_id(b: TaskBuilder) -> bool:
    order = b.pick(o for o in b.state["orders"].values() if o["status"] == "pending")
    reason = b.pick(REASONS)
    b.say(b.pick(["Cancel order {}, please. ", "I'd like to cancel my order {}. "]).format(order["order_id"]))
    b.say(f"Reason: {reason}. And how much will I get back?")
    refund = b.call("cancel_order", order_id=order["order_id"], reason=reason)
    b.answer(refund["refund"])
    return True


def return_to_gift_card(b: TaskBuilder) -> bool:
    candidates = [(o, pm) for o in b.state["orders"].values() if o["status"] == "delivered"
                  for pm in b.state["payment_methods"].values()
                  if pm["customer_id"] == o["customer_id"] and pm["kind"] == "gift_card"]
    order, gift = b.pick(candidates)
    line = b.pick(order["items"])
    b.say(f"I'd like to return the {line['name']} from order {order['order_id']}. ")
    b.say(b.pick(["Put the refund on my gift card.", "Please refund it to my gift card, not my card."]))
    b.say(" What will the gift card balance be afterwards?")
    got = b.call("get_order", order_id=order["order_id"])
    index = [l["item_id"] for l in got.value["items"]].index(line["item_id"])
    methods = b.call("list_payment_methods", customer_id=got["customer_id"])
    gift_index = [m["payment_method_id"] for m in methods.value["payment_methods"]].index(gift["payment_method_id"])
    b.call("return_items", order_id=order["order_id"], item_ids=[got["items"][index]["item_id"]],
           payment_method_id=methods["payment_methods"][gift_index]["payment_method_id"])
    after = b.call("list_payment_methods", customer_id=got["customer_id"])
    b.answer(after["payment_methods"][gift_index]["balance"])
    return True


def order_total(b: TaskBuilder) -> bool:
    order = b.pick(b.state["orders"].values())
    b.say(b.pick(["What was the total of order {}?", "How much did I pay for order {}?"]).format(order["order_id"]))
    got = b.call("get_order", order_id=order["order_id"])
    b.answer(got["total"])
    return True


def return_latest_delivered(b: TaskBuilder) -> bool:
    customer, (order,) = b.pick(_customers_with(b, "delivered"))
    who = _identify(b, customer)
    b.say(b.pick(["I want to return everything from my delivered order, ",
                  "Please send back all items of the order that was delivered to me, "]))
    b.say("refund to the original payment method.")
    listed = b.call("list_orders", customer_id=who["customer_id"])
    index = [o["order_id"] for o in listed.value["orders"]].index(order["order_id"])
    got = b.call("get_order", order_id=listed["orders"][index]["order_id"])
    b.call("return_items", order_id=got["order_id"], item_ids=[line["item_id"] for line in got["items"]],
           payment_method_id=got["payment_method_id"])
    return True


def return_all(b: TaskBuilder) -> bool:
    order = b.pick(o for o in b.state["orders"].values() if o["status"] == "delivered")
    b.say(b.pick(["Order {} didn't work out. ", "I'm not happy with order {}. "]).format(order["order_id"]))
    b.say(b.pick(["Please return everything in it to my original payment method. ",
                  "I want to send all of it back, refund to the card I paid with. "]))
    b.say("How much is the refund?")
    got = b.call("get_order", order_id=order["order_id"])
    done = b.call("return_items", order_id=order["order_id"], item_ids=[line["item_id"] for line in got["items"]],
                  payment_method_id=got["payment_method_id"])
    b.answer(done["refund"])
    return True


def exchange_color(b: TaskBuilder) -> bool:
    options = []
    for o in b.state["orders"].values():
        if o["status"] != "delivered":
            continue
        for line in o["items"]:
            product = b.state["products"][line["product_id"]]
            current = product["items"][line["item_id"]]
            for item in product["items"].values():
                same_size = item["size"] == current["size"] and item["color"] != current["color"]
                if same_size and item["available"]:
                    options.append((o, line, item))
    order, line, new = b.pick(options)
    b.say(f"In order {order['order_id']} I got the {line['name']}, but I'd prefer it in {new['color']}, "
          f"same size. Can you exchange it? Charge any difference to my credit card.")
    got = b.call("get_order", order_id=order["order_id"])
    index = [l["item_id"] for l in got.value["items"]].index(line["item_id"])
    product = b.call("get_product", product_id=got["items"][index]["product_id"])
    new_index = [i["item_id"] for i in product.value["items"]].index(new["item_id"])
    b.call("exchange_items", order_id=order["order_id"], item_ids=[got["items"][index]["item_id"]],
           new_item_ids=[product["items"][new_index]["item_id"]], payment_method_id=got["payment_method_id"])
    return True


def new_address(b: TaskBuilder) -> bool:
    customer = b.pick(b.state["customers"].values())
    street = f"{int(b.rng.integers(1, 999))} {b.pick(STREETS)}"
    city, zip_code = b.pick(CITIES), f"{int(b.rng.integers(10000, 99999))}"
    who = _identify(b, customer)
    b.say(f"I moved: my new address is {street}, {city}, {zip_code}. Please update my profile")
    pending = [o for o in b.state["orders"].values()
               if o["customer_id"] == customer["customer_id"] and o["status"] == "pending"]
    b.call("update_customer_address", customer_id=who["customer_id"], street=street, city=city, zip=zip_code)
    if pending:
        b.say(" and send my pending orders there too.")
        listed = b.call("list_orders", customer_id=who["customer_id"])
        for i, o in enumerate(listed.value["orders"]):
            if o["status"] == "pending":
                b.call("modify_shipping_address", order_id=listed["orders"][i]["order_id"],
                       street=street, city=city, zip=zip_code)
    else:
        b.say(".")
    return True


def gift_card_balance(b: TaskBuilder) -> bool:
    gift = b.pick(pm for pm in b.state["payment_methods"].values() if pm["kind"] == "gift_card")
    customer = b.state["customers"][gift["customer_id"]]
    who = _identify(b, customer)
    b.say(b.pick(["How much is left on my gift card?", "What's my gift card balance?"]))
    methods = b.call("list_payment_methods", customer_id=who["customer_id"])
    index = [m["payment_method_id"] for m in methods.value["payment_methods"]].index(gift["payment_method_id"])
    b.answer(methods["payment_methods"][index]["balance"])
    return True


def product_price(b: TaskBuilder) -> bool:
    product = b.pick(b.state["products"].values())
    item = b.pick(product["items"].values())
    b.say(f"How much does the {product['name']} cost in {item['color']}, size {item['size']}?")
    found = b.call("search_products", query=product["name"])
    index = [p["product_id"] for p in found.value["products"]].index(product["product_id"])
    got = b.call("get_product", product_id=found["products"][index]["product_id"])
    item_index = [i["item_id"] for i in got.value["items"]].index(item["item_id"])
    b.answer(got["items"][item_index]["price"])
    return True


# User phrasings per tool for the synthesizer; the template rules are in rods_envs/synth/phrasing.py.
PHRASES = {
    "find_customer_by_email": [
        "Could you look up the {field} for the account under {email}?",
        "What is the {field} of the customer registered with {email}?",
    ],
    "find_customer_by_name_zip": [
        "Could you find the {field} for the customer {first_name} {last_name} with zip code {zip}?",
        "What is the {field} of the account held by {first_name} {last_name}, zip code {zip}?",
    ],
    "get_customer": [
        "What {field} do you have on file for {customer_id}?",
        "Could you check the {field} in the profile of {customer_id}?",
        "What is the {field} on the account of {customer_id}?",
    ],
    "list_orders": [
        "What is the {field} of {subject}?",
        "Looking at the orders of {customer_id}, what is the {field} of {subject}?",
        "Could you check the {field} of {subject} for {customer_id}?",
    ],
    "get_order": [
        "What is the {field} of {order_id}?",
        "Could you tell me the {field} for {order_id}?",
        "In {order_id}, what is the {field} of {subject}?",
    ],
    "search_products": [
        "I'm searching for {query}: what is the {field} of {subject}?",
        "Among the products matching {query}, what is the {field} of {subject}?",
        "Could you search for {query} and tell me the {field} of {subject}?",
    ],
    "get_product": [
        "For {product_id}, what is the {field} of {subject}?",
        "Looking at {product_id}, could you tell me the {field} of {subject}?",
        "What is the {field} of {product_id}?",
    ],
    "list_payment_methods": [
        "What is the {field} of {subject}?",
        "Among the payment methods of {customer_id}, what is the {field} of {subject}?",
        "Could you check the {field} of {subject} on file for {customer_id}?",
    ],
    "cancel_order": [
        "Please cancel {order_id}; the reason is {reason}.",
        "I'd like {order_id} cancelled ({reason}).",
        "Can you cancel {order_id}? Reason: {reason}.",
        "Please go ahead and cancel {order_id}, with the reason {reason}.",
    ],
    "modify_shipping_address": [
        "Please ship {order_id} to {street}, {city} {zip} instead.",
        "Could you change the shipping address of {order_id} to {street}, {city}, zip {zip}?",
        "I'd like {order_id} delivered to a new address: {street}, {city}, zip code {zip}.",
    ],
    "update_customer_address": [
        "Please update the default address of {customer_id} to {street}, {city} {zip}.",
        "Could you change the address on file for {customer_id} to {street}, {city}, zip {zip}?",
        "I've moved: the profile of {customer_id} should now say {street}, {city}, zip code {zip}.",
    ],
    "return_items": [
        "I'd like to return {item_ids} from {order_id}; please refund {payment_method_id}.",
        "Please process a return of {item_ids} from {order_id}, with the refund going to {payment_method_id}.",
        "Can you take back {item_ids} from {order_id}? Refund it to {payment_method_id}.",
    ],
    "exchange_items": [
        "Please exchange {item_ids} from {order_id} for {new_item_ids}, and settle any difference with "
        "{payment_method_id}.",
        "In {order_id}, I'd like to swap {item_ids} for {new_item_ids}; use {payment_method_id} for any "
        "price difference.",
        "Can you exchange {item_ids} of {order_id} for {new_item_ids}? Any difference goes on "
        "{payment_method_id}.",
    ],
    "get_return": [
        "What is the {field} of {return_id}?",
        "Could you check the {field} for {return_id}?",
        "I'd like to know the {field} of {return_id}.",
    ],
}

DOMAIN = Domain(
    name="retail",
    description="Customer service for an online shop: orders, returns, exchanges, payments.",
    tools=TOOLS,
    make_world=make_world,
    scenarios=[order_status, order_total, cancel_pending, cancel_by_id, return_to_gift_card, return_all,
               return_latest_delivered,
               exchange_color, new_address, gift_card_balance, product_price],
    phrases=PHRASES,
)
