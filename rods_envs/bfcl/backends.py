"""BFCL's backend classes, one private set of instances per episode, and calls run on them.

BFCL's executor keeps instances in module globals keyed by model name and task id, so two
rollouts of one task share state. Here each task's instances are built once, exactly as BFCL
builds them (``_load_scenario`` on a deep copy of the task's ``initial_config``), and pickled at
once; every episode unpickles its own copy. Unpickling also cuts the links that some backends
keep to module-level data (the long-context credit cards are shared dicts in BFCL), so one
episode can never change what another one sees.

A call's result is rendered as BFCL renders it (a str as is, a dict as JSON, anything else with
``str``; an exception as ``"Error during execution: ..."``), because BFCL's response check
compares these strings.
"""

from __future__ import annotations

import contextlib
import copy
import decimal
import importlib
import inspect
import json
import marshal
import pickle
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .install import require_bfcl

# The eight classes of the multi-turn categories (BFCL's executor also serves web search and
# memory backends, for other categories).
MULTI_TURN_CLASSES = ("GorillaFileSystem", "MathAPI", "MessageAPI", "TwitterAPI", "TicketAPI",
                      "TradingBot", "TravelAPI", "VehicleControlAPI")
ERROR_PREFIX = "Error during execution: "
_PICKLE = pickle.HIGHEST_PROTOCOL


def _json_encoder():
    """``json.dumps(x)`` with default settings, minus its per-call cost of building a C encoder
    (half the time of encoding a small result). Without the circular-reference bookkeeping, a
    cyclic value raises RecursionError instead of ValueError: both mean "not JSON" to the caller."""
    from json import encoder
    if encoder.c_make_encoder is None:
        return json.JSONEncoder().encode
    make = encoder.c_make_encoder(None, json.JSONEncoder().default, encoder.encode_basestring_ascii,
                                  None, ": ", ", ", False, False, True)
    return lambda value: "".join(make(value, 0))


_encode_json = _json_encoder()


@lru_cache(maxsize=None)
def backend_class(name: str) -> type:
    require_bfcl()
    from bfcl_eval.constants.executable_backend_config import CLASS_FILE_PATH_MAPPING
    if name not in MULTI_TURN_CLASSES:
        raise ValueError(f"unknown BFCL multi-turn backend {name!r}; known: {list(MULTI_TURN_CLASSES)}")
    return getattr(importlib.import_module(CLASS_FILE_PATH_MAPPING[name]), name)


def _stateless(name: str) -> bool:
    from bfcl_eval.constants.executable_backend_config import STATELESS_CLASSES
    return name in STATELESS_CLASSES


def build_instances(task) -> dict[str, Any]:
    """The task's backends as BFCL's executor builds them at the start of an episode."""
    instances = {}
    for name in task.classes:
        instance = backend_class(name)()
        if not _stateless(name):
            instance._load_scenario(copy.deepcopy(task.initial_config.get(name, {})),
                                    long_context=task.long_context)
        instances[name] = instance
    return instances


_TEMPLATES: dict[str, bytes] = {}


def initial_blob(task) -> bytes:
    """The task's freshly built backends, pickled (built once per task and process)."""
    blob = _TEMPLATES.get(task.id)
    if blob is None:
        blob = _TEMPLATES[task.id] = pickle.dumps(build_instances(task), _PICKLE)
    return blob


def share_backends(task, like) -> None:
    """``task`` starts from ``like``'s backends (the same initial_config, classes and mode): a
    synthesized variant reuses its seed's pickled copy instead of keeping its own."""
    _TEMPLATES.setdefault(task.id, initial_blob(like))


def forget_backends(task) -> None:
    _TEMPLATES.pop(task.id, None)


def fresh_instances(task) -> dict[str, Any]:
    """A private copy of the task's backends for one episode."""
    return pickle.loads(initial_blob(task))


class _PaddingEncodings:
    """JSON of the large constant values in BFCL's long-context data, encoded once.

    Long-context results embed module-level lists such as 2,000-float moving averages; encoding
    those dominates a call's cost, for BFCL as for us. A result dict whose value *is* one of these
    objects, still equal to its pristine copy, is encoded with that value swapped for a marker
    and the cached JSON put in its place: the same bytes as ``json.dumps``, at a fraction of the
    cost. Anything else (a changed constant, a marker that is not unique) takes the plain path.
    ("Equal" is Python's ==, which would miss a float turned into an equal int; nothing in BFCL
    writes to these constants.)
    """

    MIN_ITEMS = 100

    def __init__(self):
        self.by_id: dict[int, tuple[Any, str, str, str]] | None = None

    def _load(self) -> dict:
        from bfcl_eval.eval_checker.multi_turn_eval.func_source_code import long_context
        by_id = {}
        for name, value in vars(long_context).items():
            if name.isupper() and type(value) in (list, dict) and len(value) >= self.MIN_ITEMS:
                try:
                    encoded = _encode_json(value)
                except (TypeError, ValueError):
                    continue            # not JSON: results holding it take BFCL's str() path
                marker = f"\x00rods:{name}\x00"
                by_id[id(value)] = (copy.deepcopy(value), encoded, marker, _encode_json(marker))
        return by_id

    def encode(self, result: dict) -> str:
        if self.by_id is None:
            self.by_id = self._load()
        swaps = None
        for key, value in result.items():
            entry = self.by_id.get(id(value))
            if entry is not None and value == entry[0]:
                swaps = swaps or []
                swaps.append((key, entry))
        if swaps is None:
            return _encode_json(result)
        skeleton = dict(result)
        for key, (_, _, marker, _) in swaps:
            skeleton[key] = marker
        text = _encode_json(skeleton)
        for _, (_, encoded, _, quoted_marker) in swaps:
            if text.count(quoted_marker) != 1:
                return _encode_json(result)
            text = text.replace(quoted_marker, encoded)
        return text


