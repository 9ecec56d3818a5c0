"""Shared checks for the per-domain tool tests: a call's result fits its declared schema, and a
refused call raises ToolError and leaves the state exactly as it was."""

import copy
import json

import jsonschema
import pytest

from rods_envs.tool import ToolError


def checked_call(tools, state, name, /, **args):
    result = tools[name](state, args)
    jsonschema.validate(json.loads(json.dumps(result)), tools[name].result)
    return result


def refused_call(tools, state, name, /, match=None, **args) -> str:
    before = copy.deepcopy(state)
    with pytest.raises(ToolError, match=match) as caught:
        tools[name](state, args)
    assert state == before, f"{name} changed the state although it refused"
    return str(caught.value)
