"""The stt service's domain logic: pure Python, no I/O imports.

Speech-to-text logic that does not depend on an engine: assembling partial and final
transcripts, end-of-speech decisions, language handling (issue #6). Nothing is here yet: the
issue that builds the capability adds it.
"""
