"""The auth service's adapters to the outside world, behind small interfaces.

What the auth service talks to: PostgreSQL (schema ``auth``; its Alembic migrations are in
``migrations/``), the signing keys of the built-in OIDC provider, and NATS for audit events.
Nothing but the migrations is here yet.
"""
