"""The voice-proxy service's domain logic: pure Python, no I/O imports.

The conversation: the session's state, turn-taking and barge-in, and which service answers each
turn (issue #6). Nothing is here yet: the issue that builds the capability adds it.
"""
