"""A tap's answer as the HTTP routes send it, for tests that tap the runtime directly."""

from __future__ import annotations

import json

from floor.core.commands import Command
from floor.runtime import Answer, ClinicRuntime
from floor.web.http import tap_answer
from floor.wire import encode


def answered(runtime: ClinicRuntime, command: Command, answer: Answer) -> dict:
    """The answer's JSON (floor.web.http.tap_answer) as plain data: seq, event, and the visit, room, alert or
    presence tapped."""
    return json.loads(encode(tap_answer(command, answer, runtime.clinic)))
