"""The scheduling service's adapters to the outside world, behind small interfaces.

PostgreSQL (schema ``scheduling``, Alembic migrations in ``migrations/``): the clinic and its
bookings (repository.py), reminder deliveries (reminder_store.py); JetStream, fed from the
transactional outbox (outbox.py); e-mail and SMS notifiers for reminders (notifiers.py).
"""
