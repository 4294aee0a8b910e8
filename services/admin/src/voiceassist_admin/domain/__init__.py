"""The admin service's domain logic: pure Python, no I/O imports.

Administration rules and analytics: what an administrator may change about users (users.py),
the audit trail's hash chain (audit.py), and the read models behind the triage, booking and
voice latency figures (analytics.py).
"""
