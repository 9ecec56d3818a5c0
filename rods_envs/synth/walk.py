"""Skill-aligned resampling: new plans that match a seed's signature, walked on the API graph and
executed forward on the new world as they grow.

The walk starts at a tool whose inputs the user can state, then follows API-graph edges, each
call consuming a value the previous one produced, until the seed's depth is reached; more calls
branch off without deepening the plan. Every proposed call is executed at once, so a refused one
is replaced by another proposal instead of sinking the whole plan; a spine call that nothing can
follow is taken back and replaced, and a branch that finds no place off one parent is tried off
another or as a new root. Proposals are read off the results so far (a list to pick from must
hold an element), so the walk does not try what cannot resolve. The calls are then cut into the
seed's number of turns, in order, so that every turn changes the state or owes the user a value
that is really there. Targets: the seed's depth and turn count, a call count within one of the
seed's, and the same set of tool categories.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..domain import Domain
from ..plan import lookup
from ..tool import SEMANTIC
from .draws import in_random_order
from .mutations import LiteralPool, answer_fields, bind_rest, fields_of_type
from .patterns import STAR, first_star
from .realize import Realisation, Realiser, tellable
from .skeleton import Node, Pick, Skeleton

PROPOSALS = 6      # proposals per position before the walk gives up on it
BACKTRACKS = 3     # spine calls a walk may take back when nothing can follow them
BRANCH_TRIES = 3   # places (a parent, or a new root) a branch is tried at


_LINKS: dict[tuple[int, str], list] = {}


def _links(domain: Domain, producer) -> list[tuple]:
    """(tool, [(parameter, result path)]) for every API-graph successor of ``producer``: where a
    produced value can flow. Fixed by the schemas, so computed once per tool."""
    memo = (id(domain), producer.name)
    if memo not in _LINKS:
        links = []
        for name in domain.api_graph.successors(producer.name):
            tool = domain.tools[name]
            # A pick chooses one element of one list: a path through two lists can never resolve.
            options = [(param, path) for param, schema in tool.parameters["properties"].items()
                       if schema.get(SEMANTIC) in producer.produces and schema.get("type") in ("string", "integer")
                       for path in fields_of_type(producer.result, schema[SEMANTIC]) if path.count(STAR) <= 1]
            if options:
                links.append((tool, options))
        _LINKS[memo] = links
    return _LINKS[memo]


_REACH: dict[tuple, bool] = {}


def _reaches(domain: Domain, tool, levels: int, categories: frozenset) -> bool:
    """Is there a chain of ``levels`` more links from ``tool`` through tools of ``categories``?
    The spine of a walk only takes tools that can still reach the seed's depth."""
    if levels <= 0:
        return True
    memo = (id(domain), tool.name, levels, categories)
    if memo not in _REACH:
        _REACH[memo] = any(nxt.category in categories and _reaches(domain, nxt, levels - 1, categories)
                           for nxt, _ in _links(domain, tool))
    return _REACH[memo]


_CHOICES: dict[tuple, list] = {}


def _candidates(domain: Domain, parent: str | None, categories: frozenset, levels: int) -> list:
    """What a walk may add: (tool, link options) for the API-graph successors of ``parent`` (or,
    with no parent, every tool, with no options) of ``categories`` from which ``levels`` more
    links can follow. Fixed by the schemas, so worked out once per question."""
    memo = (id(domain), parent, categories, levels)
    found = _CHOICES.get(memo)
    if found is None:
        if parent is None:
            found = [(tool, None) for tool in domain.tools.values()
                     if tool.category in categories and _reaches(domain, tool, levels, categories)]
        else:
            found = [link for link in _links(domain, domain.tools[parent])
                     if link[0].category in categories and _reaches(domain, link[0], levels, categories)]
        _CHOICES[memo] = found
    return found


def _resolves(value, path: tuple) -> bool:
    try:
        lookup(value, path)
        return True
    except (KeyError, IndexError, TypeError):
        return False


