"""The admin service's domain logic: pure Python, no I/O imports.

Administration rules and analytics: what an administrator may change about users, and the read
models behind triage, booking and voice latency figures (issue #7). Nothing is here yet: the
issue that builds the capability adds it.
"""
