"""Request ids: one per request, chosen by the caller when it sends a sane one.

A request id ties together the browser's error report, the gateway's log line and the trace
of every service the request touched. Callers (the web app, a proxy in front of us) may send
their own so the id spans their side too, but the value ends up in logs and trace attributes,
so only short ids made of a safe alphabet are accepted; anything else is replaced.
"""

from __future__ import annotations

import re
import uuid

REQUEST_ID_HEADER = "x-request-id"
MAX_REQUEST_ID_LENGTH = 128

_SANE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


def is_sane_request_id(candidate: str) -> bool:
    """Whether ``candidate`` is short and made only of letters, digits and ``._:-``."""
    return _SANE.fullmatch(candidate) is not None


def new_request_id() -> str:
    """Generate a random request id (a UUID4 in its canonical form)."""
    return str(uuid.uuid4())


def choose_request_id(incoming: str | None) -> tuple[str, bool]:
    """Return the request id to use and whether the gateway generated it.

    The caller's id is kept when it is sane; otherwise a new one is generated.
    """
    if incoming is not None and is_sane_request_id(incoming):
        return incoming, False
    return new_request_id(), True
