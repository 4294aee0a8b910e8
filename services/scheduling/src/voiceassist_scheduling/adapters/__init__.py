"""The scheduling service's adapters to the outside world, behind small interfaces.

What the scheduling service talks to: PostgreSQL (schema ``scheduling``; its Alembic migrations
are in ``migrations/``) and NATS for scheduling events. Nothing but the migrations is here yet.
"""
