"""The medical-kb service's adapters to the outside world, behind small interfaces.

What the medical knowledge base talks to: PostgreSQL with pgvector (schema ``medical_kb``; its
Alembic migrations are in ``migrations/``), the ``Embedder`` adapters, and document ingestion.
Nothing but the migrations is here yet.
"""
