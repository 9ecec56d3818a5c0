"""The compiled acceptor never accepts what jsonschema rejects, on every real tool signature."""

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

import rods_envs
from rods_envs.validation import ArgumentValidator

TOOLS = [t for d in rods_envs.DOMAINS.values() for t in d.tools.values()]

noise = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-5, 5) | st.text(max_size=4)
    | st.sampled_from(["", 0, 1, True, 1.0, -0.0]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def near(schema: dict):
    """Values that mostly fit ``schema``, sometimes not: the acceptor's hard cases."""
    kind = schema.get("type")
    if "enum" in schema:
        fit = st.sampled_from(schema["enum"])
    elif kind == "string":
        fit = st.text(max_size=schema.get("maxLength", 6) + 1)
    elif kind == "integer":
        fit = st.integers(schema.get("minimum", -3) - 1, schema.get("maximum", 100) + 1)
    elif kind == "number":
        fit = st.floats(schema.get("minimum", -3) - 1, schema.get("maximum", 100) + 1) | st.integers(-2, 100)
    elif kind == "boolean":
        fit = st.booleans()
    elif kind == "array":
        fit = st.lists(near(schema.get("items", {})), max_size=schema.get("maxItems", 3) + 1)
    elif kind == "object":
        fit = st.fixed_dictionaries({k: near(v) for k, v in schema.get("properties", {}).items()})
    else:
        fit = noise
    return st.one_of(fit, fit, fit, noise)


@st.composite
def arguments(draw):
    tool = draw(st.sampled_from(TOOLS))
    props = tool.parameters["properties"]
    chosen = draw(st.lists(st.sampled_from(sorted(props)), unique=True)) if props else []
    args = {k: draw(near(props[k])) for k in chosen}
    if draw(st.booleans()):
        args.update(draw(st.dictionaries(st.text(max_size=4), noise, max_size=1)))
    return tool, args


@settings(max_examples=3000, deadline=None)
@given(arguments())
def test_acceptor_never_accepts_what_jsonschema_rejects(case):
    tool, args = case
    expected = jsonschema.Draft202012Validator(tool.parameters).is_valid(args)
    if tool.validator._accept is not None and tool.validator._accept(args):
        assert expected
    assert (tool.validator.error(args) is None) == expected


def test_every_tool_signature_compiles():
    assert all(t.validator._accept is not None for t in TOOLS)


def test_error_messages_name_the_field():
    v = ArgumentValidator({"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}},
                           "required": ["n"], "additionalProperties": False})
    assert v.error({"n": 3}) is None
    assert "n: -1 is less than the minimum of 0" == v.error({"n": -1})
    assert "True is not of type 'integer'" in v.error({"n": True})
