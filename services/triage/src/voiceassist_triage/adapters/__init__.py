"""The triage service's adapters to the outside world, behind small interfaces.

What the triage service talks to: PostgreSQL (schema ``triage``; its Alembic migrations are in
``migrations/``) and NATS for triage events. Nothing but the migrations is here yet.
"""
