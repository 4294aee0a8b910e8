"""The auth service's domain logic: pure Python, no I/O imports.

Identity rules: users and roles, MFA enrolment, guest sessions, the claims an access token
carries, and the tamper-evident audit chain (issue #4). Nothing is here yet: the issue that
builds the capability adds it.
"""