def _pickable(result, path: tuple) -> bool:
    """Can a pick of ``path`` resolve on ``result``: the field exists, and a list it chooses from
    has an element that holds it? (Otherwise realising it is refused before any call.)"""
    i = first_star(path)
    if i is None:
        return _resolves(result, path)
    try:
        items = lookup(result, path[:i])
    except (KeyError, IndexError, TypeError):
        return False
    return isinstance(items, list) and any(_resolves(x, path[i + 1:]) for x in items)


def _answerable(result, path: tuple) -> bool:
    """Can the user ask for ``path`` of ``result``: a scalar there, and in every element of a
    list it passes through (the element is chosen when the task is written)?"""
    i = first_star(path)
    try:
        if i is None:
            return tellable(lookup(result, path))
        items = lookup(result, path[:i])
        return isinstance(items, list) and bool(items) and all(tellable(lookup(x, path[i + 1:])) for x in items)
    except (KeyError, IndexError, TypeError):
        return False


def _answers(run: Realisation, n: int) -> list[tuple]:
    """The result fields of node ``n`` the user can be told, as realised."""
    return [p for p in answer_fields(run.domain.tools[run.nodes[n].tool].result) if _answerable(run.results[n], p)]


def _child(run: Realisation, parent_index: int, pool: LiteralPool, rng,
           categories: frozenset, levels: int = 0) -> Node | None:
    """A call of one of ``categories`` consuming something the call at ``parent_index``
    produced, along an API-graph edge, from which ``levels`` more links can follow. Only links
    whose value is there in the parent's actual result are proposed."""
    domain, result = run.domain, run.results[parent_index]
    links = _candidates(domain, run.nodes[parent_index].tool, categories, levels)
    for k in in_random_order(rng, len(links)):
        tool, options = links[k]
        options = [(param, path) for param, path in options if _pickable(result, path)]
        if not options:
            continue
        param, path = options[int(rng.integers(len(options)))]
        args = bind_rest(tool, {param: Pick(parent_index, path)}, pool, rng)
        if args is not None:
            return Node(tool.name, 0, args, None)
    return None


def _root(domain: Domain, pool: LiteralPool, rng, categories: frozenset, levels: int = 0) -> Node | None:
    """A call of one of ``categories`` whose every input the user can state, from which
    ``levels`` more links can follow."""
    tools = _candidates(domain, None, categories, levels)
    for k in in_random_order(rng, len(tools)):
        tool = tools[k][0]
        args = bind_rest(tool, {}, pool, rng)
        if args is not None:
            return Node(tool.name, 0, args, None)
    return None


def _grow(run: Realisation, propose) -> bool:
    """Add one of up to ``PROPOSALS`` proposed calls. A proposer that finds nothing to propose
    would find nothing again (what it may propose is fixed by the schemas, the literal pool and
    the results so far), so that ends the growth at once."""
    for _ in range(PROPOSALS):
        node = propose()
        if node is None:
            return False
        if run.add(node) is None:
            return True
    return False


def _cuts(run: Realisation, turns: int, answerable: list[bool], rng) -> list[int] | None:
    """Where to cut the walk's calls into ``turns`` turns: uniformly at random among the cuts that
    leave every turn a write that changed the state or a closing read the user can be told
    something from (counted by dynamic programming over suffix sums, not listed)."""
    n, changed, closes = len(run.nodes), run.changed, answerable
    # A turn nodes[s:e] is fine when it holds a changing write (e >= after[s], one past the
    # first changing write from s on) or ends with a closing read (closes[e - 1]).
    after = [n + 1] * (n + 1)
    for k in range(n - 1, -1, -1):
        after[k] = k + 1 if changed[k] else after[k + 1]
    # ways[left][s]: the fine cuttings of nodes[s:] into ``left`` turns.
    ways = [[0] * (n + 1), [int(s < n and (after[s] <= n or closes[n - 1])) for s in range(n + 1)]]
    for left in range(2, turns + 1):
        below = ways[left - 1]
        suffix = [0] * (n + 2)                  # suffix[e]: below[e] + ... + below[n - 1]
        for e in range(n - 1, -1, -1):
            suffix[e] = suffix[e + 1] + below[e]
        closing = [0] * (n + 1)                 # closing[e]: sum of below[e'] for e' < e closing a turn
        for e in range(1, n + 1):
            closing[e] = closing[e - 1] + (below[e - 1] if e - 1 >= 1 and closes[e - 2] else 0)
        row = [0] * (n + 1)
        for s in range(n):
            first = min(after[s], n)
            row[s] = suffix[max(s + 1, first)] + (closing[first] - closing[s + 1] if first > s + 1 else 0)
        ways.append(row)
    if ways[turns][0] == 0:
        return None
    cuts, start = [], 0
    for left in range(turns, 1, -1):
        below = ways[left - 1]
        weights = [below[e] if (e >= after[start] or closes[e - 1]) else 0 for e in range(start + 1, n)]
        pick = rng.random() * sum(weights)
        for offset, weight in enumerate(weights):
            pick -= weight
            if weight and pick < 0:
                break
        start = start + 1 + offset
        cuts.append(start)
    return cuts


