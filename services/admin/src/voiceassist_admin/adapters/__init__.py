"""The admin service's adapters to the outside world, behind small interfaces.

What the admin service talks to: PostgreSQL (schema ``admin``; its Alembic migrations are in
``migrations/``), the auth service, and NATS consumers that feed the analytics. Nothing but the
migrations is here yet.
"""
