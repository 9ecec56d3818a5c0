"""BFCL's Python call format: parsed with ast only, literal arguments only, never evaluated.

These tests need no bfcl-eval: the parser is plain Python.
"""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rods_envs.bfcl.calls import (MAX_PYTHON_CALLS, CallSyntaxError, PyCall, _ast_calls, _fast_calls,
                                  bind, format_call, parse_python_calls)


def test_reads_bfcl_gold_forms():
    assert parse_python_calls("[cd(folder='document'), mkdir(dir_name='temp'), ls()]") == [
        PyCall("cd", (), {"folder": "document"}), PyCall("mkdir", (), {"dir_name": "temp"}), PyCall("ls")]
    assert parse_python_calls("sort('final_report.pdf')") == [PyCall("sort", ("final_report.pdf",), {})]
    assert parse_python_calls("```python\n[pwd()]\n```") == [PyCall("pwd")]
    assert parse_python_calls("cd(folder='a')\nls(a=True)") == [PyCall("cd", (), {"folder": "a"}),
                                                                PyCall("ls", (), {"a": True})]
    call, = parse_python_calls("f(x=[1, -2.5, {'k': None}], y=(1, 2), z='it\\'s\\n')")
    assert call.kwargs == {"x": [1, -2.5, {"k": None}], "y": [1, 2], "z": "it's\n"}


@pytest.mark.parametrize("text", ["Sure, I moved the file.", "", "   ", "{\"name\": \"cd\"}",
                                  "[{\"name\": \"cd\", \"arguments\": {}}]", "hello world", "42"])
def test_text_that_is_not_a_call_is_left_to_the_other_parsers(text):
    assert parse_python_calls(text) is None


@pytest.mark.parametrize("text, reason", [
    ("os.system('rm -rf /')", "plain name"),
    ("[cd(folder=__import__('os').getcwd())]", "must be a literal"),
    ("cd(folder=x)", "must be a literal"),
    ("cd(**{'folder': 'x'})", "**arguments"),
    ("cd(*['x'])", "*arguments"),
    ("cd(folder='a', folder='b')", "given twice"),
    ("[cd(folder='a'), 5]", "expected a function call"),
    ("cd(folder=lambda: 1)", "must be a literal"),
    ("cd(folder={1, 2})", "must be a literal"),
    ("cd(folder=b'x')", "must be a literal"),
    ("cd(folder=1j)", "must be a literal"),
    ("cd(folder={1: 'x'})", "dict keys must be strings"),
    ("cd(folder='a'", "could not parse"),
    ("cd(folder='a')\nimport os", "no statements"),
    ("[" + ", ".join(["ls()"] * (MAX_PYTHON_CALLS + 1)) + "]", "at most"),
    ("f(" + "[" * 500 + "]" * 500 + ")", "could not parse"),
    ("f(x='\x00')", "could not parse"),
])
def test_anything_but_plain_literal_calls_is_refused_with_a_reason(text, reason):
    with pytest.raises(CallSyntaxError, match=re.escape(reason)):
        parse_python_calls(text)


def test_nothing_is_evaluated(tmp_path):
    target = tmp_path / "pwned"
    for text in [f"[touch(file_name=open({str(target)!r}, 'w').write('x'))]",
                 f"__import__('pathlib').Path({str(target)!r}).touch()",
                 f"exec(\"open({str(target)!r}, 'w')\")"]:
        try:
            parse_python_calls(text)
        except CallSyntaxError:
            pass
    assert not target.exists()


def test_bind_maps_positional_arguments_in_signature_order():
    assert bind(PyCall("diff", ("a", "b"), {}), ("file_name1", "file_name2")) == {"file_name1": "a", "file_name2": "b"}
    with pytest.raises(CallSyntaxError, match="at most 1"):
        bind(PyCall("cd", ("a", "b"), {}), ("folder",))
    with pytest.raises(CallSyntaxError, match="multiple values"):
        bind(PyCall("cd", ("a",), {"folder": "b"}), ("folder",))


# -- the fast path must read exactly what the ast path reads ------------------------------------
names = st.sampled_from(["cd", "ls", "post_tweet", "f", "_x", "place_order", "True", "lambda", "print"])
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12))
literals = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)
spaces = st.sampled_from(["", " ", "  ", "\n", "\t", " \n "])


@st.composite
def call_texts(draw):
    def one():
        name = draw(names)
        positional = [repr(v) for v in draw(st.lists(literals, max_size=2))]
        keywords = [f"{k}{draw(spaces)}={draw(spaces)}{v!r}"
                    for k, v in draw(st.dictionaries(st.sampled_from(["a", "b", "folder", "if", "x1"]),
                                                     literals, max_size=3)).items()]
        sep = "," + draw(spaces)
        tail = draw(st.sampled_from(["", ","])) if positional or keywords else ""
        return f"{name}{draw(spaces)}({sep.join(positional + keywords)}{tail})"
    calls = [one() for _ in range(draw(st.integers(1, 3)))]
    text = "[" + ", ".join(calls) + "]" if len(calls) > 1 or draw(st.booleans()) else calls[0]
    mutation = draw(st.sampled_from(["none", "none", "drop", "dup", "insert"]))
    if mutation != "none" and text:
        i = draw(st.integers(0, len(text) - 1))
        text = {"drop": text[:i] + text[i + 1:], "dup": text[:i] + text[i] + text[i:],
                "insert": text[:i] + draw(st.sampled_from(list("()[]{},:='\"-\\.0e_ x#\u00e9\u3000"))) + text[i:]}[mutation]
    return text


def _ast_result(text):
    try:
        return _ast_calls(text.strip())
    except CallSyntaxError as exc:
        return exc


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=call_texts())
def test_fast_path_accepts_only_what_ast_reads_the_same_way(text):
    fast = _fast_calls(text.strip())
    if fast is not None:
        assert fast == _ast_result(text)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200) | call_texts())
def test_parser_raises_nothing_but_call_syntax_errors(text):
    try:
        parse_python_calls(text)
    except CallSyntaxError as exc:
        assert str(exc) and "\n" not in str(exc)


@settings(max_examples=200, deadline=None)
@given(kwargs=st.dictionaries(st.sampled_from(["a", "folder", "numbers"]), literals, max_size=3))
def test_format_call_reads_back(kwargs):
    call, = parse_python_calls(format_call("f", kwargs))
    assert call == PyCall("f", (), kwargs)