_padding = _PaddingEncodings()


def render_result(result: Any) -> str:
    """A result as BFCL's executor turns it into the string the model sees and the checker compares."""
    if type(result) is str:
        return result
    if type(result) is dict:
        try:
            return _padding.encode(result)
        except Exception:  # BFCL falls back to str() for values JSON cannot hold (Decimal, mpf)
            return str(result)
    return str(result)


@contextlib.contextmanager
def _numeric_context():
    """The math backend sets decimal's and mpmath's global precision; keep that inside the call."""
    import mpmath
    dps = mpmath.mp.dps
    try:
        with decimal.localcontext():
            yield
    finally:
        mpmath.mp.dps = dps


def _too_costly(name: str, kwargs: dict) -> str | None:
    """Why a call would run for minutes or exhaust memory (BFCL would run it), else None.
    The limits are far beyond any value in BFCL's data."""
    if name in ("logarithm", "square_root"):
        precision = kwargs.get("precision")
        if type(precision) in (int, float) and precision > 1000:
            return "precision above 1000 digits is refused here"
    elif name == "power":
        base, exponent = kwargs.get("base"), kwargs.get("exponent")
        if type(base) is int and type(exponent) is int and exponent > 0 \
                and exponent * max(base.bit_length(), 1) > 1_000_000:
            return "the result would have over a million bits; refused here"
    return None


def _copy(value: Any) -> Any:
    try:
        return marshal.loads(marshal.dumps(value))    # JSON-like values: exact, and fast
    except (ValueError, TypeError):
        return copy.deepcopy(value)


@dataclass(eq=False)
class Function:
    """One backend method the agent can call: its class, JSON Schema and Python signature.

    Arguments are not validated against the schema before the call: BFCL runs any call that
    Python can bind (its own gold passes a string where the doc says integer), and the verdicts
    must be BFCL's. Python's and the backend's own errors come back as BFCL renders them.
    """

    name: str
    cls: str
    schema: dict                      # JSON Schema of the keyword arguments
    doc: dict                         # BFCL's function doc, as shipped
    parameters: tuple[str, ...]       # in the method's order (positional arguments bind to these)
    fresh_defaults: dict = field(default_factory=dict)   # mutable defaults, copied for each call

    def __post_init__(self):
        self.guarded = self.cls == "MathAPI"

    def run(self, instances: dict, kwargs: dict) -> str:
        """Run on ``instances`` and render the result as BFCL does; never raises."""
        if self.guarded:
            refused = _too_costly(self.name, kwargs)
            if refused is not None:
                return f"{ERROR_PREFIX}{self.name}: {refused}"
        # Backends keep argument objects in their state (a posted tweet keeps its mentions list):
        # pass copies, so what the agent sent, and the recorded trajectory, never change.
        for value in kwargs.values():
            if type(value) in (list, dict):
                kwargs = {k: (_copy(v) if type(v) in (list, dict) else v) for k, v in kwargs.items()}
                break
        if self.fresh_defaults:
            kwargs = dict(kwargs)
            for key, default in self.fresh_defaults.items():
                if key not in kwargs:
                    kwargs[key] = copy.deepcopy(default)   # Python shares a mutable default across calls
        try:
            method = getattr(instances[self.cls], self.name)
            if self.guarded:
                with _numeric_context():
                    return render_result(method(**kwargs))
            return render_result(method(**kwargs))
        except Exception as exc:  # noqa: BLE001 - BFCL reports every exception this way
            try:
                return f"{ERROR_PREFIX}{exc}"
            except Exception:
                return f"{ERROR_PREFIX}{type(exc).__name__}"


def _python_parameters(cls: type, name: str) -> tuple[tuple[str, ...], dict]:
    signature = inspect.signature(getattr(cls, name))
    params = [p for p in signature.parameters.values() if p.name != "self"]
    mutable = {p.name: p.default for p in params if type(p.default) in (list, dict, set)}
    return tuple(p.name for p in params), mutable


@lru_cache(maxsize=None)
def class_functions(cls_name: str) -> dict[str, Function]:
    """The callable functions of one backend, from BFCL's function docs."""
    from .schemas import load_func_docs, parameters_schema
    cls = backend_class(cls_name)
    functions = {}
    for doc in load_func_docs(cls_name):
        order, mutable = _python_parameters(cls, doc["name"])
        functions[doc["name"]] = Function(doc["name"], cls_name, parameters_schema(doc), doc, order, mutable)
    return functions


@lru_cache(maxsize=None)
def all_functions() -> dict[str, Function]:
    """Every function of the multi-turn backends by name (BFCL's names are unique across them)."""
    out: dict[str, Function] = {}
    for cls_name in MULTI_TURN_CLASSES:
        for name, function in class_functions(cls_name).items():
            if name in out:
                raise ValueError(f"function {name} is defined by both {out[name].cls} and {cls_name}")
            out[name] = function
    return out


def public_state(instance: Any) -> dict:
    """What BFCL's state check compares: the instance's attributes not starting with '_'."""
    return {k: v for k, v in vars(instance).items() if not k.startswith("_")}


_MISSING = object()


def same_state(instances: dict, expected: dict[str, dict]) -> bool:
    """BFCL's state check: every public attribute of every expected instance equals the live one."""
    try:
        for cls_name, attributes in expected.items():
            instance = instances[cls_name]
            for key, value in attributes.items():
                if getattr(instance, key, _MISSING) != value:
                    return False
    except RecursionError:   # a directory tree nested thousands deep cannot equal gold's
        return False
    return True
