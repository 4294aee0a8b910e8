"""Local runtime: embedded PostgreSQL and NATS plus a process supervisor for every service."""
