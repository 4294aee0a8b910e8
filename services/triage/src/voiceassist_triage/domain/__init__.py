"""The triage service's domain logic: pure Python, no I/O imports.

The triage engine: evidence from what the patient says, the next question to ask, ranked
conditions, and the urgency level with its red flags (issue #3). Nothing is here yet: the issue
that builds the capability adds it.
"""
