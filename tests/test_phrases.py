"""The user phrasing templates each native domain gives the task synthesizer (``Domain.phrases``)."""

import string

import numpy as np
import pytest

import rods_envs
from rods_envs.synth.phrasing import ParamView, Phrasebook, noun, words
from rods_envs.synth.realize import Selector
from rods_envs.tool import SEMANTIC

DOMAINS = sorted(rods_envs.DOMAINS)
EXTRA = {"field", "subject"}   # the two fields every template may use besides the tool's parameters


def fields(template: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]


def cases():
    for name in DOMAINS:
        domain = rods_envs.get_domain(name)
        for tool in domain.tools.values():
            for template in domain.phrases.get(tool.name, []):
                yield pytest.param(tool, template, id=f"{name}.{tool.name}:{template[:30]}")


def answer_paths(schema: dict, path: tuple = (), lists: int = 0):
    """(path, inside a list element?) of every scalar, non-id result field a user could ask for."""
    if schema.get("type") == "object":
        for key, sub in schema.get("properties", {}).items():
            yield from answer_paths(sub, path + (key,), lists)
    elif schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        if lists == 0:
            yield from answer_paths(schema["items"], path + ("*",), lists + 1)
    elif schema.get("type") in ("string", "integer", "number") and path:
        name = next(str(key) for key in reversed(path) if key != "*")
        if not name.endswith(("id", "ids")):   # ids are for the agent to use, not for the user to ask
            yield path, lists > 0


def sample(tool, kind: str) -> dict:
    """Each parameter rendered the way the phrasebook renders a value of ``kind``."""
    out = {}
    for name, schema in tool.parameters["properties"].items():
        what = noun(schema.get(SEMANTIC) or name)
        out[name] = {"stated": f"<{name} value>", "withheld": f"my {what}",
                     "selected": f"the {what} whose status is pending", "derived": f"the new {what}"}[kind]
    return out | {"field": "status", "subject": "the order whose status is pending"}


@pytest.mark.parametrize("name", DOMAINS)
def test_every_tool_has_two_to_four_distinct_templates(name):
    domain = rods_envs.get_domain(name)
    assert set(domain.phrases) == set(domain.tools), "phrases must cover exactly the domain's tools"
    for tool, templates in domain.phrases.items():
        assert 2 <= len(templates) <= 4, f"{tool}: {len(templates)} templates"
        assert len(set(templates)) == len(templates), f"{tool}: repeated template"


@pytest.mark.parametrize("tool, template", list(cases()))
def test_template_fields_are_parameters_field_or_subject(tool, template):
    names = fields(template)
    assert names or not tool.parameters["required"], "a template without fields names none of the values"
    assert set(names) <= set(tool.parameters["properties"]) | EXTRA, f"unknown field in {template!r}"
    for _, f, spec, conversion in string.Formatter().parse(template):
        assert not spec and conversion is None, f"format specs break on phrases: {template!r}"


@pytest.mark.parametrize("tool, template", list(cases()))
def test_template_reads_with_every_kind_of_value(tool, template):
    for kind in ("stated", "withheld", "selected", "derived"):
        text = template.format(**sample(tool, kind))
        assert "{" not in text and "}" not in text and "  " not in text
        assert text[0].isupper(), f"starts with a placeholder: {template!r}"
    parts = list(string.Formatter().parse(template))
    assert parts[-1][1] is None and parts[-1][0].rstrip()[-1:] in {".", "?"}, \
        f"must end in words and a full stop or question mark, not a placeholder: {template!r}"


@pytest.mark.parametrize("name", DOMAINS)
def test_write_templates_state_every_required_value(name):
    domain = rods_envs.get_domain(name)
    for tool in (t for t in domain.tools.values() if t.writes):
        props = tool.parameters["properties"]
        needed = {p for p in tool.parameters["required"] if props[p].get("type") != "boolean"}
        for template in domain.phrases.get(tool.name, []):
            used = set(fields(template))
            assert needed <= used, f"{tool.name}: {template!r} leaves out {sorted(needed - used)}"
            # {field} is empty when the user asks nothing about the call, and {subject} is an answer's
            assert not used & EXTRA, f"{tool.name}: a write template may not ask a question: {template!r}"


@pytest.mark.parametrize("name", DOMAINS)
def test_read_templates_ask_and_cover_where_the_answer_sits(name):
    domain = rods_envs.get_domain(name)
    for tool in (t for t in domain.tools.values() if not t.writes):
        templates = domain.phrases.get(tool.name, [])
        assert all(set(fields(t)) & EXTRA for t in templates), f"{tool.name}: a question names no answer"
        params = set(tool.parameters["properties"])
        paths = list(answer_paths(tool.result))
        if any(in_list for _, in_list in paths):
            assert any("subject" in fields(t) for t in templates), f"{tool.name}: no template says which element"
        if any(not in_list and path[-1] not in params for path, in_list in paths):
            assert any("subject" not in fields(t) for t in templates), f"{tool.name}: every template needs an element"


@pytest.mark.parametrize("name", DOMAINS)
def test_some_template_needs_only_required_parameters(name):
    """Optional parameters are often left out of a call; a template naming one is then skipped."""
    domain = rods_envs.get_domain(name)
    for tool in domain.tools.values():
        allowed = set(tool.parameters["required"]) | EXTRA
        assert any(set(fields(t)) <= allowed for t in domain.phrases.get(tool.name, [])), tool.name


@pytest.mark.parametrize("name", DOMAINS)
def test_phrasebook_uses_the_templates_and_keeps_stated_values(name):
    """Through the real Phrasebook: a call of every tool, its required values stated and (for a read)
    each field a user could ask about, is phrased by the domain's templates with every value written
    out and the question naming what is asked."""
    domain = rods_envs.get_domain(name)
    book = Phrasebook(domain.phrases)
    rng = np.random.default_rng(7)
    skeleton = type("OneTurn", (), {"turns": 1})()
    for tool in domain.tools.values():
        params = {p: ParamView(p, p, "stated", f"value-of-{p}") for p in tool.parameters["required"]}
        asked = [None] if tool.writes else [path for path, _ in answer_paths(tool.result)] or [None]
        for path in asked:
            answer = None
            if path is not None:
                star = path.index("*") if "*" in path else None
                selector = None if star is None else Selector(f"{path[star - 1]} element", "colour", "teal", 1)
                concrete = [0 if key == "*" else key for key in path]
                answer = {"field": str(concrete[-1]), "path": concrete, "selector": selector}
            view = {"node": 0, "tool": tool.name, "turn": 0, "writes": tool.writes, "params": params,
                    "answer": answer}
            for _ in range(4):
                text = book.turns(skeleton, [view], rng)[0]["instruction"]
                assert "{" not in text and all(f"value-of-{p}" in text for p in params), text
                assert not text.endswith(f"Please {words(tool.name)}."), f"generic sentence: {text}"
                if answer:   # it names the field asked for, or (a line of a file, say) the element itself
                    assert words(answer["field"]) in text or "whose colour is teal" in text, text