def walk_like(signature: dict, categories: set, domain: Domain, pool: LiteralPool, realiser: Realiser,
              world: dict, rng: np.random.Generator, lineage: dict) -> tuple[Skeleton, Realisation] | None:
    depth, turns = signature["depth"], signature["turns"]
    categories = frozenset(categories)
    low = max(depth, turns, signature["calls"] - 1)
    calls = int(rng.integers(low, max(low, signature["calls"] + 1) + 1))
    run = Realisation(realiser, world, rng)
    depths: list[int] = []

    def wanted() -> frozenset:
        # Once the calls left are as few as the categories not yet used, only those will do.
        missing = categories - {domain.tools[n.tool].category for n in run.nodes}
        return frozenset(missing) if len(missing) >= calls - len(run.nodes) else categories

    backtracks = BACKTRACKS
    while len(run.nodes) < depth:          # the spine reaches the seed's depth
        here, levels = len(run.nodes), depth - len(run.nodes) - 1
        if here == 0:
            grown = _grow(run, lambda levels=levels: _root(domain, pool, rng, wanted(), levels))
        else:
            grown = _grow(run, lambda here=here, levels=levels: _child(run, here - 1, pool, rng, categories, levels))
        if grown:
            depths.append(here + 1)
        elif here > 0 and backtracks > 0:  # the last call leads nowhere: take it back, try another
            backtracks -= 1
            run.pop()
            depths.pop()
        else:
            return None
    while len(run.nodes) < calls:          # branches that do not deepen the plan
        parents = [i for i, d in enumerate(depths) if d < depth]
        # A branch off a random parent or a new root; if that finds nothing, another place.
        places = [parents[int(k)] for k in rng.permutation(len(parents))] if parents else []
        places = places + [None] if rng.random() < 0.6 else [None] + places
        for parent in places[:BRANCH_TRIES]:
            if parent is None:
                if _grow(run, lambda: _root(domain, pool, rng, wanted())):
                    depths.append(1)
                    break
            elif _grow(run, lambda parent=parent: _child(run, parent, pool, rng, wanted())):
                depths.append(depths[parent] + 1)
                break
        else:
            return None
    nodes = run.nodes
    if {domain.tools[n.tool].category for n in nodes} != categories:
        return None
    run.settle()      # a turn must change the state or owe an answer: know which writes changed it
    answers = [[] if domain.tools[n.tool].writes else _answers(run, k) for k, n in enumerate(nodes)]
    cuts = _cuts(run, turns, [bool(a) for a in answers], rng)
    if cuts is None:
        return None
    bounds = [0, *cuts, len(nodes)]
    placed = []
    for t in range(turns):
        segment = range(bounds[t], bounds[t + 1])
        writes = any(run.changed[k] for k in segment)
        for k in segment:
            node, options = nodes[k], answers[k]
            must = k == bounds[t + 1] - 1 and not writes       # a turn of reads owes an answer
            answer = options[int(rng.integers(len(options)))] if options and (must or rng.random() < 0.2) else None
            placed.append(replace(node, turn=t, answer=answer))
    return Skeleton(domain.name, tuple(placed), turns, lineage), run
