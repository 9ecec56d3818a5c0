"""User turns for BFCL variants, from templates each function gets from its own doc.

BFCL's functions come with no phrasing templates, so every function gets the same few frames,
filled with what its doc says it does ("Tool description: Change the current working directory
to the specified folder." gives "change the current working directory to the specified folder")
and its name and arguments. The rng picks the frame. Nothing here knows any backend: a function
with a description and parameter names is all it takes.

Every stated value is written out in full (strings in quotes, as they are), and an instruction
that lacks one, or the name of a function it asks for, is refused (``MissingValue``); a value the agent reads off an earlier result is
named by that result's field and function instead ("the card_id that register_credit_card
returned"), and only where that field singles it out. The seed's own words are kept for the
calls they describe; added calls get sentences before or after them.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..synth.phrasing import LINKS, OPENERS, MissingValue, Paraphraser
from .synth_plan import Plan, Run, source_of

WRITE_FRAMES = ["Please {action}: use {name}{args}.", "I'd like you to {action}, via {name}{args}.",
                "Go ahead and {action} ({name}{args})."]
READ_FRAMES = ["Please {action}: use {name}{args}, and tell me what it returns.",
               "Could you {action}? Call {name}{args} and show me the result.",
               "I need to see this: {action}, via {name}{args}."]
_SENTENCE_END = re.compile(r"(?<=[a-z0-9)'\"])\.(\s|$)")


def _imperative(word: str) -> str:
    """'Gets' -> 'Get', 'Presses' -> 'Press': descriptions open in either mood."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-2] if word.endswith(("sses", "shes", "ches", "xes")) else word[:-1]
    return word


def action(description: str) -> str:
    """What a function does, as a verb phrase: the first sentence of its own description."""
    text = description.split("Tool description:")[-1].strip() or "run this function"
    first = _SENTENCE_END.split(text, maxsplit=1)[0].strip().rstrip(".")
    words = first.split(" ", 1)
    verb = _imperative(words[0])
    return (verb[:1].lower() + verb[1:] + (" " + words[1] if len(words) > 1 else "")).strip()


def render(value: Any) -> str:
    """A value as the user writes it: strings in quotes, unescaped, so the value is verbatim."""
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"'{k}': {render(v)}" for k, v in value.items()) + "}"
    return repr(value)


def needed(value: Any) -> list[str]:
    """The strings an instruction must contain for ``value`` to be stated verbatim."""
    if isinstance(value, list):
        return [s for v in value for s in needed(v)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [str(k), *needed(v)]]
    return [render(value).strip("'") if isinstance(value, str) else render(value)]


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


class Phraser:
    def __init__(self, functions: dict, paraphraser: Paraphraser | None = None):
        self.functions = functions              # name -> backends.Function
        self.paraphraser = paraphraser
        self.paraphrases_rejected = 0

    def sentence(self, k: int, run: Run, rng: np.random.Generator, omit: str | None = None) -> tuple[str, list[str]]:
        """The sentence asking for call ``k`` of ``run``, and the values it must state."""
        call = run.calls[k]
        function = self.functions[call.name]
        parts, keep = [], []
        for param, value in call.kwargs.items():
            if param == omit:
                continue
            source = source_of(run.parsed, k, value) if param in call.derive else None
            if source is not None:
                producer, key = source
                parts.append(f"{param} set to the {key} that {run.calls[producer].name} returned")
            else:
                parts.append(f"{param} {render(value)}")
                keep += needed(value)
        args = " with " + _join(parts) if parts else ""
        frames = READ_FRAMES if _reads(function) else WRITE_FRAMES
        frame = frames[int(rng.integers(len(frames)))]
        text = frame.format(action=action(function.doc.get("description", "")), name=call.name, args=args)
        return text[:1].upper() + text[1:], [call.name, *keep]      # a rewording keeps the function too

    def turns(self, plan: Plan, run: Run, rng: np.random.Generator) -> list[tuple[str, tuple]]:
        """The BFCL turns of ``plan`` as (what the user says, the gold calls); a withheld value
        makes two: the turn without it (no gold calls: the agent must ask), then the value."""
        out, k = [], 0
        for t, turn in enumerate(plan.turns):
            n = len(turn.calls)
            link = (OPENERS if t == 0 else LINKS)[int(rng.integers(len(OPENERS if t == 0 else LINKS)))]
            omit = turn.withhold
            if turn.templated:
                sentences, keep = [], []
                for i in range(n):
                    s, needs = self.sentence(k + i, run, rng, omit[1] if omit and omit[0] == i else None)
                    sentences.append(s)
                    keep += needs
                text = _lower_after(link, " ".join(sentences))
                _check(text, keep)
                text = self._paraphrased(text, keep, rng)
            else:
                before = [self.sentence(k + i, run, rng) for i in range(turn.lead)]
                after = [self.sentence(k + i, run, rng) for i in range(n - turn.tail, n)]
                human = _sentence(turn.human) if after else turn.human
                pieces = [_lower_after("First, ", s) for s, _ in before] + [human] + \
                    [_lower_after(LINKS[int(rng.integers(len(LINKS)))], s) for s, _ in after]
                text = " ".join(p for p in pieces if p)
                for s, needs in before + after:
                    _check(s, needs)
            calls = tuple(turn.calls)
            if omit is not None:
                i, param = omit
                value = turn.calls[i].kwargs[param]
                if any(s in text for s in needed(value)):
                    raise MissingValue("the withheld value is still in the instruction")
                out.append((text, ()))
                text = f"Sorry, I left something out: for {turn.calls[i].name}, the {param} is {render(value)}."
            out.append((text, calls))
            k += n
        return out

    def _paraphrased(self, text: str, keep: list[str], rng) -> str:
        if self.paraphraser is None:
            return text
        candidate = self.paraphraser.paraphrase(text, rng)
        if isinstance(candidate, str) and candidate.strip() and all(s in candidate for s in keep):
            return candidate
        self.paraphrases_rejected += 1
        return text


def _reads(function) -> bool:
    from .tools import backend_tools
    return not backend_tools(function.cls)[function.name].writes


def _lower_after(opener: str, text: str) -> str:
    """``opener`` then ``text``, lowercased where the opener leaves it mid-sentence ("Next,
    please ...", but never "Next, i ...")."""
    first = text.split(" ", 1)[0]
    if (opener.rstrip().endswith((",", ":")) or opener == "Now ") and first != "I" and not first.startswith("I'"):
        text = text[:1].lower() + text[1:]
    return (opener + text).strip()


def _sentence(text: str) -> str:
    """Human text that does not end a sentence gets a full stop before more is added."""
    text = text.rstrip()
    return text if not text or text[-1] in ".!?\"')" else text + "."


def _check(text: str, keep: list[str]) -> None:
    if not all(s in text for s in keep):
        raise MissingValue("an instruction does not state a value the task needs")
