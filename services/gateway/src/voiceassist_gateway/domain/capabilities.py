"""Capabilities that later issues deliver, and the error that says one is not here yet.

The public API is laid out now so clients, docs and tests can be written against it, but a
route whose capability does not exist answers 501 naming what is missing and which issue
brings it, never made-up data.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Capability:
    """A piece of the product that arrives with a later issue."""

    name: str
    issue: int | None

    def describe(self) -> str:
        """One sentence for a person reading an error: what is missing and when it comes."""
        if self.issue is None:
            return f"The {self.name} is not available yet; no issue has been filed for it yet."
        return f"The {self.name} is not available yet; it arrives with issue #{self.issue}."


IDENTITY = Capability("identity and access service (sign-in, sessions, roles)", 4)
AUDIT_TRAIL = Capability("audit trail", 4)
USER_ADMINISTRATION = Capability("user administration", 4)
KNOWLEDGE_BASE = Capability("medical knowledge base", None)


class PendingCapabilityError(Exception):
    """Raised by a route whose capability belongs to a later issue."""

    def __init__(self, capability: Capability) -> None:
        super().__init__(capability.describe())
        self.capability = capability
