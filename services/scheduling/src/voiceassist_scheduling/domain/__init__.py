"""The scheduling service's domain logic: pure Python, no I/O imports.

Scheduling rules: practitioners' availability, free slots, booking, cancelling and rescheduling,
matching a patient to a doctor, and reading time expressions such as "next Tuesday morning"
(issue #5). Nothing is here yet: the issue that builds the capability adds it.
"""
