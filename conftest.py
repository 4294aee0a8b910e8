"""Repository-wide pytest setup: real PostgreSQL and NATS fixtures for integration tests."""

pytest_plugins = ["voiceassist_localstack.pytest_plugin"]
