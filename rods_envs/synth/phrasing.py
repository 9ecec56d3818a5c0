"""User turns in natural language, from per-tool phrasing templates.

A domain may export ``PHRASES = {tool: [template, ...]}``; templates are ``str.format`` strings
whose fields are the tool's parameter names, plus ``{field}`` (the value the user asks for) and
``{subject}`` (how the user describes the entity it belongs to). The rng picks among templates,
so variants do not all read alike; a tool without templates gets a plain generic sentence.
Stated values no template mentions are given as details ("The reason is ..."); withheld values
are left out and become facts the user reveals when asked.

A parameter renders as a stated value ("#W1001"), a held-back one ("my order"), a list element
("the order whose status is pending") or an earlier result ("the new vm"), so in a template an id
or path never follows its own noun ("cancel {order_id}", not "cancel order {order_id}"), and free
text never ends one. Read tools whose answers can sit in a list have templates with ``{subject}``;
those with top-level answers, templates without it.

A ``Paraphraser`` may rewrite each instruction (an LLM, say); its output is kept only when every
value the task needs is still there verbatim.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

OPENERS = ["", "Hi. ", "Hello! ", "Hi there, ", "Good morning. "]
LINKS = ["Also, ", "Next, ", "One more thing: ", "Now ", "Thanks. "]


class MissingValue(ValueError):
    """A phrasing left out a value the agent needs: the variant must not be emitted."""


class Paraphraser(Protocol):
    def paraphrase(self, text: str, rng: np.random.Generator) -> str:
        """Reword ``text``; every value in it must survive verbatim."""


@dataclass
class ParamView:
    name: str
    semantic: str
    kind: str                  # stated | withheld | selected | derived
    value: Any = None
    selector: Any = None
    producer: str | None = None
    producer_writes: bool = False


def words(name: str) -> str:
    return name.replace("_", " ").strip()


def noun(semantic: str) -> str:
    text = words(semantic)
    return text[:-3] if text.endswith(" id") else text


def show(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(show(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def describe_selector(sel) -> str:
    if isinstance(sel, list):      # several elements of one list (item_ids=[...])
        return " and ".join(describe_selector(s) for s in sel)
    if sel.field is None:
        return f"the {_ordinal(sel.ordinal)} {sel.noun} listed"
    if sel.field == "":
        return f"the {sel.noun} {show(sel.value)}"
    return f"the {sel.noun} whose {words(sel.field)} is {show(sel.value)}"


def _ordinal(k: int) -> str:
    return {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}.get(k, f"{k}th")


def describe(p: ParamView) -> str:
    if p.kind == "stated":
        return show(p.value)
    if p.kind == "withheld":
        return f"my {noun(p.semantic)}"
    if p.kind == "selected":
        return describe_selector(p.selector)
    return f"the new {noun(p.semantic)}" if p.producer_writes else f"the {noun(p.semantic)}"


def must_keep(views: list[dict]) -> list[str]:
    """The values an instruction has to carry verbatim."""
    keep = []
    for view in views:
        for p in view["params"].values():
            if p.kind == "stated":
                keep.append(show(p.value))
            elif p.kind == "selected":
                selectors = p.selector if isinstance(p.selector, list) else [p.selector]
                keep += [show(s.value) for s in selectors if s.value is not None]
        answer = view["answer"]
        if answer and answer["selector"] and answer["selector"].value is not None:
            keep.append(show(answer["selector"].value))
    return keep


class Phrasebook:
    def __init__(self, templates: dict[str, list[str]] | None = None, paraphraser: Paraphraser | None = None):
        self.templates = templates or {}
        self.paraphraser = paraphraser
        self.paraphrases_rejected = 0
        self._fits: dict[tuple, list[str]] = {}

    def turns(self, skeleton, views: list[dict], rng: np.random.Generator) -> list[dict]:
        out = []
        for t in range(skeleton.turns):
            mine = [v for v in views if v["turn"] == t]
            text = self._instruction(mine, rng, first=(t == 0))
            if not all(k in text for k in must_keep(mine)):
                raise MissingValue("an instruction does not state a value the task needs")
            if self.paraphraser is not None:
                # A Paraphraser is promised a numpy Generator (the synthesizer draws with Draws).
                candidate = self.paraphraser.paraphrase(text, rng.generator() if hasattr(rng, "generator") else rng)
                # What the user asks for must survive too, or a turn of derived values could lose all.
                asked = [words(v["answer"]["field"]).lower() for v in mine if v["answer"]]
                if (isinstance(candidate, str) and candidate.strip() and all(k in candidate for k in must_keep(mine))
                        and all(a in candidate.lower() for a in asked)):
                    text = candidate
                else:
                    self.paraphrases_rejected += 1
            facts = [{"slot": words(p.name), "value": p.value, "reply": f"The {words(p.name)} is {show(p.value)}."}
                     for v in mine for p in v["params"].values() if p.kind == "withheld"]
            answers = [{"$ref": f"c{v['node'] + 1}", "path": v["answer"]["path"]} for v in mine if v["answer"]]
            out.append({"instruction": text, "facts": facts, "answers": answers})
        return out

    def _instruction(self, views: list[dict], rng, first: bool) -> str:
        sentences, mentioned = [], set()
        for view in views:
            if not (view["writes"] or view["answer"]):
                # A lookup on the way: say which list element it is about, if it picks one.
                for p in view["params"].values():
                    if p.kind == "selected":
                        about = f"It concerns {describe_selector(p.selector)}."
                        if about not in sentences:
                            sentences.append(about)
                continue
            sentence, used = self._sentence(view, rng)
            sentences.append(sentence)
            mentioned |= {(view["node"], name) for name in used}
            # A template need not name every input: a list element it leaves out is still
            # described, or the agent could not tell which one is meant.
            sentences += [f"For the {words(p.name)}, use {describe_selector(p.selector)}."
                          for p in view["params"].values() if p.kind == "selected" and p.name not in used]
        details = []
        for view in views:
            for p in view["params"].values():
                if p.kind == "stated" and (view["node"], p.name) not in mentioned:
                    line = f"The {words(p.name)} is {show(p.value)}."
                    if line not in details:
                        details.append(line)
        opener = (OPENERS if first else LINKS)[int(rng.integers(len(OPENERS if first else LINKS)))]
        text = " ".join(details + sentences)
        if opener.rstrip().endswith((",", ":")) or opener == "Now ":
            text = text[:1].lower() + text[1:]      # "Next, what is ..." rather than "Next, What is"
        return (opener + text).strip()

    def _fitting(self, tool: str, fields: frozenset, answer: bool, listed: bool) -> list[str]:
        """The templates of ``tool`` that ``fields`` can fill; {subject} names a list element,
        so it is used exactly when the answer lies in a list. (Memoised: the question recurs.)"""
        memo = (tool, fields, answer, listed)
        found = self._fits.get(memo)
        if found is None:
            found = self._fits[memo] = [t for t in self.templates.get(tool, ()) if _fields(t) <= fields
                                        and (not answer or ("subject" in _fields(t)) == listed)]
        return found

    def _sentence(self, view: dict, rng) -> tuple[str, set]:
        """A sentence for one call, and the names of the parameters it mentions."""
        params = view["params"]
        values = {name: describe(p) for name, p in params.items()}
        answer = view["answer"]
        primary = next((n for n, p in params.items() if p.kind != "stated"), None)
        listed = bool(answer and answer["selector"])
        subject = describe_selector(answer["selector"]) if listed else (values[primary] if primary else "it")
        values.update(subject=subject)
        if answer:
            values["field"] = words(answer["field"])
        options = self._fitting(view["tool"], frozenset(values), bool(answer), listed)
        if options:
            template = options[int(rng.integers(len(options)))]
            used = _fields(template)
            sentence = template.format(**values)
            if answer and view["writes"] and "field" not in used:   # a write whose result the user wants
                sentence += f" Please tell me the {words(answer['field'])}."
            return sentence, used | ({primary} if "subject" in used and not listed and primary else set())
        if answer:
            return f"What is the {words(answer['field'])} of {subject}?", {primary} if primary and not listed else set()
        targets = [n for n, p in params.items() if p.kind != "stated"]
        target = f" for {' and '.join(values[n] for n in targets)}" if targets else ""
        return f"Please {words(view['tool'])}{target}.", set(targets)


_FIELDS: dict[str, frozenset] = {}


def _fields(template: str) -> frozenset:
    """The fields a template fills in (parsed once per template)."""
    found = _FIELDS.get(template)
    if found is None:
        found = _FIELDS[template] = frozenset(f for _, f, _, _ in string.Formatter().parse(template) if f)
    return found
