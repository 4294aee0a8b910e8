"""The triage service's adapters to the outside world, behind small interfaces.

``repository``: assessments in PostgreSQL (schema ``triage``; Alembic migrations in
``migrations/``) or in memory; ``events``: ``triage.completed`` on NATS JetStream;
``ddxplus``: patient files in the official DDXPlus format, for the bench scripts.
"""
